/** The batch pages: the list of batches, a batch's page, the counts its chart samples, and its failures file. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { batchFailures, batchProgress, BatchError, failuresJsonl } from '../../batch/batch-client.js';
import { checkBatchId } from '../../batch/store.js';
import type { ProvisioningClient } from '../../client.js';
import type { ListedPage } from '../../operations/filters.js';
import type { ConsoleContext } from './context.js';
import { one, type Body } from './form.js';
import { PAGE_SIZE, pagedList, StalePage } from './paging.js';
import { guard, message, page } from './replies.js';
import { batchesPage, batchPage } from './views/batches.js';
import { Failure } from '../../contract/failures.js';

/** The batch named by the path, or a reply already sent for a bad or unknown id. */
async function batchOf(client: ProvisioningClient, request: FastifyRequest, reply: FastifyReply) {
  const { id } = request.params as { id: string };
  try {
    checkBatchId(id);
    return { batchId: id, snapshot: await batchProgress(client.temporal, id) };
  } catch (err) {
    if (err instanceof BatchError && err.type !== Failure.BatchNotFound) throw err;
    void message(request, reply, 404, 'No such batch', `There is no batch "${id}". Find it in the list of batches.`);
    return undefined;
  }
}

/** The same, with all the batch's failures (the store's and those only the workflow still holds). */
async function batchWithFailures(
  { client, batchStore }: ConsoleContext['deps'],
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const found = await batchOf(client, request, reply);
  return found && { ...found, failures: await batchFailures(batchStore, found.batchId, found.snapshot.progress) };
}

export function registerBatchRoutes(app: FastifyInstance, { deps, keys }: ConsoleContext): void {
  const { client } = deps;
  app.get('/batches', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const pageToken = one((request.query as Body).page);
    let listed: ListedPage;
    try {
      listed = await pagedList(
        client.temporal,
        keys.paging,
        `WorkflowType = 'provisionBatch'`,
        PAGE_SIZE,
        pageToken,
        'batches',
      );
    } catch (err) {
      if (!(err instanceof StalePage)) throw err;
      return message(
        request,
        reply,
        400,
        'Stale page link',
        'That page link is no longer valid; start again from the first page.',
      );
    }
    const rows = listed.rows.map((r) => ({
      batchId: r.batchId ?? r.workflowId.replace(/^batch:/, ''),
      status: r.status,
      startTime: r.startTime,
      closeTime: r.closeTime,
    }));
    return page(request, reply, 200, (ctx) => batchesPage(ctx, rows, Date.now(), pageToken, listed.nextPage));
  });

  app.get('/batches/:id', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const found = await batchWithFailures(deps, request, reply);
    if (!found) return reply;
    return page(request, reply, 200, (ctx) => batchPage(ctx, found.batchId, found.snapshot, found.failures));
  });

  /** Read by the batch page every 2 seconds while the batch runs: counts and the recorded timeline, no failures' text. */
  app.get('/batches/:id/progress.json', async (request, reply) => {
    if (!request.consoleSession) return reply.code(401).send({ error: 'SignedOut', message: 'sign in again' });
    const found = await batchOf(client, request, reply);
    if (!found) return reply;
    const { failures: _failures, ...counts } = found.snapshot.progress;
    return { status: found.snapshot.status, at: new Date().toISOString(), ...counts };
  });

  /** The same lines as the CLI's `<batchId>.failures.jsonl`. */
  app.get('/batches/:id/failures.jsonl', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const found = await batchWithFailures(deps, request, reply);
    if (!found) return reply;
    const text = failuresJsonl(found.failures);
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${found.batchId}.failures.jsonl"`)
      .send(text);
  });
}
