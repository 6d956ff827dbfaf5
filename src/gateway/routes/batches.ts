/**
 * Batches over HTTP: the same validate → store → start (or re-attach) as `provisioner batch`, through
 * src/batch/client.ts. A body is JSON `{ rows, batchId?, concurrency? }`, or a CSV / JSONL file as it would be
 * given to the CLI. Rows carry secrets (authValue): nothing here echoes a row's values.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  BatchError,
  batchProgress,
  cancelBatch,
  submitParsedBatch,
  type SubmittedBatch,
} from '../../batch/batch-client.js';
import { BatchFileError, parseBatchText, type ParsedBatchFile } from '../../batch/parse-file.js';
import { BatchConflictError, checkBatchId } from '../../batch/store.js';
import type { BatchFailure } from '../../contract/batch-messages.js';
import { MAX_CONCURRENCY } from '../../contract/batch-messages.js';
import type { InvalidField } from '../../contract/request.js';
import type { GatewayDeps, GatewayRoutes } from '../deps.js';
import { GatewayError, invalidRequest, toHttpError } from '../errors.js';
import { errorResponse, cancelOperation } from '../openapi.js';

/** A batch file travels in one request; bigger ones go through the CLI, which reads from disk (or are split). */
export const MAX_BATCH_BODY_BYTES = 50 * 1024 * 1024;
/** Rejected rows listed in a response; `rejectedCount` has them all, and the batch's failures record keeps them. */
const MAX_REJECTED_SHOWN = 1000;

const FILE_TYPES = {
  'text/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
} as const;

/** A raw CSV or JSONL body, as its content-type parser hands it over. */
class RawBatchFile {
  constructor(
    readonly format: 'csv' | 'jsonl',
    readonly text: string,
  ) {}
}

interface BatchInput {
  format: 'csv' | 'jsonl';
  text: string;
  batchId?: string;
  concurrency?: number;
}

function positiveConcurrency(value: unknown, path: string, fields: InvalidField[]): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) {
    fields.push({ path, message: `must be a whole number from 1 to ${MAX_CONCURRENCY}` });
    return undefined;
  }
  return n;
}

function validBatchId(value: unknown, path: string, fields: InvalidField[]): string | undefined {
  if (value === undefined) return undefined;
  try {
    if (typeof value !== 'string') throw new Error('must be a string');
    return checkBatchId(value);
  } catch {
    fields.push({
      path,
      message:
        'use 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit (or omit it: the id then comes from the content)',
    });
    return undefined;
  }
}

/** The body as batch text: JSON rows become JSONL, one row a line, so row N is "line N" like in a file. */
function batchInput(request: FastifyRequest<{ Querystring: Record<string, unknown> }>): BatchInput {
  const body = request.body;
  const fields: InvalidField[] = [];
  if (body instanceof RawBatchFile) {
    // A raw file has no envelope: the options come from the query string.
    const { batchId, concurrency, ...rest } = request.query ?? {};
    for (const key of Object.keys(rest)) {
      fields.push({ path: `?${key}`, message: `unknown parameter; the parameters are batchId and concurrency` });
    }
    const input = {
      format: body.format,
      text: body.text,
      batchId: validBatchId(batchId, '?batchId', fields),
      concurrency: positiveConcurrency(concurrency, '?concurrency', fields),
    };
    if (fields.length) throw invalidRequest(fields);
    return input;
  }
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest([
      {
        path: '(request)',
        message:
          'send JSON {"rows": [request, ...], "batchId"?, "concurrency"?}, or a file with Content-Type text/csv or application/x-ndjson',
      },
    ]);
  }
  const { rows, batchId, concurrency, ...rest } = body as Record<string, unknown>;
  for (const key of Object.keys(rest)) {
    fields.push({ path: key, message: `unknown field "${key}"; the fields are rows, batchId and concurrency` });
  }
  if (!Array.isArray(rows) || rows.length === 0) {
    fields.push({ path: 'rows', message: 'is required: a non-empty array of provisioning requests' });
  }
  const input = {
    format: 'jsonl' as const,
    text: Array.isArray(rows) ? rows.map((row) => JSON.stringify(row)).join('\n') : '',
    batchId: validBatchId(batchId, 'batchId', fields),
    concurrency: positiveConcurrency(concurrency, 'concurrency', fields),
  };
  if (fields.length) throw invalidRequest(fields);
  return input;
}

function lineFields(rejected: readonly BatchFailure[]): InvalidField[] {
  return rejected.map((r) => ({ path: r.line !== undefined ? `line ${r.line}` : '(row)', message: r.message }));
}

function parse(input: BatchInput): ParsedBatchFile {
  let parsed: ParsedBatchFile;
  try {
    parsed = parseBatchText(input.text, input.format);
  } catch (err) {
    if (err instanceof BatchFileError) {
      throw new GatewayError(400, 'InvalidBatch', err.message, [{ path: '(file)', message: err.message }]);
    }
    throw err;
  }
  if (parsed.rows.length === 0) {
    // Nothing would run: refuse the whole batch rather than store and start an empty one.
    const shown = parsed.rejected.slice(0, 20);
    const more = parsed.rejected.length - shown.length;
    throw new GatewayError(
      400,
      'InvalidBatch',
      `no valid rows: ${shown.map((r) => `line ${r.line}: ${r.message}`).join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
      lineFields(parsed.rejected.slice(0, MAX_REJECTED_SHOWN)),
    );
  }
  return parsed;
}

/** The CLI's own store-and-start, given the rows this route has already parsed. */
async function submit(deps: GatewayDeps, parsed: ParsedBatchFile, input: BatchInput): Promise<SubmittedBatch> {
  try {
    return await submitParsedBatch(deps.client.temporal, deps.client.taskQueue, deps.batchStore, parsed, {
      batchId: input.batchId,
      concurrency: input.concurrency,
      source: `POST /batches (${input.format})`,
    });
  } catch (err) {
    if (err instanceof BatchConflictError) throw new GatewayError(409, 'BatchConflict', err.message);
    throw err;
  }
}

function batchIdParam(raw: string): string {
  const id = raw.replace(/^batch:/, '');
  const fields: InvalidField[] = [];
  if (validBatchId(id, 'id', fields) === undefined) {
    throw new GatewayError(404, 'BatchNotFound', `no batch "${raw}"; batch ids are as POST /batches returned them`);
  }
  return id;
}

function fromBatchError(err: unknown): never {
  if (err instanceof BatchError) {
    throw new GatewayError(err.type === 'BatchNotFound' ? 404 : 409, err.type, err.message);
  }
  throw err;
}

function parseCancelReason(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const { reason, ...rest } = (
    typeof body === 'object' && !Array.isArray(body) ? body : { '(request)': body }
  ) as Record<string, unknown>;
  const fields: InvalidField[] = Object.keys(rest).map((key) => ({
    path: key,
    message: 'unknown field; send {"reason": "..."} or no body',
  }));
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) {
    fields.push({ path: 'reason', message: 'must be a string of at most 500 characters' });
  }
  if (fields.length) throw invalidRequest(fields);
  return reason as string | undefined;
}

/** Body problems on this route say what this route accepts; everything else goes through the one mapping. */
function batchErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.code(413).send({
      error: 'PayloadTooLarge',
      message: `the body is over ${MAX_BATCH_BODY_BYTES / 1048576} MB: split the file into several batches, or submit it with "provisioner batch FILE"`,
    });
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return reply.code(415).send({
      error: 'UnsupportedMediaType',
      message: 'send JSON (application/json), CSV (text/csv) or JSONL (application/x-ndjson)',
    });
  }
  const { status, body } = toHttpError(err);
  if (status >= 500) request.log.error({ err }, 'request failed');
  return reply.code(status).send(body);
}

function registerBatchRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  // In their own scope, so only these routes take CSV/JSONL bodies and the larger limit.
  void app.register(async (scope) => {
    for (const [type, format] of Object.entries(FILE_TYPES)) {
      scope.addContentTypeParser(type, { parseAs: 'string' }, (_request, text, done) =>
        done(null, new RawBatchFile(format, text.toString())),
      );
    }
    // Plain text could be either format: ask for the one that says which.
    scope.removeContentTypeParser('text/plain');
    scope.setErrorHandler(batchErrorHandler);

    scope.post<{ Querystring: Record<string, unknown> }>(
      '/batches',
      { bodyLimit: MAX_BATCH_BODY_BYTES },
      async (request, reply) => {
        const input = batchInput(request);
        const parsed = parse(input);
        const submitted = await submit(deps, parsed, input);
        // "Already existed": attached to a running batch, or its rows were stored by an earlier request (a re-run of
        // a finished batch starts it again, and its finished children are not repeated).
        const existed = !submitted.started || !submitted.created;
        const rejected = parsed.rejected;
        return reply
          .header('Location', `/batches/${encodeURIComponent(submitted.batchId)}`)
          .code(existed ? 200 : 202)
          .send({
            batchId: submitted.batchId,
            workflowId: submitted.workflowId,
            created: !existed,
            total: parsed.total,
            accepted: parsed.rows.length,
            rejectedCount: rejected.length,
            rejected: rejected.slice(0, MAX_REJECTED_SHOWN).map((r) => ({ line: r.line, message: r.message })),
          });
      },
    );

    scope.get<{ Params: { id: string } }>('/batches/:id', async (request) => {
      const batchId = batchIdParam(request.params.id);
      const { progress, status } = await batchProgress(deps.client.temporal, batchId).catch(fromBatchError);
      return { ...progress, batchId, workflowStatus: status };
    });

    scope.post<{ Params: { id: string } }>('/batches/:id/cancel', async (request, reply) => {
      const batchId = batchIdParam(request.params.id);
      const reason = parseCancelReason(request.body);
      try {
        await cancelBatch(deps.client.temporal, batchId, reason);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // Not running: unknown (404), or finished (409).
        await batchProgress(deps.client.temporal, batchId).catch(fromBatchError);
        throw new GatewayError(409, 'BatchFinished', `batch "${batchId}" has already finished; nothing to cancel`);
      }
      return reply.code(202).send({ batchId, cancelling: true });
    });
  });
}

const batchIdPathParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The batch id as POST /batches returned it (a "batch:" prefix is accepted).',
  schema: { type: 'string' },
};

const rowsSchema = {
  type: 'object',
  required: ['rows'],
  additionalProperties: false,
  properties: {
    rows: {
      type: 'array',
      minItems: 1,
      items: { $ref: '#/components/schemas/ProvisioningRequest' },
      description: 'Row N is reported as "line N".',
    },
    batchId: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$',
      description: 'Default: derived from the rows, so the same rows are the same batch.',
    },
    concurrency: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_CONCURRENCY,
      description: 'Children at once (default 50).',
    },
  },
};

const progressSchema = {
  type: 'object',
  required: ['total', 'started', 'completed', 'failed', 'awaitingConsent', 'cancelled', 'failures'],
  properties: {
    batchId: { type: 'string' },
    total: { type: 'integer', description: 'Rows, bad ones included.' },
    started: { type: 'integer' },
    completed: { type: 'integer' },
    failed: { type: 'integer', description: 'Bad rows and failed or expired provisionings.' },
    awaitingConsent: { type: 'integer' },
    cancelled: { type: 'integer' },
    inFlight: { type: 'integer' },
    notStarted: { type: 'integer' },
    state: { type: 'string', enum: ['running', 'cancelling', 'completed', 'cancelled'] },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    workflowStatus: { type: 'string', description: "Temporal's view: RUNNING, COMPLETED, ..." },
    failures: {
      type: 'array',
      description: 'The first failures (bounded).',
      items: {
        type: 'object',
        required: ['type', 'message'],
        properties: {
          workflowId: { type: 'string' },
          line: { type: 'integer' },
          type: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
};

const submittedSchema = {
  type: 'object',
  required: ['batchId', 'workflowId', 'accepted', 'rejected'],
  properties: {
    batchId: { type: 'string' },
    workflowId: { type: 'string', description: 'batch:{batchId}' },
    created: { type: 'boolean' },
    total: { type: 'integer', description: 'Rows in the body, bad ones included.' },
    accepted: { type: 'integer', description: 'Valid rows, which the batch provisions.' },
    rejectedCount: { type: 'integer' },
    rejected: {
      type: 'array',
      description: `Rows refused (bad or duplicate), with their line; at most ${MAX_REJECTED_SHOWN} listed.`,
      items: {
        type: 'object',
        required: ['line', 'message'],
        properties: { line: { type: 'integer' }, message: { type: 'string' } },
      },
    },
  },
};

const submitted = (description: string) => ({
  description,
  content: { 'application/json': { schema: submittedSchema } },
});

export const batchRoutes: GatewayRoutes = {
  register: registerBatchRoutes,
  paths: {
    '/batches': {
      post: {
        operationId: 'submitBatch',
        summary:
          'Validate, store and start a batch (or re-attach to it); each valid row becomes a provisioning, bad rows are reported with their line',
        description:
          `The body is at most ${MAX_BATCH_BODY_BYTES / 1048576} MB (413 beyond): split bigger files, or use "provisioner batch FILE". ` +
          'With a CSV or JSONL body, batchId and concurrency are query parameters.',
        parameters: [
          { name: 'batchId', in: 'query', required: false, schema: rowsSchema.properties.batchId },
          { name: 'concurrency', in: 'query', required: false, schema: rowsSchema.properties.concurrency },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: rowsSchema },
            'text/csv': {
              schema: { type: 'string', description: 'A header row (accountId, connectorId, ...), as for the CLI.' },
            },
            'application/x-ndjson': { schema: { type: 'string', description: 'One provisioning request per line.' } },
          },
        },
        responses: {
          '202': submitted('Started; Location names the batch'),
          '200': submitted('The batch already existed (same rows): attached to it, nothing is provisioned twice'),
          '400': errorResponse('Invalid body, or no valid rows; `fields` names each bad line and why'),
          '409': errorResponse('The batchId is taken by a batch with different rows'),
          '413': errorResponse(`The body is over ${MAX_BATCH_BODY_BYTES / 1048576} MB`),
          '415': errorResponse('Not JSON, CSV or JSONL'),
        },
      },
    },
    '/batches/{id}': {
      get: {
        operationId: 'getBatch',
        summary: 'Progress of a running or finished batch',
        parameters: [batchIdPathParam],
        responses: {
          '200': { description: 'Its progress', content: { 'application/json': { schema: progressSchema } } },
          '404': errorResponse('No such batch'),
          '409': errorResponse('The batch ended abnormally (terminated, timed out)'),
        },
      },
    },
    '/batches/{id}/cancel': {
      post: cancelOperation({
        operationId: 'cancelBatch',
        summary: 'Stop starting new provisionings; those already started keep going',
        idParam: batchIdPathParam,
        idField: 'batchId',
        noun: 'batch',
      }),
    },
  },
};
