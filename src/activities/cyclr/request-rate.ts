/**
 * Requests per second to Cyclr from this process. Requests are spaced evenly, and a log of the last second's sends
 * caps any one-second window at the rate even after a stall of the event loop (a burst of late timers); the rate
 * is this worker's share of CYCLR_MAX_REQUESTS_PER_SECOND, granted by the cluster-wide lease (rate-lease.ts).
 *
 * A 429 slows the whole load, not one row: every request of the process pauses briefly, the rate is halved and then
 * recovers within a few seconds (the answered request itself waits out its Retry-After, through its retry). 429s that
 * answer requests sent before the last back-off are the same congestion, so they do not compound it.
 *
 * Three lanes share the rate: a request a person waits on (a click's sign-in token, the checks right after it) goes
 * ahead of the queue; the work (installs, links) queues first come first served; an idle request (a consent check
 * nobody is waiting on) only goes when nothing else waits, and gives up after a short wait instead of holding its
 * activity slot, so on a busy budget idle checks are the first to wait.
 */
import type { Lane, LeaseRequest } from '../../contract/request-rate.js';

type Demand = Required<NonNullable<LeaseRequest['demand']>>;

export interface RequestRateOptions {
  /** Requests per second; undefined: no limit (429s still pause everyone). 0: wait until a rate is granted. */
  perSecond?: number;
  /** Pause after a 429 without Retry-After (at most the usual brief pause). Default 1 s. */
  defaultPauseMs?: number;
  now?: () => number;
}

/** Every request waits this long (at most Retry-After) after a 429. */
const PAUSE_MS = 250;
/** After a 429 the rate is halved, then grows by this factor each second back to the full rate. */
const RECOVERY_PER_SECOND = 1.5;
const MIN_FACTOR = 0.1;
/**
 * A timer that fires late (a busy event loop) may send the requests it owes at once, up to this much of them; the
 * last second's log still caps any one-second window at the rate.
 */
const CATCH_UP_MS = 250;
/**
 * Requests are spaced this much below the rate, for the jitter between our send and Cyclr's count; the last second's
 * log caps any one-second window at the rate itself (whole requests).
 */
const SPACING = 0.95;
/**
 * Idle requests wait for a turn at most this long, and at most this many at once; the others are refused at once:
 * an idle check that waits holds an activity slot, which a click's check may need.
 */
export const IDLE_TURN_WAIT_MS = 1000;
/** A request must leave the queue this long before its activity's deadline: the answer takes time too. */
const SEND_MARGIN_MS = 500;

/** The queue would hold a request past its activity's deadline: it is not queued (see acquire). */
export class QueueTooLong extends Error {
  constructor(readonly waitMs: number) {
    super(`about ${Math.ceil(waitMs / 1000)} s of requests queue ahead under the rate`);
  }
}
const IDLE_WAITING_MAX = 8;

export class RequestRate {
  private perSecond: number | undefined;
  private pausedUntil = 0;
  /** Share of the rate in use after 429s: 1 normally. */
  private factor = 1;
  private factorAt = 0;
  /** When the load last backed off: 429s to requests sent before it are not news. */
  private backedOffAt = -Infinity;
  /** Send times within the last second (oldest first). */
  private sent: number[] = [];
  /** The next send's place on the evenly spaced grid; late timers may catch up a little (CATCH_UP_MS), no more. */
  private nextAt = 0;
  private lastSentAt = -Infinity;
  private validUntil = Infinity;
  /**
   * Requests waiting their turn, first come first served. No slot is reserved ahead: the head is let go when the
   * rate in force then allows, so a rate raised by the lease speeds up the requests already waiting.
   */
  private queue: (() => void)[] = [];
  /** Requests a person waits on: let go before the queue. */
  private urgent: (() => void)[] = [];
  /** Idle requests waiting for a turn (whenIdle): let go only when neither queue waits. */
  private idle: ((turn: boolean) => void)[] = [];
  /** When idle requests were refused a turn, and when they had one, within the last second. */
  private idleRefused: number[] = [];
  private idleSent: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly defaultPauseMs: number;

  constructor(options: RequestRateOptions = {}) {
    this.perSecond = options.perSecond;
    this.now = options.now ?? Date.now;
    this.defaultPauseMs = options.defaultPauseMs ?? 1000;
  }

  /** The rate in force now (undefined: unlimited). */
  get current(): number | undefined {
    return this.perSecond === undefined ? undefined : this.perSecond * this.recoveredFactor();
  }

  /** What this process asks of the shared budget now (rate-lease.ts reports it). */
  demand(): Demand {
    const now = this.now();
    const within = (times: number[], ms: number) => times.filter((t) => t > now - ms).length;
    this.idleRefused = this.idleRefused.filter((t) => t > now - 1000);
    this.idleSent = this.idleSent.filter((t) => t > now - 1000);
    return {
      waiting: this.waiting,
      sentLastSecond: within(this.sent, 1000),
      sentLastQuarter: within(this.sent, 250),
      idle: {
        waiting: this.idle.length + this.idleRefused.length,
        sentLastSecond: this.idleSent.length,
        sentLastQuarter: within(this.idleSent, 250),
      },
    };
  }

  /** `validUntil`: the rate may be spent until then (a lease's expiry); after it, requests wait for the next. */
  setRate(perSecond: number | undefined, validUntil = Infinity): void {
    this.perSecond = perSecond;
    this.validUntil = validUntil;
    // The next send moves to the new spacing at once, a raised rate included. Sends a pause held back (a renewal
    // under way) are not owed: caught up together, they would go out as a burst.
    const rate = this.current;
    if (rate) this.nextAt = Math.max(this.pausedUntil, this.lastSentAt + 1000 / (rate * SPACING), this.now());
    this.pump();
  }

  /** Stops spending the current rate at `until` unless setRate() renews it first (a renewal under way). */
  spendUntil(until: number): void {
    this.validUntil = Math.min(this.validUntil, until);
    this.pump();
  }

  /**
   * Resolves when this request may be sent; a person's request goes ahead of the work already queued. `deadline`:
   * the request's activity must be done by then, so a queue that would keep it past that refuses it at once
   * (QueueTooLong) rather than send it after its activity gave up, to be sent again by the retry. `signal`: the
   * activity was cancelled (or timed out): the request leaves the queue unsent.
   */
  acquire(
    lane: Exclude<Lane, 'idle'> = 'work',
    bounds: { deadline?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const { deadline, signal } = bounds;
    const waitMs = this.expectedWaitMs(lane);
    if (deadline !== undefined && this.now() + waitMs > deadline - SEND_MARGIN_MS) {
      return Promise.reject(new QueueTooLong(waitMs));
    }
    return new Promise<void>((resolve, reject) => {
      // Time spent idle is not owed: only a late timer may catch up.
      if (!this.waiting) this.nextAt = Math.max(this.nextAt, this.now());
      const lineOf = lane === 'person' ? this.urgent : this.queue;
      const leave = () => {
        const at = lineOf.indexOf(go);
        if (at >= 0) lineOf.splice(at, 1);
        reject(signal?.reason ?? new Error('cancelled'));
      };
      const go = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      if (signal?.aborted) return leave();
      signal?.addEventListener('abort', leave, { once: true });
      lineOf.push(go);
      this.pump();
    });
  }

  /**
   * How long a request queued now in `lane` would wait at the rate in force (0 with no limit; no estimate while no
   * rate is granted yet, or a grant lapsed: the next one comes within moments).
   */
  private expectedWaitMs(lane: Exclude<Lane, 'idle'>): number {
    const rate = this.current;
    if (!rate || this.now() >= this.validUntil) return 0;
    const ahead = lane === 'person' ? this.urgent.length : this.waiting;
    const from = Math.max(this.now(), this.nextAt, this.pausedUntil);
    return from - this.now() + (ahead * 1000) / (rate * SPACING);
  }

  /**
   * An idle request's turn: true once no other request waits and one could be sent now (then acquire() as usual,
   * which goes at once), false when none came within `maxWaitMs` or enough idle requests wait already. It holds no
   * place: whatever else arrives meanwhile goes first.
   */
  whenIdle(maxWaitMs = IDLE_TURN_WAIT_MS): Promise<boolean> {
    if (this.idle.length >= IDLE_WAITING_MAX) return Promise.resolve(this.refuseIdle());
    return new Promise<boolean>((resolve) => {
      const waiter = (turn: boolean) => {
        clearTimeout(giveUp);
        resolve(turn);
      };
      const giveUp = setTimeout(() => {
        this.idle = this.idle.filter((w) => w !== waiter);
        resolve(this.refuseIdle());
      }, maxWaitMs);
      this.idle.push(waiter);
      this.pump();
    });
  }

  private refuseIdle(): false {
    this.idleRefused.push(this.now());
    return false;
  }

  private get waiting(): number {
    return this.urgent.length + this.queue.length;
  }

  /** Lets waiting requests go while the rate allows (a person's first), and sets one timer for the next. */
  private pump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiting) {
      const now = this.now();
      const at = this.nextSendAt(now);
      if (at === Infinity) return; // no rate granted: setRate() pumps again
      if (at > now) {
        this.timer = setTimeout(() => this.pump(), at - now);
        return;
      }
      const rate = this.current;
      if (rate !== undefined) {
        // A send the last second's cap held back starts the grid afresh: the sends that cap frees at once would
        // otherwise catch up together, a burst that the cap then repeats every second.
        const heldByCap = this.windowFreeAt(rate) > this.nextAt;
        this.sent.push(now);
        this.nextAt = (heldByCap ? now : Math.max(this.nextAt, now - CATCH_UP_MS)) + 1000 / (rate * SPACING);
      }
      this.lastSentAt = now;
      (this.urgent.shift() ?? this.queue.shift())!();
    }
    this.idleTurn();
  }

  /**
   * Nothing else waits: the next idle request may go if a send could go now. One at a time: its acquire() (a
   * microtask later) takes the send, and pumps again for the next.
   */
  private idleTurn(): void {
    if (!this.idle.length) return;
    const now = this.now();
    const at = this.nextSendAt(now);
    if (at === Infinity) return;
    if (at > now) {
      this.timer = setTimeout(() => this.pump(), at - now);
      return;
    }
    this.idleSent.push(now);
    this.idle.shift()!(true);
  }

  /** When the next request may go: after any pause, spaced at the current rate, within the last second's cap. */
  private nextSendAt(now: number): number {
    if (this.perSecond === 0 || now >= this.validUntil) return Infinity;
    const rate = this.current;
    const at = Math.max(now, this.pausedUntil);
    if (rate === undefined) return at;
    while (this.sent.length && this.sent[0]! <= now - 1000) this.sent.shift();
    const next = Math.max(at, this.nextAt, this.windowFreeAt(rate));
    return next < this.validUntil ? next : Infinity;
  }

  /** When the last second's log has room for one more send at `rate`. */
  private windowFreeAt(rate: number): number {
    const cap = Math.max(1, Math.floor(rate));
    return this.sent.length < cap ? 0 : this.sent[this.sent.length - cap]! + 1000;
  }

  /** Cyclr answered 429 to a request sent at `sentAt`: back off everyone, once per congestion. */
  throttled(retryAfterMs: number | undefined, sentAt = this.now()): void {
    if (sentAt < this.backedOffAt) return;
    const now = this.now();
    this.backedOffAt = now;
    this.pausedUntil = Math.max(this.pausedUntil, now + Math.min(PAUSE_MS, retryAfterMs ?? this.defaultPauseMs));
    this.factor = Math.max(MIN_FACTOR, this.recoveredFactor() / 2);
    this.factorAt = this.pausedUntil;
    this.nextAt = Math.max(this.nextAt, this.pausedUntil);
    this.pump();
  }

  private recoveredFactor(): number {
    if (this.factor >= 1) return 1;
    const seconds = Math.max(0, this.now() - this.factorAt) / 1000;
    return Math.min(1, this.factor * RECOVERY_PER_SECOND ** seconds);
  }
}
