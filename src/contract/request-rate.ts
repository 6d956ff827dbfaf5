/** The messages of cyclrRequestRate, the workflow that shares CYCLR_MAX_REQUESTS_PER_SECOND among workers. */
import { defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Who waits on a Cyclr request, for its place under the rate: a person (a click's sign-in token, the checks just
 * after a click: they go first), the work (installs, links: first come first served), or nobody (an idle consent
 * check, a periodic connection check: they go only when nothing else waits, and give way unsent when no turn comes).
 */
export type Lane = 'person' | 'work' | 'idle';

export interface LeaseRequest {
  workerId: string;
  /** Requests per second this worker is configured with; the smallest among live workers applies. */
  limit: number;
  /**
   * What this worker's load asks for now: requests waiting for a slot, and requests sent in the last second. A worker
   * with requests waiting is limit-bound and shares the budget; one without gets what it uses plus headroom (or a
   * small floor). Absent (older workers): treated as limit-bound, the equal share of before.
   */
  demand?: {
    waiting: number;
    sentLastSecond: number;
    /** Sent in the last quarter second: shows a load that just left sooner than the last second does. */
    sentLastQuarter?: number;
    /**
     * The idle lane's part of it (requests nobody waits on, e.g. idle consent checks): `waiting` counts those waiting
     * for a turn or refused one in the last second, and the sends are included in the figures above too. Idle
     * requests get what the limit-bound workers leave, never a share of their own. Absent (older workers): none.
     */
    idle?: { waiting: number; sentLastSecond: number; sentLastQuarter: number };
  };
  /**
   * This worker sends nothing from asking until it has the answer, so a cut need hold only what it sent in the second
   * before it asked (`demand.sentLastSecond`), for PAUSED_HOLD_MS. Absent (older workers spend their old rate for up
   * to a second after asking): the old rate is held for SHRINK_HOLD_MS.
   */
  pausedWhileAsking?: boolean;
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

/**
 * A worker shutting down hands its share back at once rather than at its lease's expiry. A signal, not an update:
 * the server takes it with no worker polling (the last one may be the one stopping).
 */
export const releaseSignal = defineSignal<[{ workerId: string }]>('release');

/** Short enough that a dead worker's share returns within 10 s (it lapses, then the others renew). */
export const LEASE_TTL_MS = 6_000;
/**
 * A grant that shrank still counts at its old rate this long after the lease answered: the one-second window, plus
 * a second for the answer to reach the worker (a worker whose answer is slower pauses meanwhile). Shorter, a
 * busy lease's slower answers paused the workers that asked most often: those whose share was growing.
 */
export const SHRINK_HOLD_MS = 2_000;
/**
 * The hold of a cut for a worker that paused while asking: what it sent before it asked leaves the one-second window
 * a second after it asked, and the lease answers after that; a quarter second more for the jitter of arrivals.
 */
export const PAUSED_HOLD_MS = 1_250;

export function requestRateWorkflowId(taskQueue: string): string {
  return `cyclr-request-rate:${taskQueue}`;
}
