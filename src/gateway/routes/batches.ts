/**
 * Batches over HTTP: the same validate → store → start (or re-attach) as `provisioner batch`, through
 * src/batch/batch-client.ts. What a body may be is in ./batch-input.ts; the schemas in ./batch-schemas.ts.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  BatchError,
  batchProgress,
  cancelBatch,
  submitParsedBatch,
  type SubmittedBatch,
} from '../../batch/batch-client.js';
import type { ParsedBatchFile } from '../../batch/parse-file.js';
import { BatchConflictError } from '../../batch/store.js';
import { batchIdSchema } from '../../contract/batch-messages.js';
import type { GatewayDeps, GatewayRoutes } from '../deps.js';
import { GatewayError, toHttpError } from '../errors.js';
import {
  acceptBatchFiles,
  batchInput,
  MAX_BATCH_BODY_BYTES,
  MAX_REJECTED_SHOWN,
  parseBatch,
  type BatchInput,
} from './batch-input.js';
import { CANCEL, GET, SUBMIT } from './batch-schemas.js';
import { Failure } from '../../contract/failures.js';

/** The CLI's own store-and-start, given the rows this route has already parsed. */
async function submit(
  deps: GatewayDeps,
  parsed: ParsedBatchFile,
  input: BatchInput,
  actor: string | undefined,
): Promise<SubmittedBatch> {
  const { temporal, taskQueue } = deps.client.actingAs(actor);
  try {
    return await submitParsedBatch(temporal, taskQueue, deps.batchStore, parsed, {
      batchId: input.batchId,
      concurrency: input.concurrency,
      source: `POST /batches (${input.format})`,
    });
  } catch (err) {
    if (err instanceof BatchConflictError) throw new GatewayError(409, Failure.BatchConflict, err.message);
    throw err;
  }
}

/** An id that cannot be a batch's is no batch: 404, as for one that does not exist. */
function batchIdParam(raw: string): string {
  const id = raw.replace(/^batch:/, '');
  if (!batchIdSchema.safeParse(id).success) {
    throw new GatewayError(
      404,
      Failure.BatchNotFound,
      `no batch "${raw}"; batch ids are as POST /batches returned them`,
    );
  }
  return id;
}

function fromBatchError(err: unknown): never {
  if (err instanceof BatchError) {
    throw new GatewayError(err.type === Failure.BatchNotFound ? 404 : 409, err.type, err.message);
  }
  throw err;
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

export const batchRoutes: GatewayRoutes = {
  register(app, deps) {
    // In their own scope, so only these routes take CSV/JSONL bodies and the larger limit.
    void app.register(async (plain) => {
      acceptBatchFiles(plain);
      plain.setErrorHandler(batchErrorHandler);
      const scope = plain.withTypeProvider<ZodTypeProvider>();

      scope.post('/batches', { schema: SUBMIT, bodyLimit: MAX_BATCH_BODY_BYTES }, async (request, reply) => {
        const input = batchInput(request);
        const parsed = parseBatch(input);
        const submitted = await submit(deps, parsed, input, request.gatewayActor);
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
      });

      scope.get('/batches/:id', { schema: GET }, async (request) => {
        const batchId = batchIdParam(request.params.id);
        const { progress, status } = await batchProgress(deps.client.temporal, batchId).catch(fromBatchError);
        return { ...progress, batchId, workflowStatus: status };
      });

      scope.post('/batches/:id/cancel', { schema: CANCEL }, async (request, reply) => {
        const batchId = batchIdParam(request.params.id);
        // Not running: unknown (404), or finished (409).
        const { temporal } = deps.client.actingAs(request.gatewayActor);
        await cancelBatch(temporal, batchId, request.body?.reason).catch(fromBatchError);
        return reply.code(202).send({ batchId, cancelling: true });
      });
    });
  },
};
