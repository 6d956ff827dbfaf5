/**
 * FROZEN with v1: the state a v1 batch carries across continue-as-new and the bookkeeping on it, copied from the
 * live batch-state.ts as it was (less what only the bulk-rows version uses). Its decisions (when a child counts,
 * what is a failure) drive a v1 batch's commands, so an edit to the live bookkeeping must not reach it. Do not
 * edit; delete with the rest of legacy/ (docs/workflow-versions.md).
 */
import { z } from 'zod';
import type { ResolvedConnector } from '../../contract/connector.js';
import { ApplicationFailure } from '@temporalio/common';
import { Failure } from '../../contract/failures.js';
import type { Stage } from '../../contract/stages.js';
import {
  MAX_FAILURES_IN_PROGRESS,
  batchRequestSchema,
  type BatchFailure,
  type BatchProgress,
  type BatchRequest,
} from '../../contract/batch-messages.js';

const MAX_CONTINUE_AS_NEW_AFTER = 1500;
export const DEFAULTS = { concurrency: 50, continueAsNewAfter: 1000, reconcileEvery: '1m' } as const;

type ConnectorResolution = { connector: ResolvedConnector } | { error: { type: string; message: string } };

/** What a v1 batch carries (it has no `version`: that is how provisionBatch knows it for a v1 batch). */
export interface BatchStateV1 {
  cursor: number;
  started: number;
  completed: number;
  failed: number;
  awaitingConsent: number;
  cancelled: number;
  failures: BatchFailure[];
  inFlight: Record<string, number>;
  settledByCheck: string[];
  connectors: Record<string, ConnectorResolution>;
  unrecorded: BatchFailure[];
  cancelReason?: string;
  startedAt: string;
  runs: number;
}

export function initialState(request: BatchRequest, now: string): BatchStateV1 {
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

export function recordFailure(s: BatchStateV1, failure: BatchFailure): void {
  s.failed += 1;
  if (s.failures.length < MAX_FAILURES_IN_PROGRESS) s.failures.push(failure);
  s.unrecorded.push(failure);
}

type Outcome =
  | { kind: 'completed' }
  | { kind: 'awaiting-consent' }
  | { kind: 'cancelled' }
  | { kind: 'failed'; error: { type: string; message: string } };

export function settle(
  s: BatchStateV1,
  workflowId: string,
  outcome: Outcome,
  byCheck: boolean,
  window: number,
): boolean {
  const line = s.inFlight[workflowId];
  const inFlight = line !== undefined;
  if (outcome.kind === 'awaiting-consent') {
    if (!inFlight) return false;
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
  s: BatchStateV1,
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

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: Failure.InvalidRequest, message, nonRetryable: true });
}

const batchInputSchema = batchRequestSchema.extend({
  continueAsNewAfter: z
    .number({ invalid_type_error: `must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}` })
    .int(`must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}`)
    .min(1, `must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}`)
    .max(MAX_CONTINUE_AS_NEW_AFTER, `must be a whole number from 1 to ${MAX_CONTINUE_AS_NEW_AFTER}`)
    .optional(),
});

export function checkBatchRequest(
  request: BatchRequest,
): Required<Pick<BatchRequest, 'concurrency' | 'continueAsNewAfter'>> {
  if (!request) throw invalid('batchId: is required');
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
