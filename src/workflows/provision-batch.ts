/**
 * provisionBatch: provisions every row of a batch file. Rows that complete at install run in bulk, many to an
 * activity, each recorded under its own workflow id in the batch store; a row that needs a customer's consent runs
 * as a provisionConnector child, which waits durably. The rows stay in the store, so no payload or history grows
 * with the file; the workflow carries counts, a cursor and the children in flight (batch-state.ts).
 *
 * v3 (batch-v3-2026-12): a round of rows runs as parallel slices, each an activity any worker on the task queue may
 * take, so a batch spreads over the workers; v2 ran a round as one activity on one worker.
 *
 * v4 (batch-v4-2026-12): before the next round is taken, every consent row of a round is started (as the window
 * frees) and at most half the window is still on its way to awaiting consent. A child waiting for consent stays
 * pending in the run that started it, and Temporal fails a run's workflow task past 2,000 pending children. v3 queued
 * consent rows behind the rounds and started them all in its last run, which stalled a wave of 5,000 OAuth rows, and
 * its later rounds ran with what the children left of the window, often 1 request. A v4 run starts at most the rows
 * it takes (continueAsNewAfter, at most 1,500) and carries no queue across continue-as-new.
 *
 * v5 (batch-v5-2026-12): a round is cut into about four slices per place in the window's split (at least 25 rows
 * each), and a slice that ends makes room for the next. v3 and v4 ran one slice per place, so the rows a worker ran
 * was the share of a round's slices the matching service happened to hand it, and a round waited for its slowest.
 *
 * Load on Cyclr: the window (`concurrency`) bounds requests in flight across the workers (split among the slices);
 * CYCLR_MAX_REQUESTS_PER_SECOND bounds requests per second across every worker (src/activities/cyclr/request-rate.ts).
 */
import type { BatchProgress, BatchRequest } from '../contract/batch-messages.js';
import { BatchRun } from './batch-run.js';
import { BatchState, DEFAULTS, checkBatchRequest, type CarriedBatchState } from './batch-state.js';
import { provisionBatchV1 } from './legacy/provision-batch-v1.js';
import type { BatchStateV1 } from './legacy/batch-state-v1.js';
import { BATCH_VERSIONS, versionOfRun } from './versions.js';

export async function provisionBatch(
  request: BatchRequest,
  carried?: CarriedBatchState | BatchStateV1,
): Promise<BatchProgress> {
  // A batch keeps the version it began with across continue-as-new (a v1 batch's state has no `version`).
  if (carried && !('version' in carried)) return provisionBatchV1(request, carried);
  const version = versionOfRun(BATCH_VERSIONS, carried?.version);
  if (version === 1) return provisionBatchV1(request);
  const { concurrency, continueAsNewAfter } = checkBatchRequest(request);
  const state = carried ? BatchState.carried(carried) : BatchState.begin(version, request, now());
  const batch = new BatchRun(request, state, concurrency, continueAsNewAfter);
  batch.registerHandlers();

  const reconcileEvery = request.reconcileEvery ?? DEFAULTS.reconcileEvery;
  while (batch.moreRows) {
    if (state.version === 2) await batch.runRows();
    else await batch.runSlices();
    if (state.version >= 4) await batch.waitForChildren(reconcileEvery, Math.floor(concurrency / 2));
    else await batch.startChildren();
    if (batch.shouldContinueAsNew) return batch.continueAsNew();
  }
  await batch.waitForChildren(reconcileEvery, 0);
  return batch.finish();
}

function now(): string {
  return new Date().toISOString();
}
