/**
 * The worker's side of the cluster-wide request rate: renews its lease from the cyclrRequestRate workflow every
 * couple of seconds, reporting its demand (requests queued, requests sent in the last second), and sets the process's
 * RequestRate to the grant. It renews at once when requests start or stop queueing here, so load that moves between
 * workers moves its share within a renewal or two. Until the first grant arrives, and after a grant
 * lapses without renewal, the rate is 0 (requests wait), so the workers together never exceed the limit. Stopped
 * (the worker shutting down), it releases its share so the other workers get it at once, not at the lease's expiry.
 */
import { randomUUID } from 'node:crypto';
import { Client, WithStartWorkflowOperation, type ConnectionLike } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { leaseUpdate, releaseSignal, requestRateWorkflowId, type Lease } from '../../contract/request-rate.js';
import type { cyclrRequestRate } from '../../workflows/request-rate-lease.js';
import type { RequestRate } from './request-rate.js';

export interface RateLeaseOptions {
  connection: ConnectionLike;
  /** The worker's, so the lease's messages are encoded as every other payload is. */
  dataConverter?: DataConverter;
  namespace: string;
  taskQueue: string;
  limit: number;
  rate: RequestRate;
  renewEveryMs?: number;
  onError?: (err: unknown) => void;
}

export interface RateLease {
  /** Stops renewing (a renewal in flight is abandoned: no worker may be left to answer it) and releases the share. */
  stop(): Promise<void>;
}

/** The lease's tasks take milliseconds; a few seconds leaves room for a loaded worker. */
const LEASE_TASK_TIMEOUT = '2s';
/** A renewal not answered by then is abandoned; the worker pauses meanwhile, so a retry soon is what counts. */
const RENEW_TIMEOUT_MS = 2_000;

export function startRateLease(options: RateLeaseOptions): RateLease {
  const client = new Client({
    connection: options.connection,
    namespace: options.namespace,
    dataConverter: options.dataConverter,
  });
  const workerId = `${process.pid}-${randomUUID()}`;
  const renewEveryMs = options.renewEveryMs ?? 1_500;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lapsesAt = 0;
  let reported = options.rate.demand();
  let renewing: Promise<void> | undefined;
  let renewAt = 0;
  const abandon = new AbortController();
  const workflowId = requestRateWorkflowId(options.taskQueue);
  options.rate.setRate(0);

  const renew = async (): Promise<void> => {
    // The grant runs from when it was asked for: an answer that was slow to come must not extend it.
    const askedAt = Date.now();
    // The lease may cut this grant and hand the rest to another worker a moment after it answers, counting on this
    // worker to send nothing meanwhile (pausedWhileAsking): it pauses until the answer. Answers take milliseconds, so
    // the pause costs about one request's spacing at most.
    options.rate.spendUntil(askedAt);
    let lease: Lease | undefined;
    try {
      // A renewal stuck on a dead worker (the lease's next task still held for it) is given up and asked again.
      const signal = AbortSignal.any([abandon.signal, AbortSignal.timeout(RENEW_TIMEOUT_MS)]);
      lease = await client.withAbortSignal(signal, () =>
        client.workflow.executeUpdateWithStart(leaseUpdate, {
          args: [
            { workerId, limit: options.limit, demand: (reported = options.rate.demand()), pausedWhileAsking: true },
          ],
          startWorkflowOperation: new WithStartWorkflowOperation<typeof cyclrRequestRate>('cyclrRequestRate', {
            workflowId,
            taskQueue: options.taskQueue,
            workflowIdConflictPolicy: 'USE_EXISTING',
            // A task taken by a worker that then died is retried after this, not the default 10 s: every worker's
            // requests wait on the lease's answers (temporalio/temporal#5063: a task on a dead sticky worker).
            workflowTaskTimeout: LEASE_TASK_TIMEOUT,
            args: [{}],
          }),
        }),
      );
    } catch (err) {
      if (!stopped) options.onError?.(err);
    }
    if (stopped) return;
    const now = Date.now();
    if (lease && askedAt + lease.ttlMs > now) {
      lapsesAt = askedAt + lease.ttlMs;
      options.rate.setRate(lease.rate, lapsesAt);
    } else if (now >= lapsesAt) {
      // No answer: the lease may have shrunk this grant anyway, so it stays paused (spendUntil) until one comes.
      options.rate.setRate(0);
    }
    // Ask again at the next tick while below its fair share (the rest comes free as another worker's hold ends), soon
    // while shares may move (no answer; or, with other workers, limit-bound, so a share another gives back is taken
    // quickly, or above an equal split, which another worker's new load would cut), else every renewEveryMs.
    const belowShare = lease !== undefined && lease.rate < lease.target * 0.999;
    const unsettled =
      !lease ||
      (lease.workers > 1 &&
        (reported.waiting > 0 || reported.idle.waiting > 0 || lease.rate > options.limit / lease.workers));
    renewAt = Date.now() + (belowShare ? 0 : unsettled ? 500 : renewEveryMs);
  };
  const startRenewal = () => {
    renewing = renew().finally(() => (renewing = undefined));
  };
  // Every 250 ms: renew when due, or at once when the load changes: requests start to queue here while none did at
  // the last renewal, or the load the last renewal reported has left (nothing waiting, nothing sent for a quarter
  // second): the share goes back.
  const tick = () => {
    if (stopped) return;
    const demand = options.rate.demand();
    const startedQueueing =
      (reported.waiting === 0 && demand.waiting > 0) || (reported.idle.waiting === 0 && demand.idle.waiting > 0);
    const loadLeft =
      (reported.waiting > 0 || reported.sentLastQuarter > 0 || reported.idle.waiting > 0) &&
      demand.waiting === 0 &&
      demand.sentLastQuarter === 0 &&
      demand.idle.waiting === 0;
    if (!renewing && (Date.now() >= renewAt || startedQueueing || loadLeft)) startRenewal();
    // Never what keeps a process alive: the worker's own shutdown decides that.
    timer = setTimeout(tick, 250).unref();
  };
  startRenewal();
  tick();
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      abandon.abort();
      await renewing;
      options.rate.setRate(0);
      try {
        await client.workflow.getHandle(workflowId).signal(releaseSignal, { workerId });
      } catch (err) {
        options.onError?.(err);
      }
    },
  };
}
