/**
 * The worker's side of the cluster-wide request rate: renews its lease from the cyclrRequestRate workflow every
 * few seconds and sets the process's RequestRate to the grant. Until the first grant arrives, and after a grant
 * lapses without renewal, the rate is 0 (requests wait), so the workers together never exceed the limit.
 */
import { randomUUID } from 'node:crypto';
import { Client, WithStartWorkflowOperation, type ConnectionLike } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { leaseUpdate, requestRateWorkflowId, type Lease } from '../../contract/request-rate.js';
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
  /** Rates stay below the limit by this share, for the jitter between our send and Cyclr's count. */
  margin?: number;
  renewEveryMs?: number;
  onError?: (err: unknown) => void;
}

export interface RateLease {
  stop(): void;
}

export function startRateLease(options: RateLeaseOptions): RateLease {
  const client = new Client({
    connection: options.connection,
    namespace: options.namespace,
    dataConverter: options.dataConverter,
  });
  const workerId = `${process.pid}-${randomUUID()}`;
  const margin = options.margin ?? 0.95;
  const renewEveryMs = options.renewEveryMs ?? 2_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lapsesAt = 0;
  options.rate.setRate(0);

  const renew = async (): Promise<void> => {
    let lease: Lease | undefined;
    try {
      lease = await client.workflow.executeUpdateWithStart(leaseUpdate, {
        args: [{ workerId, limit: options.limit }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof cyclrRequestRate>('cyclrRequestRate', {
          workflowId: requestRateWorkflowId(options.taskQueue),
          taskQueue: options.taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [{}],
        }),
      });
    } catch (err) {
      options.onError?.(err);
    }
    if (stopped) return;
    const now = Date.now();
    if (lease) {
      lapsesAt = now + lease.ttlMs;
      options.rate.setRate(lease.rate * margin);
    } else if (now >= lapsesAt) {
      options.rate.setRate(0);
    }
    // Below its fair share (another worker still holds it): ask again soon.
    const next = lease && lease.rate < lease.target ? 250 : renewEveryMs;
    // Never what keeps a process alive: the worker's own shutdown decides that.
    timer = setTimeout(() => void renew(), next).unref();
  };
  void renew();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
