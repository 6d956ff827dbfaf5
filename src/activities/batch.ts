/**
 * The activities of provisionBatch: reading the batch's rows from the store a page at a time, recording failures
 * beside them, and asking Temporal where children stand (for children that existed before this run, or went quiet).
 */
import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { BatchStoreUnavailableError } from '../batch/object-store.js';
import { BatchNotFoundError, BatchPageUnreadableError, type BatchStore } from '../batch/store.js';
import type { BatchRow } from '../contract/batch-messages.js';
import { Failure, failure } from '../contract/failures.js';
import type { BatchFailure } from '../contract/batch-messages.js';
import { statusQuery } from '../contract/messages.js';
import type { Stage } from '../contract/stages.js';

export interface BatchActivityDeps {
  store: BatchStore;
}

export interface BatchItemState {
  workflowId: string;
  /** Undefined while it is running short of awaiting consent (or cannot be read). */
  stage?: Stage;
  error?: { type: string; message: string };
}

/**
 * The batch store's errors as the failures Temporal acts on: a missing batch or a page no key opens fails at once
 * (retrying cannot help: the batch ends, naming why); a store that cannot be reached is retried with back-off, its
 * message kept as the activity's last failure, which is what `batch-status`, the console and `--follow` show.
 */
export function storeFailure(err: unknown): unknown {
  if (err instanceof BatchNotFoundError) return failure(Failure.BatchNotFound, err.message);
  if (err instanceof BatchPageUnreadableError) return failure(Failure.BatchPageUnreadable, err.message);
  if (err instanceof BatchStoreUnavailableError) return failure(Failure.BatchStoreUnavailable, err.message);
  return err;
}

export function createBatchActivities({ store }: BatchActivityDeps) {
  return {
    async readBatchPage({ batchId, page }: { batchId: string; page: number }): Promise<BatchRow[]> {
      try {
        await store.manifest(batchId);
        return await store.readPage(batchId, page);
      } catch (err) {
        throw storeFailure(err);
      }
    },

    async recordBatchFailures({ batchId, failures }: { batchId: string; failures: BatchFailure[] }): Promise<void> {
      await store.appendFailures(batchId, failures).catch((err: unknown) => {
        throw storeFailure(err);
      });
    },

    async describeBatchItems({ workflowIds }: { workflowIds: string[] }): Promise<BatchItemState[]> {
      const { client, cancellationSignal } = Context.current();
      // The SDK adds an 'abort' listener to the call's signal for every gRPC call and never removes it; on the
      // activity's own signal, a few dozen items passed Node's limit of 10 (MaxListenersExceededWarning). So the
      // calls carry a signal of their own, sized to them and dropped with this call, and follow the activity's.
      const calls = new AbortController();
      setMaxListeners(3 * workflowIds.length + 1, calls.signal);
      const cancel = () => calls.abort(cancellationSignal.reason);
      cancellationSignal.addEventListener('abort', cancel, { once: true });
      try {
        return await client.withAbortSignal(calls.signal, () => describeAll(client, workflowIds));
      } finally {
        cancellationSignal.removeEventListener('abort', cancel);
      }
    },
  };
}

/** Where each workflow stands (describe, then its result or status query: at most three calls each). */
function describeAll(client: Client, workflowIds: string[]): Promise<BatchItemState[]> {
  return Promise.all(
    workflowIds.map(async (workflowId): Promise<BatchItemState> => {
      const handle = client.workflow.getHandle(workflowId);
      const { status } = await handle.describe();
      switch (status.name) {
        case 'COMPLETED':
          return { workflowId, stage: 'completed' };
        case 'CANCELLED':
          return { workflowId, stage: 'cancelled' };
        case 'TERMINATED':
          return {
            workflowId,
            stage: 'failed',
            error: { type: Failure.Terminated, message: 'terminated through Temporal' },
          };
        case 'TIMED_OUT':
          return { workflowId, stage: 'failed', error: { type: Failure.TimedOut, message: 'the workflow timed out' } };
        case 'FAILED': {
          const error = await handle.result().then(
            () => ({ type: Failure.Failed, message: 'the provisioning failed' }),
            (err: unknown) =>
              err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure
                ? { type: err.cause.type ?? Failure.Failed, message: err.cause.message }
                : { type: Failure.Failed, message: 'the provisioning failed' },
          );
          return {
            workflowId,
            stage:
              error.type === Failure.ConsentExpired
                ? 'expired'
                : error.type === Failure.Cancelled
                  ? 'cancelled'
                  : 'failed',
            error,
          };
        }
        case 'RUNNING': {
          const current = await handle.query(statusQuery).catch(() => undefined);
          return { workflowId, stage: current?.stage === 'awaiting-consent' ? 'awaiting-consent' : undefined };
        }
        default:
          return { workflowId };
      }
    }),
  );
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
