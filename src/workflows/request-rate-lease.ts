/**
 * cyclrRequestRate: shares CYCLR_MAX_REQUESTS_PER_SECOND among the workers of a task queue, by demand. Each worker
 * asks for a lease every few seconds (update `lease`), reporting its demand, and spaces its requests at the rate
 * granted. The limit is divided max-min fair: a worker that uses little gets what it uses plus headroom (an idle one
 * a small floor, so its first requests need not wait for a renewal), and the workers whose requests queue share the
 * rest equally. A grant never exceeds what the others do not hold, so the sum of grants stays within the limit
 * while shares move: a worker whose share grew gets it once the others have renewed at their smaller ones. A worker
 * that stops renewing loses its grant at the lease's expiry; one that shuts down releases it at once.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { Failure, failure } from '../contract/failures.js';
import {
  LEASE_TTL_MS,
  leaseUpdate,
  releaseSignal,
  PAUSED_HOLD_MS,
  SHRINK_HOLD_MS,
  type Lease,
  type LeaseRequest,
} from '../contract/request-rate.js';

export interface Grant {
  rate: number;
  limit: number;
  expiresAt: number;
  /** Its demand at its last renewal (absent: limit-bound). */
  demand?: LeaseRequest['demand'];
  /**
   * A grant that shrank still counts at its old rate for a while: the worker may have sent at it within the last
   * second when it learns of the new one, and that second must not be handed to another worker twice. One hold per
   * cut, each ending a moment after its own cut (PAUSED_HOLD_MS or SHRINK_HOLD_MS): a second cut does not stretch
   * the first's.
   */
  holds?: { rate: number; until: number }[];
}

/** What a grant may still be spending now. */
function held(g: Grant, now: number): number {
  return Math.max(g.rate, ...(g.holds ?? []).filter((h) => h.until > now).map((h) => h.rate));
}

/** An idle worker keeps this share of the limit (at least 0.2/s): enough to start, little taken from the busy. */
export const IDLE_FLOOR_SHARE = 0.01;
/** A worker that is not limit-bound is granted what it used in the last second times this. */
export const HEADROOM = 1.25;

/** What a worker would use if granted it: unbounded while its requests queue, else its recent use plus headroom. */
function want(g: Pick<Grant, 'demand'>, limit: number): number {
  if (!g.demand || g.demand.waiting > 0) return Infinity;
  // The last quarter second's use, where reported, follows a load that just left at once; the last second lags it.
  // Idle requests' use is not a want: they take what is left (withIdleLeftover).
  const { sentLastSecond, sentLastQuarter, idle } = g.demand;
  const use =
    sentLastQuarter === undefined
      ? sentLastSecond - (idle?.sentLastSecond ?? 0)
      : (sentLastQuarter - (idle?.sentLastQuarter ?? 0)) * 4;
  return Math.max(Math.max(0.2, limit * IDLE_FLOOR_SHARE), use * HEADROOM);
}

/** Max-min fair shares of `limit`: the smallest wants are met first, the rest is split equally among the others. */
export function fairShares(wants: Record<string, number>, limit: number): Record<string, number> {
  const ids = Object.keys(wants).sort((a, b) => wants[a]! - wants[b]! || (a < b ? -1 : 1));
  const shares: Record<string, number> = {};
  let left = limit;
  ids.forEach((id, i) => {
    const share = Math.min(wants[id]!, left / (ids.length - i));
    shares[id] = share;
    left -= share;
  });
  return shares;
}

/**
 * What no limit-bound worker takes goes to the workers whose idle requests (lane `idle`) wait, in equal parts: those
 * are the first to wait, so they never take a share from work, but they need not wait on an unused budget either.
 */
function withIdleLeftover(
  shares: Record<string, number>,
  workers: [string, Pick<Grant, 'demand'>][],
  limit: number,
): Record<string, number> {
  const left = limit - Object.values(shares).reduce((a, b) => a + b, 0);
  // Idle requests waiting, refused or sent in the last second: a lane whose checks go through still wants its room.
  const wantsIdle = ({ demand }: Pick<Grant, 'demand'>) =>
    (demand?.idle?.waiting ?? 0) + (demand?.idle?.sentLastSecond ?? 0) > 0;
  const idle = workers.filter(([id, g]) => wantsIdle(g) && id in shares).map(([id]) => id);
  if (left <= 1e-9 || !idle.length) return shares;
  const out = { ...shares };
  for (const id of idle) out[id]! += left / idle.length;
  return out;
}

/** The pure rule, testable on its own: the worker's fair share by demand, capped by what the others hold now. */
export function grant(grants: Record<string, Grant>, request: LeaseRequest, now: number): Lease {
  for (const [id, g] of Object.entries(grants)) if (g.expiresAt <= now) delete grants[id];
  const others = Object.entries(grants).filter(([id]) => id !== request.workerId);
  const limit = Math.min(request.limit, ...others.map(([, g]) => g.limit));
  const wants: Record<string, number> = { [request.workerId]: want(request, limit) };
  for (const [id, g] of others) wants[id] = want(g, limit);
  const target = withIdleLeftover(fairShares(wants, limit), [[request.workerId, request], ...others], limit)[
    request.workerId
  ]!;
  const heldByOthers = others.reduce((sum, [, g]) => sum + held(g, now), 0);
  const rate = Math.max(0, Math.min(target, limit - heldByOthers));
  const before = grants[request.workerId];
  // A cut is held a moment from now: the worker's last second of sends (at most the old rate) must not be handed to
  // another worker twice. Each cut has its own hold; renewals at the cut rate add none, so they do not extend it.
  const spent = request.pausedWhileAsking && request.demand ? request.demand.sentLastSecond : before?.rate;
  const cut =
    before && rate < before.rate && spent !== undefined && spent > rate
      ? {
          rate: Math.min(before.rate, spent),
          until: now + (request.pausedWhileAsking ? PAUSED_HOLD_MS : SHRINK_HOLD_MS),
        }
      : undefined;
  const holds = [...(before?.holds ?? []).filter((h) => h.until > now), ...(cut ? [cut] : [])];
  grants[request.workerId] = {
    rate,
    limit: request.limit,
    expiresAt: now + LEASE_TTL_MS,
    ...(request.demand ? { demand: request.demand } : {}),
    ...(holds.length ? { holds } : {}),
  };
  return { rate, target, ttlMs: LEASE_TTL_MS, workers: others.length + 1 };
}

export async function cyclrRequestRate(carried: Record<string, Grant> = {}): Promise<void> {
  const grants = carried;
  setHandler(leaseUpdate, (request) => grant(grants, request, Date.now()), {
    validator: (request) => {
      if (!request?.workerId || !(typeof request.limit === 'number' && request.limit > 0)) {
        throw failure(Failure.InvalidRequest, 'lease needs { workerId, limit } with a positive limit');
      }
      if (request.pausedWhileAsking !== undefined && typeof request.pausedWhileAsking !== 'boolean') {
        throw failure(Failure.InvalidRequest, 'lease pausedWhileAsking must be true or false');
      }
      const d = request.demand;
      const numbers = d && [d.waiting, d.sentLastSecond, d.sentLastQuarter ?? 0].every((n) => Number.isFinite(n));
      if (d !== undefined && !numbers) {
        throw failure(
          Failure.InvalidRequest,
          'lease demand needs { waiting, sentLastSecond, sentLastQuarter? } as numbers',
        );
      }
    },
  });
  setHandler(releaseSignal, (release) => {
    if (typeof release?.workerId === 'string') delete grants[release.workerId];
  });
  // Runs for as long as workers renew; a fresh run carries the grants, so no worker's share lapses meanwhile.
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000);
  await condition(allHandlersFinished);
  await continueAsNew<typeof cyclrRequestRate>(grants);
}
