/**
 * The state provisionBatch carries across continue-as-new, and the pure bookkeeping on it (no I/O here). The state
 * owns its counts: batch-run.ts reads them through getters and changes them through the methods below, each named
 * for what happened to the batch.
 */
import { z } from 'zod';
import { Failure, failure } from '../contract/failures.js';
import type { Stage } from '../contract/stages.js';
import {
  MAX_FAILURES_IN_PROGRESS,
  batchRequestSchema,
  type BatchFailure,
  type BatchProgress,
  type BatchRequest,
  type BatchRow,
  type ConcurrencyCap,
  type ProgressPoint,
  type RowsProgress,
  type RowsResult,
} from '../contract/batch-messages.js';
import type { BATCH_VERSIONS, VersionOf } from './versions.js';

export const MAX_CONTINUE_AS_NEW_AFTER = 1500;
export const DEFAULTS = { concurrency: 50, continueAsNewAfter: 1000, reconcileEvery: '1m' } as const;

/** The versions this code runs (v1 is legacy/); a batch carries its version across continue-as-new. */
export type BatchVersion = Exclude<VersionOf<typeof BATCH_VERSIONS>, 1>;

/** What a batch carries across continue-as-new (a v1 batch carries legacy/batch-state-v1.ts's, without `version`). */
export interface CarriedBatchState {
  version: BatchVersion;
  /** Index of the next valid row to start. */
  cursor: number;
  started: number;
  completed: number;
  failed: number;
  awaitingConsent: number;
  cancelled: number;
  failures: BatchFailure[];
  /** Children started and not yet final nor awaiting consent: workflow id -> file line. At most the window. */
  inFlight: Record<string, number>;
  /** Ids settled by asking Temporal rather than by their own signal, so a late signal is not counted twice. */
  settledByCheck: string[];
  /** Failures not yet appended to the batch store. */
  unrecorded: BatchFailure[];
  cancelReason?: string;
  startedAt: string;
  runs: number;
  /** The rows activities running now (v2: one; v3: its slices), as each last reported, by first row. */
  running?: Record<number, RowsProgress>;
  /** v3: rows of slices left untaken because the batch was cancelled (v5: slices not begun too). */
  untaken?: number;
  /** v3: rows run by each worker (its identity). */
  rowsByWorker?: Record<string, number>;
  /** v3: per-worker settings seen holding the window lower (at most one per worker and setting). */
  caps?: ConcurrencyCap[];
  /** Rows that need consent, waiting for a place in the window to start as children. */
  consentQueue: BatchRow[];
  /** The counts over time, for the batch's chart (`recordPoint`). */
  timeline?: ProgressPoint[];
}

/** The batch's timeline: a point at most this often, and at most this many (older ones thinned, every other). */
export const TIMELINE_EVERY_MS = 2000;
export const TIMELINE_MAX_POINTS = 240;

/** A child's outcome, as its signal or a check reports it. */
export type Outcome =
  | { kind: 'completed' }
  | { kind: 'awaiting-consent' }
  | { kind: 'cancelled' }
  | { kind: 'failed'; error: { type: string; message: string } };

export class BatchState {
  private constructor(private readonly s: CarriedBatchState) {}

  static begin(version: BatchVersion, request: BatchRequest, now: string): BatchState {
    return new BatchState({
      version,
      cursor: 0,
      started: 0,
      completed: 0,
      failed: request.rejected.count,
      awaitingConsent: 0,
      cancelled: 0,
      failures: request.rejected.sample.slice(0, MAX_FAILURES_IN_PROGRESS),
      inFlight: {},
      settledByCheck: [],
      unrecorded: [],
      startedAt: now,
      runs: 1,
      consentQueue: [],
    });
  }

  static carried(state: CarriedBatchState): BatchState {
    return new BatchState(state);
  }

  get version(): BatchVersion {
    return this.s.version;
  }

  get cursor(): number {
    return this.s.cursor;
  }

  get cancelReason(): string | undefined {
    return this.s.cancelReason;
  }

  get inFlightIds(): string[] {
    return Object.keys(this.s.inFlight);
  }

  get inFlightCount(): number {
    return Object.keys(this.s.inFlight).length;
  }

  isInFlight(workflowId: string): boolean {
    return workflowId in this.s.inFlight;
  }

  get queuedConsentRows(): number {
    return this.s.consentQueue.length;
  }

  /** Failures not yet in the store, oldest first (at most `max`); `recorded` drops them once they are. */
  unrecorded(max: number): BatchFailure[] {
    return this.s.unrecorded.slice(0, max);
  }

  recorded(count: number): void {
    this.s.unrecorded.splice(0, count);
  }

  progress(request: BatchRequest, state: NonNullable<BatchProgress['state']>, finishedAt?: string): BatchProgress {
    const { s } = this;
    const running = { completed: 0, failed: 0, inFlight: 0 };
    for (const r of Object.values(s.running ?? {})) {
      running.completed += r.completed;
      running.failed += r.failed;
      running.inFlight += r.inFlight;
    }
    return {
      batchId: request.batchId,
      total: request.rows + request.rejected.count,
      started: s.started + running.completed + running.failed + running.inFlight,
      completed: s.completed + running.completed,
      failed: s.failed + running.failed,
      awaitingConsent: s.awaitingConsent,
      cancelled: s.cancelled,
      inFlight: Object.keys(s.inFlight).length + running.inFlight,
      notStarted: s.cancelReason ? request.rows - s.cursor + (s.untaken ?? 0) : 0,
      state,
      startedAt: s.startedAt,
      ...(finishedAt ? { finishedAt } : {}),
      failures: s.failures,
      ...(s.rowsByWorker ? { rowsByWorker: { ...s.rowsByWorker } } : {}),
      ...(s.caps?.length ? { limitedBy: [...s.caps] } : {}),
      ...(s.timeline?.length ? { timeline: [...s.timeline] } : {}),
    };
  }

  /** Notes the counts for the batch's chart: at most one point every TIMELINE_EVERY_MS unless `last` (its end). */
  recordPoint(request: BatchRequest, now: number, last = false): void {
    const timeline = (this.s.timeline ??= []);
    const previous = timeline.at(-1);
    if (!last && previous && now - Date.parse(previous.at) < TIMELINE_EVERY_MS) return;
    const { completed, failed, awaitingConsent } = this.progress(request, 'running');
    timeline.push({ at: new Date(now).toISOString(), completed, failed, awaitingConsent });
    if (timeline.length > TIMELINE_MAX_POINTS) {
      this.s.timeline = timeline.filter((_, i) => i % 2 === 0 || i === timeline.length - 1);
    }
  }

  /** The first cancel's reason stands. */
  cancel(reason: string): void {
    this.s.cancelReason ??= reason;
  }

  /** A report from the rows activity running now: its counts so far replace the previous report's. */
  rowsProgressed(report: RowsProgress): void {
    // v2 runs one activity at a time: its report replaces the last. v3 keeps each running slice's.
    if (this.s.version === 2) this.s.running = {};
    (this.s.running ??= {})[report.fromRow] = report;
    if (report.cap) this.capSeen(report.cap);
    for (const f of report.failures) this.sampleFailure(f);
  }

  /** v3: the first `window` the batch asked for, noted with what holds it lower (before any worker reports). */
  capSeen(cap: ConcurrencyCap): void {
    const caps = (this.s.caps ??= []);
    if (caps.length >= 10 || caps.some((c) => c.setting === cap.setting && c.worker === cap.worker)) return;
    caps.push(cap);
  }

  /** v3: one slice [fromRow, toRow) of a round is done; the round's end moves the cursor (`roundDone`). */
  sliceDone(result: RowsResult, toRow: number): void {
    const { s } = this;
    delete s.running?.[result.fromRow];
    s.started += result.takenTo - result.fromRow - result.consentRows.length - result.unstarted;
    s.completed += result.completed;
    s.failed += result.failed;
    for (const f of result.failures) this.sampleFailure(f);
    s.consentQueue = [...s.consentQueue, ...result.consentRows];
    s.untaken = (s.untaken ?? 0) + (toRow - result.takenTo);
    const byWorker = (s.rowsByWorker ??= {});
    const worker = result.worker ?? 'unknown';
    byWorker[worker] = (byWorker[worker] ?? 0) + (result.takenTo - result.fromRow);
    if (result.cap) this.capSeen(result.cap);
  }

  /** v5: slices of a round left untaken because the batch was cancelled. */
  slicesUntaken(slices: readonly { fromRow: number; toRow: number }[]): void {
    for (const { fromRow, toRow } of slices) this.s.untaken = (this.s.untaken ?? 0) + (toRow - fromRow);
  }

  /** v3: every slice of the round that ends at `toRow` is done. */
  roundDone(toRow: number): void {
    this.s.cursor = toRow;
  }

  /** The rows activity is done: its counts become the batch's, its consent rows wait for children. */
  rowsDone(result: RowsResult & { failures?: BatchFailure[] }): void {
    const { s } = this;
    s.running = undefined;
    s.started += result.takenTo - result.fromRow - result.consentRows.length - result.unstarted;
    s.completed += result.completed;
    s.failed += result.failed;
    for (const f of result.failures ?? []) this.sampleFailure(f);
    s.consentQueue = [...s.consentQueue, ...result.consentRows];
    s.cursor = result.takenTo;
  }

  /** Up to `count` queued consent rows, taken to start as children. */
  takeConsentRows(count: number): BatchRow[] {
    return this.s.consentQueue.splice(0, count);
  }

  /** A cancelled batch starts no more children. */
  dropConsentRowsIfCancelled(): void {
    if (this.s.cancelReason) this.s.consentQueue = [];
  }

  /** In flight before the start resolves: a fast child's signal can arrive in the same activation. */
  childStarting(workflowId: string, line: number): void {
    this.s.inFlight[workflowId] = line;
  }

  /** Started, or found already started by an earlier run of the same batch. */
  childStarted(): void {
    this.s.started += 1;
  }

  childNotStarted(workflowId: string, line: number, error: { type: string; message: string }): void {
    delete this.s.inFlight[workflowId];
    this.recordFailure({ workflowId, line, ...error });
  }

  /** Applies a child's outcome, reported by its signal or found by a check; returns false when it was not news. */
  settle(workflowId: string, outcome: Outcome, byCheck: boolean, window: number): boolean {
    const { s } = this;
    const line = s.inFlight[workflowId];
    const inFlight = line !== undefined;
    if (outcome.kind === 'awaiting-consent') {
      if (!inFlight) return false; // a repeat: it asked for consent again after an unconfirmed hint
      delete s.inFlight[workflowId];
      s.awaitingConsent += 1;
      return true;
    }
    if (inFlight) {
      delete s.inFlight[workflowId];
      if (byCheck) {
        s.settledByCheck.push(workflowId);
        if (s.settledByCheck.length > 2 * window) s.settledByCheck.splice(0, s.settledByCheck.length - 2 * window);
      }
    } else {
      // Not in flight: either a child that was awaiting consent has ended, or news we already have.
      if (s.settledByCheck.includes(workflowId) || s.awaitingConsent === 0) return false;
      s.awaitingConsent -= 1;
    }
    if (outcome.kind === 'completed') s.completed += 1;
    else if (outcome.kind === 'cancelled') s.cancelled += 1;
    else this.recordFailure({ workflowId, ...(inFlight ? { line } : {}), ...outcome.error });
    return true;
  }

  /** What the next run carries. */
  nextRun(): CarriedBatchState {
    this.s.runs += 1;
    return this.s;
  }

  private recordFailure(failure: BatchFailure): void {
    const { s } = this;
    s.failed += 1;
    if (s.failures.length < MAX_FAILURES_IN_PROGRESS) s.failures.push(failure);
    s.unrecorded.push(failure);
  }

  /** Keeps a failure in the bounded sample the progress query shows (the rows activity records them in the store). */
  private sampleFailure(failure: BatchFailure): void {
    const { s } = this;
    if (s.failures.length >= MAX_FAILURES_IN_PROGRESS) return;
    if (failure.workflowId && s.failures.some((f) => f.workflowId === failure.workflowId)) return;
    s.failures.push(failure);
  }
}

const batchInputSchema = batchRequestSchema.extend({
  continueAsNewAfter: z
    .number({ invalid_type_error: `must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}` })
    .int(`must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}`)
    .min(1, `must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}`)
    .max(MAX_CONTINUE_AS_NEW_AFTER, `must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}`)
    .optional(),
});

/** The first bad field, as "field: what is wrong", in the contract's words (the gateway checks the same). */
export function checkBatchRequest(
  request: BatchRequest,
): Required<Pick<BatchRequest, 'concurrency' | 'continueAsNewAfter'>> {
  if (!request) throw failure(Failure.InvalidRequest, 'batchId: is required');
  // Absent and null both mean "the default", as they always have (histories recorded so must replay the same).
  const { concurrency, continueAsNewAfter } = request;
  const parsed = batchInputSchema.safeParse({
    ...request,
    concurrency: concurrency ?? undefined,
    continueAsNewAfter: continueAsNewAfter ?? undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw failure(Failure.InvalidRequest, `${issue.path.join('.')}: ${issue.message}`);
  }
  return {
    concurrency: parsed.data.concurrency ?? DEFAULTS.concurrency,
    continueAsNewAfter: parsed.data.continueAsNewAfter ?? DEFAULTS.continueAsNewAfter,
  };
}

/** A child's stage, as its signal or a check reports it, in the batch's terms (undefined: not yet news). */
export function outcomeOf(stage: Stage, error?: { type: string; message: string }): Outcome | undefined {
  switch (stage) {
    case 'awaiting-consent':
      return { kind: 'awaiting-consent' };
    case 'completed':
      return { kind: 'completed' };
    case 'cancelled':
      return { kind: 'cancelled' };
    case 'failed':
      return { kind: 'failed', error: error ?? { type: Failure.Failed, message: 'the provisioning failed' } };
    case 'expired':
      return { kind: 'failed', error: error ?? { type: Failure.ConsentExpired, message: 'no consent in time' } };
    default:
      return undefined;
  }
}
