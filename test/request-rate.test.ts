/** The request rate and its cluster-wide lease, as pure logic: no server. */
import { QueueTooLong, RequestRate } from '../src/activities/cyclr/request-rate.js';
import {
  LEASE_TTL_MS,
  PAUSED_HOLD_MS,
  SHRINK_HOLD_MS,
  type Lease,
  type LeaseRequest,
} from '../src/contract/request-rate.js';
import { grant as leaseGrant, type Grant } from '../src/workflows/request-rate-lease.js';

/** Acquires `n` slots and returns when each was granted (ms since the start). */
async function sendTimes(rate: RequestRate, n: number): Promise<number[]> {
  const t0 = Date.now();
  return Promise.all(Array.from({ length: n }, () => rate.acquire().then(() => Date.now() - t0)));
}

function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= 1000) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

test('requests are spaced at the rate: no one-second window holds more than the rate', async () => {
  const times = await sendTimes(new RequestRate({ perSecond: 50 }), 80);
  // acquire() resolves at its slot; the time is read a tick later, so one may look a millisecond closer.
  expect(busiestSecond(times)).toBeLessThanOrEqual(51);
  // 80 requests at 50/s take about 1.6 s, not much more.
  expect(Math.max(...times)).toBeGreaterThanOrEqual(1500);
  expect(Math.max(...times)).toBeLessThan(2500);
});

test('a 429 pauses every waiting request, halves the rate, and the load recovers; echoes of it do not compound', async () => {
  const rate = new RequestRate({ perSecond: 100 });
  const first = await sendTimes(rate, 10);
  expect(Math.max(...first)).toBeLessThan(300);
  const sentBefore = Date.now() - 50;
  rate.throttled(1000);
  rate.throttled(1000, sentBefore); // answers a request sent before the back-off: the same congestion
  expect(rate.current).toBe(50);
  const after = await sendTimes(rate, 20);
  expect(Math.min(...after)).toBeGreaterThanOrEqual(230); // nobody went during the pause
  // 20 requests at the reduced, recovering rate: slower than the 200 ms they would take at the full rate.
  expect(Math.max(...after)).toBeGreaterThan(450);
  await new Promise((r) => setTimeout(r, 2500));
  expect(rate.current).toBe(100);
});

test('no rate granted yet (0): requests wait until a grant arrives', async () => {
  const rate = new RequestRate({ perSecond: 0 });
  let sent = false;
  const waiting = rate.acquire().then(() => (sent = true));
  await new Promise((r) => setTimeout(r, 100));
  expect(sent).toBe(false);
  rate.setRate(10);
  await waiting;
  expect(sent).toBe(true);
});

type Grants = Record<string, Grant>;

/**
 * What the workers may be spending now, from the answers they got and what they reported (not from the lease's own
 * bookkeeping). A worker spends its latest answer. One that keeps sending while it asks may still fill its last
 * second at an answer it replaced within the last SHRINK_HOLD_MS; one that pauses while asking (pausedWhileAsking)
 * only with what it sent in the second before it asked.
 */
function spending(grants: Grants, now: number): number {
  return Object.entries(grants).reduce((sum, [id, g]) => {
    if (g.expiresAt <= now) return sum;
    const answers = answered.get(id) ?? [];
    const rates = answers.map((a, i) => {
      if (i === answers.length - 1) return a.rate;
      const next = answers[i + 1]!;
      if (next.sentBeforeAsking === undefined) return next.at > now - SHRINK_HOLD_MS ? a.rate : 0;
      return next.at > now - 1000 ? next.sentBeforeAsking : 0;
    });
    return sum + Math.max(0, ...rates);
  }, 0);
}
const answered = new Map<string, { at: number; rate: number; sentBeforeAsking?: number }[]>();
/** grant(), remembering each answer for spending(). */
function grant(grants: Grants, request: LeaseRequest, now: number): Lease {
  const lease = leaseGrant(grants, request, now);
  const sentBeforeAsking = request.pausedWhileAsking ? request.demand?.sentLastSecond : undefined;
  answered.set(request.workerId, [
    ...(answered.get(request.workerId) ?? []),
    { at: now, rate: lease.rate, ...(sentBeforeAsking === undefined ? {} : { sentBeforeAsking }) },
  ]);
  return lease;
}
beforeEach(() => answered.clear());

test('the lease never grants more than the limit in all, even while workers join and leave', () => {
  const grants: Grants = {};
  const limit = 100;
  let now = 0;
  const lease = (workerId: string, dt: number) => {
    const l = grant(grants, { workerId, limit }, (now += dt));
    expect(spending(grants, now)).toBeLessThanOrEqual(limit + 1e-9);
    return l;
  };
  expect(lease('a', 0)).toMatchObject({ rate: 100, workers: 1 });
  // b joins: a still holds everything, so b gets nothing until a renews at its smaller share.
  expect(lease('b', 100)).toMatchObject({ rate: 0, target: 50, workers: 2 });
  expect(lease('a', 2000).rate).toBe(50);
  // a may have sent at 100/s within the last second: its old rate stays held a moment before b gets it.
  expect(lease('b', 100).rate).toBe(0);
  expect(lease('b', SHRINK_HOLD_MS).rate).toBe(50);
  expect(spending(grants, now)).toBe(limit);
  // b stops renewing: its grant lapses and a may take the whole limit again.
  expect(lease('a', LEASE_TTL_MS + 1)).toMatchObject({ rate: 100, workers: 1 });
});

test("a cut grant's hold ends SHRINK_HOLD_MS after the cut, however often the worker renews at the cut rate", () => {
  const grants: Grants = {};
  const limit = 40;
  let now = 1_000_000;
  const busy = { waiting: 30, sentLastSecond: 10 };
  const renew = (workerId: string, dt: number) => grant(grants, { workerId, limit, demand: busy }, (now += dt));
  renew('a', 0);
  expect(renew('b', 10).rate).toBe(0);
  expect(renew('a', 10).rate).toBe(limit / 2); // the cut: a's 40 is held until now + SHRINK_HOLD_MS
  const cutAt = now;
  // a renews every half second at its cut rate: b's half comes free when the hold ends, not later.
  while (now + 500 < cutAt + SHRINK_HOLD_MS) {
    renew('a', 500);
    expect(renew('b', 0).rate).toBe(0);
  }
  now = cutAt + SHRINK_HOLD_MS;
  expect(renew('a', 0).rate).toBe(limit / 2);
  expect(renew('b', 0).rate).toBe(limit / 2);
});

test('a second cut holds only what the first cut left: what the first gave up comes free on its own schedule', () => {
  const grants: Grants = {};
  const limit = 40;
  let now = 1_000_000;
  const busy = { waiting: 30, sentLastSecond: 10 };
  const renew = (workerId: string, demand: LeaseRequest['demand'], dt: number) => {
    const l = grant(grants, { workerId, limit, demand }, (now += dt));
    expect(spending(grants, now)).toBeLessThanOrEqual(limit + 1e-9);
    return l;
  };
  expect(renew('a', busy, 0).rate).toBe(limit);
  expect(renew('b', busy, 10).rate).toBe(0);
  expect(renew('a', busy, 10).rate).toBe(limit / 2); // first cut: 40 held for SHRINK_HOLD_MS
  const firstCutAt = now;
  // a's load leaves 1.5 s later: a second cut, to its floor.
  expect(renew('a', { waiting: 0, sentLastSecond: 0 }, 1500).rate).toBeLessThan(1);
  // Once the first cut's hold ends, b gets what a may still spend from the second (its 20), not nothing.
  now = firstCutAt + SHRINK_HOLD_MS;
  expect(renew('b', busy, 0).rate).toBeCloseTo(limit / 2);
  // And the rest once the second cut's hold ends too.
  expect(renew('b', busy, 1500).rate).toBeCloseTo(limit - limit * 0.01);
});

test('a worker that pauses while asking: a cut holds what it sent in the second before it asked, for PAUSED_HOLD_MS', () => {
  const grants: Grants = {};
  const limit = 40;
  let now = 1_000_000;
  const renew = (workerId: string, waiting: number, sentLastSecond: number, dt: number) => {
    const l = grant(
      grants,
      { workerId, limit, demand: { waiting, sentLastSecond }, pausedWhileAsking: true },
      (now += dt),
    );
    expect(spending(grants, now)).toBeLessThanOrEqual(limit + 1e-9);
    return l;
  };
  expect(renew('a', 30, 0, 0).rate).toBe(limit);
  expect(renew('b', 30, 0, 10).rate).toBe(0);
  // a is cut to half while it was sending at 38/s: that much is held, for PAUSED_HOLD_MS only.
  expect(renew('a', 30, 38, 1000).rate).toBe(limit / 2);
  expect(renew('b', 30, 0, 10).rate).toBe(limit - 38);
  expect(renew('b', 30, 2, PAUSED_HOLD_MS).rate).toBe(limit / 2);
  // a's load leaves (nothing waiting, 6 sent in the last second): b gets all but those 6 at once, and all but a's
  // idle floor once they have left the window.
  expect(renew('a', 0, 6, 500).rate).toBeCloseTo(7.5);
  expect(renew('b', 30, 19, 10).rate).toBeCloseTo(limit - 7.5);
  expect(renew('a', 0, 0, 1000).rate).toBeCloseTo(limit * 0.01);
  expect(renew('b', 30, 30, PAUSED_HOLD_MS).rate).toBeCloseTo(limit * 0.99);
});

test('the lease shares by demand: idle workers keep a small floor, limit-bound ones share the rest, always <= the limit', () => {
  const grants: Grants = {};
  const limit = 40;
  let now = 1_000_000;
  const idle = { waiting: 0, sentLastSecond: 0 };
  const busy = { waiting: 30, sentLastSecond: 10 };
  const renew = (workerId: string, demand: typeof idle, dt = 50) => {
    const l = grant(grants, { workerId, limit, demand }, (now += dt));
    expect(spending(grants, now)).toBeLessThanOrEqual(limit + 1e-9);
    return l;
  };
  renew('a', idle);
  renew('b', idle);
  renew('c', idle);
  // Load lands on a: it takes all but the idle workers' floors (1% each).
  expect(renew('a', busy)).toMatchObject({ target: limit - 2 * 0.4 });
  expect(renew('a', busy).rate).toBeCloseTo(limit - 0.8);
  // Load on every worker: b and c ask, get what is free at once, and their equal share once a has renewed.
  expect(renew('b', busy).target).toBeCloseTo((limit - 0.4) / 2); // c is still idle
  expect(renew('c', busy).target).toBeCloseTo(limit / 3);
  expect(renew('b', busy).rate).toBeLessThan(1);
  expect(renew('a', busy).rate).toBeCloseTo(limit / 3);
  // What a gave up is free once its last second at the old rate has passed.
  expect(renew('b', busy).rate).toBeLessThan(1);
  expect(renew('b', busy, SHRINK_HOLD_MS).rate).toBeCloseTo(limit / 3);
  expect(renew('c', busy).rate).toBeCloseTo(limit / 3);
  expect(spending(grants, now)).toBeCloseTo(limit);
  // A worker using little (not queueing) is granted its use plus headroom; the others share what remains.
  expect(renew('c', { waiting: 0, sentLastSecond: 4 }).target).toBeCloseTo(5);
  expect(renew('a', busy, SHRINK_HOLD_MS).target).toBeCloseTo((limit - 5) / 2);
  renew('b', busy);
  // c dies: its grant lapses after the lease's TTL (a and b renewed since), and a and b split the whole limit.
  now += LEASE_TTL_MS - 120;
  expect(renew('a', busy).target).toBeCloseTo(limit / 2);
  expect(renew('b', busy).rate).toBeCloseTo(limit / 2);
  expect(renew('a', busy).rate).toBeCloseTo(limit / 2);
  expect(spending(grants, now)).toBeCloseTo(limit);
});

test('idle requests take what limit-bound workers leave: the whole limit alone, the floor beside work, never a share', () => {
  const grants: Grants = {};
  const limit = 40;
  let now = 1_000_000;
  const idleChecks = (sentLastSecond: number) => ({
    waiting: 0,
    sentLastSecond,
    sentLastQuarter: sentLastSecond / 4,
    idle: { waiting: 3, sentLastSecond, sentLastQuarter: sentLastSecond / 4 },
  });
  const busy = { waiting: 30, sentLastSecond: 10, sentLastQuarter: 3 };
  const renew = (workerId: string, demand: LeaseRequest['demand'], dt = 50) => {
    const l = grant(grants, { workerId, limit, demand }, (now += dt));
    expect(spending(grants, now)).toBeLessThanOrEqual(limit + 1e-9);
    return l;
  };
  // Alone, a worker whose only requests are idle ones may spend the whole limit on them.
  expect(renew('a', idleChecks(0)).target).toBeCloseTo(limit);
  // Beside another idle worker that sends nothing, it still takes everything but that one's floor.
  renew('b', { waiting: 0, sentLastSecond: 0, sentLastQuarter: 0 });
  expect(renew('a', idleChecks(30)).target).toBeCloseTo(limit - 0.4);
  // Work queues on b: it takes all but a's floor, however much a's idle checks were sending.
  expect(renew('b', busy, SHRINK_HOLD_MS).target).toBeCloseTo(limit - 0.4);
  expect(renew('a', idleChecks(30)).target).toBeCloseTo(0.4);
  // A worker with work of its own beside its idle checks keeps the work's use plus headroom, not the idle part.
  expect(renew('a', { ...idleChecks(8), sentLastQuarter: 3, sentLastSecond: 12 }).target).toBeCloseTo(
    (3 - 2) * 4 * 1.25,
  );
});

test('a raised rate speeds up the requests already waiting (none keeps a slot reserved at the old rate)', async () => {
  const rate = new RequestRate({ perSecond: 0.5 });
  const times = sendTimes(rate, 20);
  await new Promise((r) => setTimeout(r, 100));
  rate.setRate(100);
  // At 0.5/s the 20 would take 38 s; at 100/s about 0.2 s once raised.
  expect(Math.max(...(await times))).toBeLessThan(1500);
});

test('lanes: a person goes ahead of the queued work; an idle request goes only when nothing else waits', async () => {
  const rate = new RequestRate({ perSecond: 20 });
  const order: string[] = [];
  const work = Array.from({ length: 10 }, (_, i) => rate.acquire().then(() => order.push(`work${i}`)));
  // Queued behind the work: an idle request's turn, and a person's request that comes later still.
  const idle = rate.whenIdle(5000).then((turn) => order.push(`idle:${turn}`));
  await new Promise((r) => setTimeout(r, 60));
  const person = rate.acquire('person').then(() => order.push('person'));
  await Promise.all([...work, idle, person]);
  // The first request went at once; the person went next, before the nine still queued; the idle one went last.
  expect(order[0]).toBe('work0');
  expect(order.indexOf('person')).toBeLessThan(order.indexOf('work2'));
  expect(order.at(-1)).toBe('idle:true');
});

test('lanes: an idle request gives way when no turn comes in time, and no more than 8 wait at once', async () => {
  const rate = new RequestRate({ perSecond: 10 });
  // 30 requests of work at 10/s: the queue is never empty for about 3 s.
  const work = sendTimes(rate, 30);
  const t0 = Date.now();
  const turns = await Promise.all(
    Array.from({ length: 12 }, () => rate.whenIdle(500).then((turn) => ({ turn, after: Date.now() - t0 }))),
  );
  // Eight waited the full half second and were refused; the four beyond them were refused at once.
  expect(turns.filter((t) => t.turn)).toEqual([]);
  expect(turns.filter((t) => t.after >= 490)).toHaveLength(8);
  expect(turns.filter((t) => t.after < 100)).toHaveLength(4);
  expect(Math.max(...(await work))).toBeGreaterThan(2500); // the work was not slowed by them
  // Once the work is done, an idle request gets its turn at once.
  const idleAt = Date.now();
  expect(await rate.whenIdle(500)).toBe(true);
  expect(Date.now() - idleAt).toBeLessThan(150);
});

test('lanes: with no limit an idle request goes at once; with no rate granted it gives way', async () => {
  expect(await new RequestRate().whenIdle(200)).toBe(true);
  expect(await new RequestRate({ perSecond: 0 }).whenIdle(200)).toBe(false);
});

test("a request the queue would hold past its activity's deadline is refused unsent; a cancelled one leaves the queue", async () => {
  const rate = new RequestRate({ perSecond: 10 });
  const work = sendTimes(rate, 20); // about 2 s of work queued
  const deadline = Date.now() + 1000;
  await expect(rate.acquire('work', { deadline })).rejects.toBeInstanceOf(QueueTooLong);
  // A person's request has nothing ahead of it: it goes within the deadline.
  await expect(rate.acquire('person', { deadline })).resolves.toBeUndefined();
  // A queued request whose activity is cancelled leaves the queue, unsent; the one behind it takes its place.
  const cancel = new AbortController();
  const cancelled = rate.acquire('work', { signal: cancel.signal });
  const behind = rate.acquire('work').then(() => Date.now());
  cancel.abort(new Error('activity timed out'));
  await expect(cancelled).rejects.toThrow('activity timed out');
  const lastOfWork = Math.max(...(await work));
  const workDoneAt = Date.now();
  // One slot (about 105 ms at 10/s, spaced at 95%) after the last of the work, not two: the cancelled one took none.
  expect((await behind) - workDoneAt).toBeLessThan(170);
  expect(rate.demand().waiting).toBe(0);
  expect(lastOfWork).toBeGreaterThan(1500);
});
