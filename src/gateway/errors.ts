/**
 * The one mapping from what the client library and fastify throw to HTTP statuses and JSON bodies. Unknown errors
 * become a generic 500: their messages may carry internals.
 */
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { InvalidRequestError, ProvisioningError } from '../client.js';
import { describeIssues, type InvalidField } from '../contract/request.js';
import { Failure } from '../contract/failures.js';

export interface ApiErrorBody {
  error: string;
  message: string;
  fields?: InvalidField[];
}

export interface HttpError {
  status: number;
  body: ApiErrorBody;
}

/** An error a route raises itself, with its status already decided. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly fields?: InvalidField[],
  ) {
    super(message);
  }
}

export function invalidRequest(fields: InvalidField[]): GatewayError {
  const message = `invalid request: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`;
  return new GatewayError(400, Failure.InvalidRequest, message, fields);
}

const STATUS_BY_TYPE: Partial<Record<string, number>> = {
  [Failure.ProvisioningNotFound]: 404,
  [Failure.ProvisioningFinished]: 409,
  [Failure.NotAwaitingConsent]: 409,
  [Failure.LinkRevoked]: 410,
  [Failure.NotReconnectable]: 409,
  [Failure.ProvisioningRemoved]: 409,
};

/** gRPC UNAVAILABLE (14) or DEADLINE_EXCEEDED (4), on the error or its cause: Temporal cannot be reached right now. */
function isTemporalUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | null, depth = 0; e && depth < 4; depth++) {
    if (e.code === 14 || e.code === 4) return true;
    e = e.cause as typeof e;
  }
  return false;
}

export function toHttpError(err: unknown): HttpError {
  if (hasZodFastifySchemaValidationErrors(err)) {
    // A route's zod schema refused its body, query or path: each issue in the words every entry point uses.
    return toHttpError(invalidRequest(describeIssues(err.validation.map((v) => v.params.issue))));
  }
  if (err instanceof GatewayError) {
    return {
      status: err.status,
      body: { error: err.type, message: err.message, ...(err.fields ? { fields: err.fields } : {}) },
    };
  }
  if (err instanceof InvalidRequestError) {
    return { status: 400, body: { error: Failure.InvalidRequest, message: err.message, fields: err.fields } };
  }
  if (err instanceof ProvisioningError) {
    const status = STATUS_BY_TYPE[err.type];
    if (status) return { status, body: { error: err.type, message: err.message } };
    return { status: 500, body: { error: 'InternalError', message: 'the gateway could not complete the request' } };
  }
  const fastifyError = err as { statusCode?: number; code?: string; message?: string } | null;
  if (fastifyError?.code?.startsWith('FST_ERR_CTP_')) {
    // Body problems found by fastify's content-type parsing, before any route ran.
    const status = fastifyError.statusCode ?? 400;
    if (status === 415) {
      return {
        status,
        body: { error: 'UnsupportedMediaType', message: 'send the body as JSON with "Content-Type: application/json"' },
      };
    }
    if (status === 413) return { status, body: { error: 'PayloadTooLarge', message: 'the body is too large' } };
    return {
      status: 400,
      body: {
        error: Failure.InvalidRequest,
        message: 'the body is not valid JSON',
        fields: [{ path: '(request)', message: 'must be valid JSON' }],
      },
    };
  }
  if (isTemporalUnavailable(err)) {
    return {
      status: 503,
      body: { error: 'TemporalUnavailable', message: 'Temporal cannot be reached; try again shortly' },
    };
  }
  return { status: 500, body: { error: 'InternalError', message: 'the gateway could not complete the request' } };
}
