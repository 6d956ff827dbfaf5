/** The schemas of the batch routes: what fastify checks, and what /openapi.json says of them. */
import { z } from 'zod';
import { batchBodySchema, batchFileQuerySchema } from '../../contract/batch-messages.js';
import { cancelBodySchema, cancelResponses, errorResponse, json } from '../schemas.js';
import { MAX_BATCH_BODY_BYTES, MAX_REJECTED_SHOWN } from './batch-input.js';

const MB = MAX_BATCH_BODY_BYTES / 1048576;

export const batchIdParams = z.object({
  id: z.string().describe('The batch id as POST /batches returned it (a "batch:" prefix is accepted).'),
});

const progressSchema = z.object({
  batchId: z.string().optional(),
  total: z.number().int().describe('Rows, bad ones included.'),
  started: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int().describe('Bad rows and failed or expired provisionings.'),
  awaitingConsent: z.number().int(),
  cancelled: z.number().int(),
  inFlight: z.number().int().optional(),
  notStarted: z.number().int().optional(),
  state: z.enum(['running', 'cancelling', 'completed', 'cancelled', 'failed']).optional(),
  startedAt: z.string().datetime().optional(),
  finishedAt: z.string().datetime().optional(),
  workflowStatus: z.string().optional().describe("Temporal's view: RUNNING, COMPLETED, ..."),
  failures: z
    .array(
      z.object({
        workflowId: z.string().optional(),
        line: z.number().int().optional(),
        type: z.string(),
        message: z.string(),
      }),
    )
    .describe('The first failures (bounded).'),
  problem: z
    .object({
      type: z.string().describe('BatchStoreUnavailable, BatchPageUnreadable, ...'),
      message: z.string(),
      retrying: z.boolean().describe('true: held, retrying; false: the batch ended on it'),
      attempt: z.number().int().optional(),
      nextAttemptAt: z.string().datetime().optional(),
    })
    .optional()
    .describe('Why the batch is held or ended, when it is; absent while nothing is wrong.'),
  timeline: z
    .array(
      z.object({
        at: z.string().datetime(),
        completed: z.number().int(),
        failed: z.number().int(),
        awaitingConsent: z.number().int(),
      }),
    )
    .optional()
    .describe('The counts over the run, as the batch recorded them (at most every 2 s, at most 240 points).'),
});

const submittedSchema = z.object({
  batchId: z.string(),
  workflowId: z.string().describe('batch:{batchId}'),
  created: z.boolean().optional(),
  total: z.number().int().optional().describe('Rows in the body, bad ones included.'),
  accepted: z.number().int().describe('Valid rows, which the batch provisions.'),
  rejectedCount: z.number().int().optional(),
  rejected: z
    .array(z.object({ line: z.number().int(), message: z.string() }))
    .describe(`Rows refused (bad or duplicate), with their line; at most ${MAX_REJECTED_SHOWN} listed.`),
});

export const SUBMIT = {
  operationId: 'submitBatch',
  summary:
    'Validate, store and start a batch (or re-attach to it); each valid row becomes a provisioning, bad rows are reported with their line',
  description:
    `The body is at most ${MB} MB (413 beyond): split bigger files, or use "provisioner batch FILE". ` +
    'With a CSV or JSONL body, batchId and concurrency are query parameters.',
  querystring: batchFileQuerySchema,
  body: {
    content: {
      'application/json': { schema: batchBodySchema },
      'text/csv': { schema: z.string().describe('A header row (accountId, connectorId, ...), as for the CLI.') },
      'application/x-ndjson': { schema: z.string().describe('One provisioning request per line.') },
      'application/jsonl': { schema: z.string().describe('One provisioning request per line.') },
    },
  },
  response: {
    202: json(submittedSchema, 'Started; Location names the batch'),
    200: json(submittedSchema, 'The batch already existed (same rows): attached to it, nothing is provisioned twice'),
    400: errorResponse('Invalid body, or no valid rows; `fields` names each bad line and why'),
    409: errorResponse('The batchId is taken by a batch with different rows'),
    413: errorResponse(`The body is over ${MB} MB`),
    415: errorResponse('Not JSON, CSV or JSONL'),
  },
};

export const GET = {
  operationId: 'getBatch',
  summary: 'Progress of a running or finished batch',
  params: batchIdParams,
  response: {
    200: json(progressSchema, 'Its progress'),
    404: errorResponse('No such batch'),
    409: errorResponse('The batch ended abnormally (terminated, timed out)'),
  },
};

export const CANCEL = {
  operationId: 'cancelBatch',
  summary: 'Stop starting new provisionings; those already started keep going',
  params: batchIdParams,
  body: cancelBodySchema,
  response: cancelResponses('batchId', 'batch'),
};
