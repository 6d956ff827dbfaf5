/**
 * cyclrRequestRate: shares CYCLR_MAX_REQUESTS_PER_SECOND among the workers of a task queue. Each worker asks for a
 * lease every few seconds (update `lease`) and spaces its requests at the rate granted. A grant never exceeds what
 * the others do not hold, so the sum of grants stays within the limit even while a worker joins: the newcomer gets
 * its share once the others have renewed at the smaller one. A worker that stops renewing loses its grant at the
 * lease's expiry.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { Failure, failure } from '../contract/failures.js';
import { LEASE_TTL_MS, leaseUpdate, type Lease, type LeaseRequest } from '../contract/request-rate.js';

interface Grant {
  rate: number;
  limit: number;
  expiresAt: number;
}

/** The pure rule, testable on its own: the fair share, capped by what the other workers hold right now. */
export function grant(grants: Record<string, Grant>, request: LeaseRequest, now: number): Lease {
  for (const [id, g] of Object.entries(grants)) if (g.expiresAt <= now) delete grants[id];
  const others = Object.entries(grants).filter(([id]) => id !== request.workerId);
  const limit = Math.min(request.limit, ...others.map(([, g]) => g.limit));
  const workers = others.length + 1;
  const target = limit / workers;
  const held = others.reduce((sum, [, g]) => sum + g.rate, 0);
  const rate = Math.max(0, Math.min(target, limit - held));
  grants[request.workerId] = { rate, limit: request.limit, expiresAt: now + LEASE_TTL_MS };
  return { rate, target, ttlMs: LEASE_TTL_MS, workers };
}

export async function cyclrRequestRate(carried: Record<string, Grant> = {}): Promise<void> {
  const grants = carried;
  setHandler(leaseUpdate, (request) => grant(grants, request, Date.now()), {
    validator: (request) => {
      if (!request?.workerId || !(typeof request.limit === 'number' && request.limit > 0)) {
        throw failure(Failure.InvalidRequest, 'lease needs { workerId, limit } with a positive limit');
      }
    },
  });
  // Runs for as long as workers renew; a fresh run carries the grants, so no worker's share lapses meanwhile.
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000);
  await condition(allHandlersFinished);
  await continueAsNew<typeof cyclrRequestRate>(grants);
}
