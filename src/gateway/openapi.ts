/**
 * The OpenAPI 3.1 document served at /openapi.json, assembled from each route file's `paths`. The request schema is
 * derived from the zod schema the gateway validates with, so the two cannot drift apart.
 */
import { provisioningRequestSchema } from '../contract/request.js';
import { STAGES } from '../contract/stages.js';
import { isPublicPath, requiredScope } from './auth.js';
import { zodToJsonSchema, type JsonSchema } from './json-schema.js';

export type OpenApiPaths = Record<string, Record<string, unknown>>;

/** What the zod refinements check, which JSON Schema cannot say by itself. */
const REQUEST_NOTES: Record<string, string> = {
  accountId: 'The Cyclr account API ID, sent as X-Cyclr-Account.',
  connector:
    'Either { "id": 123 } or { "name": "Salesforce", "version": "v3" } (version optional); not both id and name.',
  installName:
    "The account connector Name (default: the connector's Name); makes the install idempotent within the account.",
  authValue: 'A secret (API key, or base64 user:pass); never shown back.',
  oauth: "Required when the connector needs a user's consent. returnUrl is where the browser lands when done.",
  notifyUrl: 'Where lifecycle events are POSTed, signed like Standard Webhooks.',
  timeouts: 'Temporal duration strings such as "14d", "2h", "10m", "30s" (each at least 1s).',
};

function requestSchema(): JsonSchema {
  const schema = zodToJsonSchema(provisioningRequestSchema);
  const properties = schema.properties as Record<string, JsonSchema>;
  for (const [key, description] of Object.entries(REQUEST_NOTES)) {
    if (properties[key]) properties[key] = { ...properties[key], description };
  }
  return schema;
}

const stage = { type: 'string', enum: [...STAGES] };

export const components = {
  securitySchemes: {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      description:
        'A token from GATEWAY_API_TOKENS (everything) or GATEWAY_READ_TOKENS (GET and HEAD only; status without the consent link). Never in the URL.',
    },
  },
  schemas: {
    ProvisioningRequest: requestSchema(),
    ProvisioningStatus: {
      type: 'object',
      required: ['stage', 'accountId', 'connector', 'attempts', 'history'],
      properties: {
        stage,
        accountId: { type: 'string' },
        connector: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } },
        accountConnectorId: { type: 'integer' },
        consentLink: { type: 'string', format: 'uri', description: 'Our long-lived signed consent link.' },
        consentExpiresAt: { type: 'string', format: 'date-time' },
        returnUrl: { type: 'string', format: 'uri' },
        attempts: { type: 'integer', description: 'Checks of Authenticated with Cyclr while awaiting consent.' },
        history: {
          type: 'array',
          items: {
            type: 'object',
            required: ['stage', 'at'],
            properties: { stage, at: { type: 'string', format: 'date-time' }, note: { type: 'string' } },
          },
        },
        lastError: { $ref: '#/components/schemas/Failure' },
        batchId: { type: 'string' },
      },
    },
    Provisioning: {
      type: 'object',
      required: ['workflowId', 'status'],
      properties: { workflowId: { type: 'string' }, status: { $ref: '#/components/schemas/ProvisioningStatus' } },
    },
    ConsentLink: {
      type: 'object',
      required: ['workflowId', 'url', 'expiresAt'],
      properties: {
        workflowId: { type: 'string' },
        url: { type: 'string', format: 'uri' },
        expiresAt: { type: 'string', format: 'date-time' },
      },
    },
    Failure: {
      type: 'object',
      required: ['type', 'message'],
      properties: { type: { type: 'string' }, message: { type: 'string' } },
    },
    Error: {
      type: 'object',
      required: ['error', 'message'],
      properties: {
        error: {
          type: 'string',
          description: 'InvalidRequest, ProvisioningNotFound, ProvisioningFinished, NotAwaitingConsent, ...',
        },
        message: { type: 'string' },
        fields: {
          type: 'array',
          items: {
            type: 'object',
            required: ['path', 'message'],
            properties: { path: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
};

/** Helpers for route files. */
export const json = (ref: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
export const errorResponse = (description: string) => json('Error', description);
export const htmlPage = (description: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});
export const workflowIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The workflow id, e.g. provision:{accountId}:{installName}, URL-encoded.',
  schema: { type: 'string' },
};

/** `POST .../cancel` for provisionings and batches: same body, same answers, a different id field. */
export function cancelOperation(input: {
  operationId: string;
  summary: string;
  idParam: unknown;
  idField: 'workflowId' | 'batchId';
  noun: string;
}): Record<string, unknown> {
  return {
    operationId: input.operationId,
    summary: input.summary,
    parameters: [input.idParam],
    requestBody: {
      required: false,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: { reason: { type: 'string', maxLength: 500 } },
            additionalProperties: false,
          },
        },
      },
    },
    responses: {
      '202': {
        description: 'Cancellation requested',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: [input.idField, 'cancelling'],
              properties: { [input.idField]: { type: 'string' }, cancelling: { const: true } },
            },
          },
        },
      },
      '400': errorResponse('Invalid body'),
      '404': errorResponse(`No such ${input.noun}`),
      '409': errorResponse('Already finished'),
    },
  };
}

const HTTP_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];

/** Each operation says whether it needs a token (public ones `security: []`) and what a refusal looks like. */
function withSecurity(path: string, method: string, operation: Record<string, unknown>): Record<string, unknown> {
  if (isPublicPath(path)) return { ...operation, security: [] };
  const write = requiredScope(method.toUpperCase()) === 'write';
  const responses = (operation.responses ?? {}) as Record<string, unknown>;
  return {
    ...operation,
    security: [{ bearerAuth: [] }],
    responses: {
      ...responses,
      '401': errorResponse('No bearer token, another scheme, or a token this gateway does not accept'),
      ...(write ? { '403': errorResponse('A read token (GATEWAY_READ_TOKENS): this needs GATEWAY_API_TOKENS') } : {}),
      '429': errorResponse('Too many failed token checks from this address; see Retry-After'),
    },
  };
}

export function buildOpenApiDocument(pathsList: OpenApiPaths[], serverUrl?: string): Record<string, unknown> {
  const paths: OpenApiPaths = {};
  for (const p of pathsList) {
    for (const [path, item] of Object.entries(p)) paths[path] = { ...paths[path], ...item };
  }
  for (const [path, item] of Object.entries(paths)) {
    paths[path] = Object.fromEntries(
      Object.entries(item).map(([method, op]) =>
        HTTP_METHODS.includes(method)
          ? [method, withSecurity(path, method, op as Record<string, unknown>)]
          : [method, op],
      ),
    );
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cyclr provisioning gateway',
      version: '0.1.0',
      description: 'Start and steer durable Cyclr connector provisionings; consent links and the OAuth callback.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearerAuth: [] }],
    paths,
    components,
  };
}
