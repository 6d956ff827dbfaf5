/** The messages of cyclrRequestRate, the workflow that shares CYCLR_MAX_REQUESTS_PER_SECOND among workers. */
import { defineUpdate } from '@temporalio/workflow';

export interface LeaseRequest {
  workerId: string;
  /** Requests per second this worker is configured with; the smallest among live workers applies. */
  limit: number;
}

export interface Lease {
  /** Requests per second this worker may send until it renews. */
  rate: number;
  /** Its fair share: renew soon while `rate` is below it. */
  target: number;
  /** The grant lapses this long after it was given unless renewed. */
  ttlMs: number;
  workers: number;
}

export const leaseUpdate = defineUpdate<Lease, [LeaseRequest]>('lease');

export const LEASE_TTL_MS = 10_000;

export function requestRateWorkflowId(taskQueue: string): string {
  return `cyclr-request-rate:${taskQueue}`;
}
