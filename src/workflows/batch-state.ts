/** The state provisionBatch carries across continue-as-new, and the pure bookkeeping on it (no I/O here). */
import type { ResolvedConnector } from './connector.js';
import type { BatchFailure, BatchProgress, BatchRequest } from './batch-messages.js';

/** Failures kept in the query result; the failures file in the batch store holds every one. */
export const MAX_FAILURES_IN_PROGRESS = 100;
/** Temporal allows 2,000 pending children per run; both limits keep well below it. */
export const MAX_CONCURRENCY = 1000;
export const MAX_CONTINUE_AS_NEW_AFTER = 1500;
export const DEFAULTS = { concurrency: 50, continueAsNewAfter: 1000, reconcileEvery: '1m' } as const;

export type ConnectorResolution = { connector: ResolvedConnector } | { error: { type: string; message: string } };

export interface BatchState {
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

export function progressOf(
  request: BatchRequest,
  s: BatchState,
  state: NonNullable<BatchProgress['state']>,
  finishedAt?: string,
): BatchProgress {
  return {
    batchId: request.batchId,
    total: request.rows + request.rejected.count,
    started: s.started,
    completed: s.completed,
    failed: s.failed,
    awaitingConsent: s.awaitingConsent,
    cancelled: s.cancelled,
    inFlight: Object.keys(s.inFlight).length,
    notStarted: s.cancelReason ? request.rows - s.cursor : 0,
    state,
    startedAt: s.startedAt,
    ...(finishedAt ? { finishedAt } : {}),
    failures: s.failures,
  };
}
