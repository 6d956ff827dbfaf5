/**
 * provisionBatch: provisions every row of a batch file. Rows that complete at install run in bulk, many to an
 * activity, each recorded under its own workflow id in the batch store; a row that needs a customer's consent runs
 * as a provisionConnector child, which waits durably. The rows stay in the store, so no payload or history grows
 * with the file; the workflow carries counts, a cursor and the children in flight (batch-state.ts).
 *
 * Load on Cyclr: the window (`concurrency`) bounds requests in flight; CYCLR_MAX_REQUESTS_PER_SECOND bounds
 * requests per second across every worker (src/activities/cyclr/request-rate.ts).
 */
import { patched } from '@temporalio/workflow';
import type { BatchProgress, BatchRequest } from '../contract/batch-messages.js';
import { BatchRun } from './batch-run.js';
import { DEFAULTS, checkBatchRequest, type BatchState } from './batch-state.js';
import { provisionBatchV1 } from './legacy/provision-batch-v1.js';

/** Batches begun before rows ran in bulk keep the code they began with (legacy/). */
export const BULK_ROWS_PATCH = 'bulk-rows-2026-12';

export async function provisionBatch(request: BatchRequest, carried?: BatchState): Promise<BatchProgress> {
  if (carried ? carried.version !== 2 : !patched(BULK_ROWS_PATCH)) return provisionBatchV1(request, carried);
  const { concurrency, continueAsNewAfter } = checkBatchRequest(request);
  const batch = new BatchRun(request, carried, concurrency, continueAsNewAfter);
  batch.registerHandlers();

  while (batch.moreRows) {
    await batch.runRows();
    await batch.startChildren();
    if (batch.shouldContinueAsNew) return batch.continueAsNew();
  }
  await batch.waitForChildren(request.reconcileEvery ?? DEFAULTS.reconcileEvery);
  return batch.finish();
}
