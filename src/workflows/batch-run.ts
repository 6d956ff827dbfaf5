/**
 * One run of provisionBatch: its state (batch-state.ts, carried across continue-as-new), its messages, and its
 * steps: run rows in bulk (one activity for many rows), start a child for each row that needs consent, ask
 * Temporal about quiet children, record failures. Deterministic code.
 */
import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BatchActivities } from '../activities/batch.js';
import type { BatchRowActivities } from '../activities/batch-rows.js';
import {
  batchCancelSignal,
  batchItemSignal,
  progressQuery,
  rowsProgressUpdate,
  type BatchProgress,
  type BatchRequest,
  type BatchRow,
} from '../contract/batch-messages.js';
import { BatchState, outcomeOf } from './batch-state.js';
import { provisioningWorkflowId } from '../contract/ids.js';
import { provisionConnector } from './provision-connector.js';
import { BatchId, CyclrAccountId, ProvisioningStage } from '../contract/search-attributes.js';
import { Failure, NON_RETRYABLE, failure, failureOf } from '../contract/failures.js';

/** Rows per activity: large enough that the server's work per row is nil, small enough to resume cheaply. */
export const ROWS_PER_ACTIVITY = 2000;
/**
 * v3: a round's rows run as this many slices at most at once, in parallel, each an activity any worker may take, so
 * the rows spread over the workers; the window is split among them. Enough slices that three or four workers each
 * get their part; few enough that each slice keeps several requests in flight and reports cheaply.
 */
export const MAX_SLICES = 12;
/** v3: no slice smaller than this (a small batch runs as one or a few slices). */
export const MIN_SLICE_ROWS = 25;
/**
 * v5: a round is cut into this many slices per running one; a running slice that ends takes the next. Which worker
 * takes a slice is the matching service's choice: one slice per place (v3, v4) left a worker with 7 of a 3,000-row
 * batch's 36 slices (19%) in about one run in eight; small slices taken as places free follow each worker's pace, and
 * a round no longer waits for its slowest slice.
 */
export const SLICES_PER_PLACE = 4;

export interface Round {
  /** The window of each slice running at once (they sum to the round's window). */
  places: number[];
  /** Rows [fromRow, toRow) of each slice, in the order they are taken. */
  slices: { fromRow: number; toRow: number }[];
}

/**
 * Rows [fromRow, toRow) as `slicesPerPlace` near-equal slices (at least MIN_SLICE_ROWS each) for each of the places
 * the window is split into. With 1 (v3, v4), each place runs one slice and the round is as v3 planned it.
 */
export function planRound(fromRow: number, toRow: number, window: number, slicesPerPlace: number): Round {
  const rows = toRow - fromRow;
  const placeCount = Math.max(1, Math.min(MAX_SLICES, window, Math.ceil(rows / MIN_SLICE_ROWS)));
  const places = Array.from(
    { length: placeCount },
    (_, i) => Math.floor(window / placeCount) + (i < window % placeCount ? 1 : 0),
  );
  const count = Math.max(placeCount, Math.min(placeCount * slicesPerPlace, Math.floor(rows / MIN_SLICE_ROWS)));
  const slices = Array.from({ length: count }, (_, i) => ({
    fromRow: fromRow + Math.floor((rows * i) / count),
    toRow: fromRow + Math.floor((rows * (i + 1)) / count),
  }));
  return { places, slices };
}

const store = proxyActivities<BatchActivities>({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
});

const bulk = proxyActivities<BatchRowActivities>({
  // Rows retry their own Cyclr faults for up to a day; a worker that dies is noticed by its missing heartbeat
  // (sent every second), and its rows move to the others within seconds.
  startToCloseTimeout: '2d',
  heartbeatTimeout: '5s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
});

export class BatchRun {
  /** Rows taken by this run (bulk and children): continue-as-new after `continueAsNewAfter` of them. */
  private rowsThisRun = 0;
  /** Signals and checks that settled a child since the last look. */
  private news = 0;
  /** The first rows of the rows activities this run awaits now: only their reports count. */
  private readonly awaited = new Set<number>();

  constructor(
    private readonly request: BatchRequest,
    private readonly s: BatchState,
    private readonly window: number,
    private readonly continueAsNewAfter: number,
  ) {}

  registerHandlers(): void {
    const s = this.s;
    setHandler(progressQuery, () => s.progress(this.request, s.cancelReason ? 'cancelling' : 'running'));
    setHandler(
      rowsProgressUpdate,
      (report) => {
        s.rowsProgressed(report);
        s.recordPoint(this.request, Date.now());
        return { stop: s.cancelReason !== undefined };
      },
      {
        // A report the server delivers after its activity ended (sent before a server restart, say, and given up on
        // by the activity) would count that activity's rows again: refused, it never reaches the history.
        validator: (report) => {
          if (!report || !this.awaited.has(report.fromRow))
            throw failure(Failure.StaleReport, 'no rows activity from this row is running');
        },
      },
    );
    setHandler(batchItemSignal, (update) => {
      const outcome = outcomeOf(update.stage, update.error);
      if (outcome && s.settle(update.workflowId, outcome, false, this.window)) this.news += 1;
    });
    setHandler(batchCancelSignal, (payload) => {
      s.cancel(payload?.reason ?? 'cancelled by request');
      this.news += 1;
    });
    // The timeline starts where this run does (the batch's first point: nothing done yet).
    s.recordPoint(this.request, Date.now());
  }

  get moreRows(): boolean {
    return !this.s.cancelReason && this.s.cursor < this.request.rows;
  }

  private get inFlightChildren(): number {
    return this.s.inFlightCount;
  }

  /** Many rows in one activity; the rows that need consent come back to run as children. */
  async runRows(): Promise<void> {
    const fromRow = this.s.cursor;
    const room = Math.max(1, this.continueAsNewAfter - this.rowsThisRun);
    const toRow = Math.min(this.request.rows, fromRow + ROWS_PER_ACTIVITY, fromRow + room);
    const concurrency = Math.max(1, this.window - this.inFlightChildren);
    const { batchId, pageSize } = this.request;
    const result = await this.awaiting(fromRow, () =>
      bulk.provisionBatchRows({ batchId, fromRow, toRow, pageSize, concurrency }),
    );
    this.s.rowsDone(result);
    this.rowsThisRun += result.takenTo - result.fromRow;
    this.showDetails();
  }

  /**
   * v3: the round's rows as parallel slices (planRound), each its own activity on whichever worker takes it; v5: more
   * slices than places, a place that frees taking the next (none once the batch is cancelled).
   */
  async runSlices(): Promise<void> {
    const fromRow = this.s.cursor;
    const room = Math.max(1, this.continueAsNewAfter - this.rowsThisRun);
    const toRow = Math.min(this.request.rows, fromRow + ROWS_PER_ACTIVITY, fromRow + room);
    const window = Math.max(1, this.window - this.inFlightChildren);
    const { batchId, pageSize } = this.request;
    const { places, slices } = planRound(fromRow, toRow, window, this.s.version >= 5 ? SLICES_PER_PLACE : 1);
    let next = 0;
    const take = () => (next < slices.length && !this.s.cancelReason ? slices[next++] : undefined);
    await Promise.all(
      places.map(async (concurrency) => {
        for (let slice = take(); slice; slice = take()) {
          const result = await this.awaiting(slice.fromRow, () =>
            bulk.provisionBatchRows({ batchId, pageSize, ...slice, concurrency, slice: true }),
          );
          this.s.sliceDone(result, slice.toRow);
          this.showDetails();
        }
      }),
    );
    this.s.slicesUntaken(slices.slice(next));
    this.s.roundDone(toRow);
    this.rowsThisRun += toRow - fromRow;
    this.showDetails();
  }

  /** Starts queued consent rows as children while the window has room. */
  async startChildren(): Promise<void> {
    while (this.s.queuedConsentRows && !this.s.cancelReason && this.inFlightChildren < this.window) {
      const rows = this.s.takeConsentRows(this.window - this.inFlightChildren);
      const existing = (await Promise.all(rows.map((row) => this.startChild(row)))).filter((id) => id !== undefined);
      await this.reconcile(existing);
    }
    this.s.dropConsentRowsIfCancelled();
  }

  /**
   * Starts queued consent rows as places in the window free, until none is queued and at most `inFlightAtMost`
   * children are short of awaiting consent or their end (0: the batch's last step; v4, between rounds: half the
   * window, so the next round's rows have at least half of it and one slow child holds up nothing).
   */
  async waitForChildren(reconcileEvery: string, inFlightAtMost: number): Promise<void> {
    const done = () => !this.s.queuedConsentRows && this.inFlightChildren <= inFlightAtMost;
    for (;;) {
      await this.startChildren();
      if (done()) return;
      await this.recordFailures();
      this.showDetails();
      const seen = this.news;
      const woke = await condition(
        () => (this.inFlightChildren < this.window && this.s.queuedConsentRows > 0) || done(),
        reconcileEvery,
      );
      // No news for a while: ask Temporal, so a child that cannot signal us is not waited on forever.
      if (!woke && this.news === seen) await this.reconcile(this.s.inFlightIds);
    }
  }

  /** Between runs of rows, when there are more: the history stays short however long the file. */
  get shouldContinueAsNew(): boolean {
    return this.moreRows && (this.rowsThisRun >= this.continueAsNewAfter || workflowInfo().continueAsNewSuggested);
  }

  async continueAsNew(): Promise<never> {
    await this.recordFailures();
    await condition(allHandlersFinished);
    return continueAsNew(this.request, this.s.nextRun());
  }

  async finish(): Promise<BatchProgress> {
    await this.recordFailures();
    await condition(allHandlersFinished);
    this.showDetails();
    this.s.recordPoint(this.request, Date.now(), true);
    return this.s.progress(this.request, this.s.cancelReason ? 'cancelled' : 'completed', new Date().toISOString());
  }

  /** Runs a rows activity from `fromRow`, accepting its reports while it runs. */
  private async awaiting<T>(fromRow: number, run: () => Promise<T>): Promise<T> {
    this.awaited.add(fromRow);
    try {
      return await run();
    } finally {
      this.awaited.delete(fromRow);
    }
  }

  /** Starts one child; returns its id when it already existed (so its state must be checked). */
  private async startChild(row: BatchRow): Promise<string | undefined> {
    const workflowId = provisioningWorkflowId(row.request);
    this.s.childStarting(workflowId, row.line);
    try {
      await startChild(provisionConnector, {
        workflowId,
        args: [{ ...row.request, batchId: this.request.batchId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        typedSearchAttributes: [
          { key: ProvisioningStage, value: 'resolving-connector' },
          { key: CyclrAccountId, value: row.request.accountId },
          { key: BatchId, value: this.request.batchId },
        ],
      });
      this.s.childStarted();
      return undefined;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        this.s.childStarted();
        return workflowId;
      }
      this.s.childNotStarted(workflowId, row.line, failureOf(err));
      return undefined;
    }
  }

  /** Asks Temporal where children stand: for those that already existed, and when no news came for a while. */
  private async reconcile(ids: string[]): Promise<void> {
    const pending = ids.filter((id) => this.s.isInFlight(id));
    if (!pending.length) return;
    for (const item of await store.describeBatchItems({ workflowIds: pending })) {
      const outcome = item.stage ? outcomeOf(item.stage, item.error) : undefined;
      if (outcome && this.s.settle(item.workflowId, outcome, true, this.window)) this.news += 1;
    }
  }

  /** Children's failures go to the store here; the rows activity records its own. */
  private async recordFailures(): Promise<void> {
    for (let chunk = this.s.unrecorded(500); chunk.length; chunk = this.s.unrecorded(500)) {
      await store.recordBatchFailures({ batchId: this.request.batchId, failures: chunk });
      this.s.recorded(chunk.length);
    }
  }

  /** The Web UI's summary of the counts, and (at most every 2 s) a point of the batch's recorded timeline. */
  private showDetails(): void {
    this.s.recordPoint(this.request, Date.now());
    const p = this.s.progress(this.request, 'running');
    setCurrentDetails(
      `**${p.completed + p.failed + p.cancelled}/${p.total}** done: ${p.completed} completed, ${p.failed} failed, ` +
        `${p.awaitingConsent} awaiting consent, ${p.inFlight ?? 0} in flight` +
        (this.s.cancelReason
          ? `\n\ncancelled: ${this.s.cancelReason} (no new starts; started provisionings keep going)`
          : ''),
    );
  }
}
