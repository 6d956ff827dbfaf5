/** The state provisionBatch carries across continue-as-new, and the pure bookkeeping on it (no I/O here). */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ResolvedConnector } from '../contract/connector.js';
import type { Stage } from '../contract/stages.js';
import type {
  BatchFailure,
  BatchProgress,
  BatchRequest,
  BatchRow,
  RowsProgress,
  RowsResult,
} from '../contract/batch-messages.js';
import { MAX_FAILURES_IN_PROGRESS, batchRequestSchema } from '../contract/batch-messages.js';

export const MAX_CONTINUE_AS_NEW_AFTER = 1500;
export const DEFAULTS = { concurrency: 50, continueAsNewAfter: 1000, reconcileEvery: '1m' } as const;

export type ConnectorResolution = { connector: ResolvedConnector } | { error: { type: string; message: string } };

export interface BatchState {
  /** 2: rows run in bulk (provision-batch.ts). Absent: a batch begun by the legacy workflow, which keeps it. */
  version?: 2;
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
  /** One resolution per distinct connector reference in the batch. */
  connectors: Record<string, ConnectorResolution>;
  /** Failures not yet appended to the batch store. */
  unrecorded: BatchFailure[];
  cancelReason?: string;
  startedAt: string;
  runs: number;
  /** The rows activity running now, as it last reported. */
  running?: RowsProgress;
  /** Rows that need consent, waiting for a place in the window to start as children. */
  consentQueue?: BatchRow[];
}

export function initialState(request: BatchRequest, now: string): BatchState {
  return {
    cursor: 0,
    started: 0,
    completed: 0,
    failed: request.rejected.count,
    awaitingConsent: 0,
    cancelled: 0,
    failures: request.rejected.sample.slice(0, MAX_FAILURES_IN_PROGRESS),
    inFlight: {},
    settledByCheck: [],
    connectors: {},
    unrecorded: [],
    startedAt: now,
    runs: 1,
  };
}

export function connectorKey(ref: { id?: number; name?: string; version?: string }): string {
  return ref.id !== undefined ? `id:${ref.id}` : `name:${(ref.name ?? '').toLowerCase()}:${ref.version ?? ''}`;
}

export function recordFailure(s: BatchState, failure: BatchFailure): void {
  s.failed += 1;
  if (s.failures.length < MAX_FAILURES_IN_PROGRESS) s.failures.push(failure);
  s.unrecorded.push(failure);
}

export type Outcome =
  | { kind: 'completed' }
  | { kind: 'awaiting-consent' }
  | { kind: 'cancelled' }
  | { kind: 'failed'; error: { type: string; message: string } };

/** Applies a child's outcome, reported by its signal or found by a check; returns false when it was not news. */
export function settle(s: BatchState, workflowId: string, outcome: Outcome, byCheck: boolean, window: number): boolean {
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
  else recordFailure(s, { workflowId, ...(inFlight ? { line } : {}), ...outcome.error });
  return true;
}

/** Keeps a failure in the bounded sample the progress query shows (the rows activity records them in the store). */
export function sampleFailure(s: BatchState, failure: BatchFailure): void {
  if (s.failures.length >= MAX_FAILURES_IN_PROGRESS) return;
  if (failure.workflowId && s.failures.some((f) => f.workflowId === failure.workflowId)) return;
  s.failures.push(failure);
}

/** A report from the rows activity running now: its counts so far replace the previous report's. */
export function recordRowsProgress(s: BatchState, report: RowsProgress): void {
  s.running = report;
  for (const f of report.failures) sampleFailure(s, f);
}

/** The rows activity is done: its counts become the batch's, its consent rows wait for children. */
export function recordRowsResult(s: BatchState, result: RowsResult & { failures?: BatchFailure[] }): void {
  s.running = undefined;
  s.started += result.takenTo - result.fromRow - result.consentRows.length - result.unstarted;
  s.completed += result.completed;
  s.failed += result.failed;
  for (const f of result.failures ?? []) sampleFailure(s, f);
  s.consentQueue = [...(s.consentQueue ?? []), ...result.consentRows];
  s.cursor = result.takenTo;
}

export function progressOf(
  request: BatchRequest,
  s: BatchState,
  state: NonNullable<BatchProgress['state']>,
  finishedAt?: string,
): BatchProgress {
  const running = s.running;
  return {
    batchId: request.batchId,
    total: request.rows + request.rejected.count,
    started: s.started + (running ? running.completed + running.failed + running.inFlight : 0),
    completed: s.completed + (running?.completed ?? 0),
    failed: s.failed + (running?.failed ?? 0),
    awaitingConsent: s.awaitingConsent,
    cancelled: s.cancelled,
    inFlight: Object.keys(s.inFlight).length + (running?.inFlight ?? 0),
    notStarted: s.cancelReason ? request.rows - s.cursor : 0,
    state,
    startedAt: s.startedAt,
    ...(finishedAt ? { finishedAt } : {}),
    failures: s.failures,
  };
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidRequest', message, nonRetryable: true });
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
  if (!request) throw invalid('batchId: is required');
  // Absent and null both mean "the default", as they always have (histories recorded so must replay the same).
  const { concurrency, continueAsNewAfter } = request;
  const parsed = batchInputSchema.safeParse({
    ...request,
    concurrency: concurrency ?? undefined,
    continueAsNewAfter: continueAsNewAfter ?? undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`${issue.path.join('.')}: ${issue.message}`);
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
      return { kind: 'failed', error: error ?? { type: 'Failed', message: 'the provisioning failed' } };
    case 'expired':
      return { kind: 'failed', error: error ?? { type: 'ConsentExpired', message: 'no consent in time' } };
    default:
      return undefined;
  }
}
