/**
 * Batch functions for the CLI, the gateway and scripts: validate and store a file (or rows already parsed), start (or
 * re-attach to) its provisionBatch, read its progress, cancel it, and gather its failures.
 */
import { writeFile } from 'node:fs/promises';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { TypedSearchAttributes, type LoadedDataConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import {
  batchCancelSignal,
  progressQuery,
  type BatchFailure,
  type BatchProblem,
  type BatchProgress,
  type BatchRequest,
} from '../contract/batch-messages.js';
import { MAX_FAILURES_IN_PROGRESS } from '../contract/batch-messages.js';
import { batchWorkflowId } from '../contract/ids.js';
import type { provisionBatch } from '../workflows/provision-batch.js';
import { BatchId } from '../contract/search-attributes.js';
import { readBatchFile, type ParsedBatchFile } from './parse-file.js';
import { checkBatchId, contentHash, type BatchManifest, type BatchStore } from './store.js';
import { decodedFailure } from '../temporal/connection.js';
import { Failure, failureOf, type FailureType } from '../contract/failures.js';

/** How a parsed batch is stored and started; `source` is recorded in its manifest (a file path, or where it came from). */
export interface SubmitParsedOptions extends Partial<
  Pick<BatchRequest, 'batchId' | 'pageSize' | 'concurrency' | 'continueAsNewAfter' | 'reconcileEvery'>
> {
  source: string;
}

export interface SubmitOptions extends Omit<SubmitParsedOptions, 'source'> {
  file: string;
}

export interface SubmittedBatch {
  batchId: string;
  workflowId: string;
  /** False when the batch was already running: this call re-attached to it. */
  started: boolean;
  /** True when this call stored the rows; false when the same rows were already stored under this id. */
  created: boolean;
  file: ParsedBatchFile;
  manifest: BatchManifest;
}

export class BatchError extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
  ) {
    super(message);
  }
}

/** Reads and validates a batch file, then stores and starts it as submitParsedBatch does. */
export async function submitBatch(
  temporal: Client,
  taskQueue: string,
  store: BatchStore,
  { file, ...options }: SubmitOptions,
): Promise<SubmittedBatch> {
  const parsed = await readBatchFile(file);
  return submitParsedBatch(temporal, taskQueue, store, parsed, { ...options, source: file });
}

/** Stores already-parsed rows and starts (or re-attaches to) their provisionBatch. */
export async function submitParsedBatch(
  temporal: Client,
  taskQueue: string,
  store: BatchStore,
  file: ParsedBatchFile,
  options: SubmitParsedOptions,
): Promise<SubmittedBatch> {
  // The default id comes from the content, so submitting the same rows again finds the same batch.
  const batchId = checkBatchId(options.batchId ?? `b-${contentHash(file.rows).slice(0, 16)}`);
  const { manifest, created } = await store.write(batchId, file.rows, file.rejected, {
    pageSize: options.pageSize,
    source: options.source,
  });
  const request: BatchRequest = {
    batchId,
    rows: manifest.rows,
    pageSize: manifest.pageSize,
    rejected: { count: file.rejected.length, sample: file.rejected.slice(0, MAX_FAILURES_IN_PROGRESS) },
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.continueAsNewAfter !== undefined ? { continueAsNewAfter: options.continueAsNewAfter } : {}),
    ...(options.reconcileEvery !== undefined ? { reconcileEvery: options.reconcileEvery } : {}),
  };
  const workflowId = batchWorkflowId(batchId);
  try {
    // A finished batch with this id starts again: completed children are not re-run, failed ones are retried.
    await temporal.workflow.start<typeof provisionBatch>('provisionBatch', {
      taskQueue,
      workflowId,
      args: [request],
      typedSearchAttributes: new TypedSearchAttributes([{ key: BatchId, value: batchId }]),
      staticSummary: `Batch ${batchId}: ${manifest.rows} rows${file.rejected.length ? ` (+${file.rejected.length} rejected)` : ''}`,
    });
    return { batchId, workflowId, started: true, created, file, manifest };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { batchId, workflowId, started: false, created, file, manifest };
    }
    throw err;
  }
}

export interface BatchSnapshot {
  progress: BatchProgress;
  /** Temporal's view: RUNNING, COMPLETED, FAILED, ... */
  status: string;
}

/**
 * Progress of a running or finished batch (finished: its result, which is the final progress), with its `problem`
 * when it has one: what ended it, or the error a step of it is being retried past (Temporal keeps the last failure
 * of each pending activity), so that a held batch says why wherever its progress is shown.
 */
export async function batchProgress(temporal: Client, batchId: string): Promise<BatchSnapshot> {
  const handle = temporal.workflow.getHandle<typeof provisionBatch>(batchWorkflowId(batchId));
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new BatchError(Failure.BatchNotFound, `no batch "${batchId}"; start one with "provisioner batch FILE"`);
    }
    throw err;
  }
  const status = description.status.name;
  if (status === 'COMPLETED') return { progress: await handle.result(), status };
  if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') {
    const progress = await handle.query(progressQuery);
    const problem = await retryingProblem(description, temporal.options.loadedDataConverter);
    return { progress: problem ? { ...progress, problem } : progress, status: 'RUNNING' };
  }
  // Failed, terminated, timed out: the cause from its result; the last run's state is still readable by query.
  const cause = await handle.result().then(
    () => undefined,
    (err: unknown) => (err instanceof WorkflowFailedError && err.cause ? failureOf(err.cause) : failureOf(err)),
  );
  const problem = {
    ...(cause ?? { type: Failure.BatchFailed, message: `the batch ended ${status.toLowerCase()}` }),
    retrying: false,
  };
  const progress = await handle.query(progressQuery).catch((err: unknown) => {
    const why = cause?.message ?? (err instanceof Error ? err.message : String(err));
    throw new BatchError(Failure.BatchFailed, `batch "${batchId}" ended ${status.toLowerCase()}: ${why}`);
  });
  return { progress: { ...progress, state: 'failed', problem }, status };
}

/** The most-retried pending activity's last failure: what holds the batch (its store unreachable, a worker lost...). */
async function retryingProblem(
  description: WorkflowExecutionDescription,
  converter: LoadedDataConverter,
): Promise<BatchProblem | undefined> {
  let worst: temporal.api.workflow.v1.IPendingActivityInfo | undefined;
  for (const activity of description.raw.pendingActivities ?? []) {
    if (!activity.lastFailure || (activity.attempt ?? 1) < 2) continue;
    if (!worst || (activity.attempt ?? 0) > (worst.attempt ?? 0)) worst = activity;
  }
  if (!worst?.lastFailure) return undefined;
  // Read raw, so its messages are still encrypted (failure-converter.cjs): decrypted here, down its causes.
  const last = await decodedFailure(converter, worst.lastFailure);
  // The innermost cause that names a type (an ApplicationFailure), else the outermost message (a timeout).
  let failure = last;
  while (!failure.applicationFailureInfo && failure.cause) failure = failure.cause;
  const at = worst.nextAttemptScheduleTime;
  const next = at?.seconds ? new Date(Number(at.seconds) * 1000 + Math.floor((at.nanos ?? 0) / 1e6)) : undefined;
  return {
    type: failure.applicationFailureInfo?.type || Failure.Error,
    message: failure.message || last.message || 'the step failed without a message',
    retrying: true,
    attempt: worst.attempt ?? undefined,
    ...(next ? { nextAttemptAt: next.toISOString() } : {}),
  };
}

/** Stops a running batch starting rows; a finished one is BatchFinished, an unknown one BatchNotFound. */
export async function cancelBatch(temporal: Client, batchId: string, reason?: string): Promise<void> {
  const handle = temporal.workflow.getHandle(batchWorkflowId(batchId));
  try {
    await handle.signal(batchCancelSignal, { reason });
  } catch (err) {
    // Temporal answers "not found" for a closed run too ("workflow execution already completed"): tell them apart.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    const status = await handle.describe().then(
      (d) => d.status.name.toLowerCase(),
      () => undefined,
    );
    if (!status) {
      throw new BatchError(Failure.BatchNotFound, `no batch "${batchId}"; start one with "provisioner batch FILE"`);
    }
    throw new BatchError(
      Failure.BatchFinished,
      `batch "${batchId}" has already finished (${status}); nothing to cancel`,
    );
  }
}

/** Every failure known: the store's (rejected rows, recorded failures) and any the progress holds not yet recorded. */
export async function batchFailures(
  store: BatchStore,
  batchId: string,
  progress: BatchProgress,
): Promise<BatchFailure[]> {
  const all = await store.failures(batchId).catch(() => [] as BatchFailure[]);
  const key = (f: BatchFailure) => f.workflowId ?? `line:${f.line}`;
  const known = new Set(all.map(key));
  for (const f of progress.failures) if (!known.has(key(f))) all.push(f);
  return all.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}

/** `<batchId>.failures.jsonl`: one failure per line: line, workflowId, type, message. */
/** The failures file's lines (JSON Lines): the CLI writes them to `<batchId>.failures.jsonl`, the console serves them. */
export function failuresJsonl(failures: readonly BatchFailure[]): string {
  return failures
    .map(
      (f) =>
        JSON.stringify({ line: f.line ?? null, workflowId: f.workflowId ?? null, type: f.type, message: f.message }) +
        '\n',
    )
    .join('');
}

export async function writeFailuresFile(path: string, failures: readonly BatchFailure[]): Promise<void> {
  await writeFile(path, failuresJsonl(failures));
}
