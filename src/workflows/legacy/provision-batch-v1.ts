/**
 * FROZEN: provisionBatch v1, as it ran before rows ran in bulk. Batches started before the `bulk-rows-2026-12` patch
 * (and their continued runs, whose state has no `version`) replay this code; ../provision-batch.ts runs every new
 * batch. It imports only the contract and its own frozen helpers in this folder (ESLint refuses anything else). Do
 * not edit; remove once no such batch is running (docs/workflow-versions.md).
 *
 * Provisions every row of a batch as a provisionConnector child, through a sliding window.
 *
 * - Rows stay in the batch store; the workflow reads a page at a time (activity) as the window needs them, so no
 *   payload and no history grows with the batch. It carries counts, a cursor and the in-flight set.
 * - Children get deterministic ids (provisioningWorkflowId) and survive continue-as-new (ABANDON). A child that
 *   already exists counts as started and is checked, never started twice; a re-run of a finished batch restarts
 *   only the children that failed (ALLOW_DUPLICATE_FAILED_ONLY).
 * - A slot frees when a child reaches awaiting-consent or ends (it signals the batch by workflow id, which reaches
 *   the current run after continue-as-new). When no news comes for `reconcileEvery`, the batch asks Temporal
 *   about its in-flight children, so a child that can never signal (started outside the batch) is not waited on.
 * - The window (concurrency) bounds requests in flight against Cyclr; CYCLR_MAX_REQUESTS_PER_SECOND bounds requests
 *   per second across every worker (each worker's share: src/activities/cyclr/rate-lease.ts).
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  batchCancelSignal,
  batchItemSignal,
  progressQuery,
  type BatchProgress,
  type BatchRequest,
  type BatchRow,
} from '../../contract/batch-messages.js';
import { Failure, failureOf } from '../../contract/failures.js';
import { provisioningWorkflowId } from '../../contract/ids.js';
import { BatchId, ConnectorName, CyclrAccountId, ProvisioningStage } from '../../contract/search-attributes.js';
import { cyclr, store } from './activities-v1.js';
import {
  DEFAULTS,
  connectorKey,
  checkBatchRequest,
  initialState,
  outcomeOf,
  progressOf,
  recordFailure,
  settle,
  type BatchStateV1,
} from './batch-state-v1.js';

/** Append failures to the store in chunks rather than one activity each. */
const RECORD_FAILURES_EVERY = 50;

export async function provisionBatchV1(request: BatchRequest, carried?: BatchStateV1): Promise<BatchProgress> {
  const { concurrency: window, continueAsNewAfter } = checkBatchRequest(request);
  const reconcileEvery = request.reconcileEvery ?? DEFAULTS.reconcileEvery;
  const s: BatchStateV1 = carried ?? initialState(request, new Date().toISOString());
  let news = 0;
  let page: { index: number; rows: BatchRow[] } | undefined;
  let startedThisRun = 0;

  const inFlightCount = () => Object.keys(s.inFlight).length;
  const stateName = () => (s.cancelReason ? 'cancelling' : 'running');
  setHandler(progressQuery, () => progressOf(request, s, stateName()));
  setHandler(batchItemSignal, (update) => {
    const outcome = outcomeOf(update.stage, update.error);
    if (outcome && settle(s, update.workflowId, outcome, false, window)) news += 1;
  });
  setHandler(batchCancelSignal, (payload) => {
    s.cancelReason ??= payload?.reason ?? 'cancelled by request';
    news += 1;
  });

  const moreToStart = () => !s.cancelReason && s.cursor < request.rows;

  async function recordFailures(): Promise<void> {
    while (s.unrecorded.length) {
      const chunk = s.unrecorded.slice(0, 500);
      await store.recordBatchFailures({ batchId: request.batchId, failures: chunk });
      s.unrecorded.splice(0, chunk.length);
    }
  }

  async function nextRows(room: number): Promise<BatchRow[]> {
    const index = Math.floor(s.cursor / request.pageSize);
    if (page?.index !== index)
      page = { index, rows: await store.readBatchPage({ batchId: request.batchId, page: index }) };
    const offset = s.cursor - index * request.pageSize;
    const rows = page.rows.slice(offset, offset + room);
    if (!rows.length) {
      throw ApplicationFailure.create({
        type: Failure.BatchStoreCorrupt,
        message: `page ${index} of batch "${request.batchId}" has fewer rows than its manifest says`,
        nonRetryable: true,
      });
    }
    return rows;
  }

  /** One resolution per distinct connector per batch; a reference that cannot be resolved fails its rows. */
  async function resolveConnectors(rows: BatchRow[]): Promise<void> {
    const wanted = new Map<string, BatchRow['request']['connector']>();
    for (const { request: r } of rows) {
      const key = connectorKey(r.connector);
      if (!(key in s.connectors)) wanted.set(key, r.connector);
    }
    await Promise.all(
      [...wanted].map(async ([key, ref]) => {
        try {
          s.connectors[key] = { connector: await cyclr.resolveConnector(ref) };
        } catch (err) {
          s.connectors[key] = { error: failureOf(err) };
        }
      }),
    );
  }

  /** Starts one child; returns its id when it already existed (so its state must be checked). */
  async function startItem(row: BatchRow): Promise<string | undefined> {
    const workflowId = provisioningWorkflowId(row.request);
    const resolution = s.connectors[connectorKey(row.request.connector)]!;
    if ('error' in resolution) {
      recordFailure(s, { workflowId, line: row.line, ...resolution.error });
      return undefined;
    }
    // In flight before the start resolves: a fast child's signal can arrive in the same activation.
    s.inFlight[workflowId] = row.line;
    try {
      await startChild('provisionConnector', {
        workflowId,
        args: [{ ...row.request, batchId: request.batchId }, { connector: resolution.connector }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        typedSearchAttributes: [
          { key: ProvisioningStage, value: 'resolving-connector' },
          { key: CyclrAccountId, value: row.request.accountId },
          { key: ConnectorName, value: resolution.connector.name },
          { key: BatchId, value: request.batchId },
        ],
      });
      s.started += 1;
      return undefined;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        s.started += 1;
        return workflowId;
      }
      delete s.inFlight[workflowId];
      recordFailure(s, { workflowId, line: row.line, ...failureOf(err) });
      return undefined;
    }
  }

  /** Asks Temporal where children stand: for those that already existed, and when no news came for a while. */
  async function reconcile(ids: string[]): Promise<void> {
    const pending = ids.filter((id) => id in s.inFlight);
    if (!pending.length) return;
    const found = await store.describeBatchItems({ workflowIds: pending });
    for (const item of found) {
      const outcome = item.stage ? outcomeOf(item.stage, item.error) : undefined;
      if (outcome && settle(s, item.workflowId, outcome, true, window)) news += 1;
    }
  }

  const showDetails = () =>
    setCurrentDetails(
      `**${s.completed + s.failed + s.cancelled}/${request.rows + request.rejected.count}** done: ` +
        `${s.completed} completed, ${s.failed} failed, ${s.awaitingConsent} awaiting consent, ${inFlightCount()} in flight` +
        (s.cancelReason ? `\n\ncancelled: ${s.cancelReason} (no new starts; started provisionings keep going)` : ''),
    );

  for (;;) {
    while (moreToStart() && inFlightCount() < window && startedThisRun < continueAsNewAfter) {
      const room = Math.min(window - inFlightCount(), continueAsNewAfter - startedThisRun);
      const rows = await nextRows(room);
      await resolveConnectors(rows);
      const existing = (await Promise.all(rows.map(startItem))).filter((id): id is string => id !== undefined);
      s.cursor += rows.length;
      startedThisRun += rows.length;
      await reconcile(existing);
    }
    showDetails();
    if (s.unrecorded.length >= RECORD_FAILURES_EVERY) await recordFailures();

    if (!moreToStart() && inFlightCount() === 0) break;
    if (startedThisRun >= continueAsNewAfter || workflowInfo().continueAsNewSuggested) {
      await recordFailures();
      await condition(allHandlersFinished);
      s.runs += 1;
      return await continueAsNew<typeof provisionBatchV1>(request, s);
    }

    const seen = news;
    // Refill in groups rather than one slot at a time: fewer workflow tasks and timers per row (the Temporal
    // server's work per history event dominates the batch's cost).
    const refillAt = Math.max(1, Math.min(Math.ceil(window / 10), request.rows - s.cursor));
    const woke = await condition(
      () => (moreToStart() && window - inFlightCount() >= refillAt) || inFlightCount() === 0,
      reconcileEvery,
    );
    if (!woke && news === seen) {
      // No news for a while: ask Temporal, so a child that cannot signal us is not waited on forever.
      await recordFailures();
      await reconcile(Object.keys(s.inFlight));
    }
  }

  await recordFailures();
  await condition(allHandlersFinished);
  const final = progressOf(request, s, s.cancelReason ? 'cancelled' : 'completed', new Date().toISOString());
  showDetails();
  return final;
}
