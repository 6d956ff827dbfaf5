/**
 * Requests per second to Cyclr from this process. Requests are spaced evenly, and a log of the last second's sends
 * caps any one-second window at the rate even after a stall of the event loop (a burst of late timers); the rate
 * is this worker's share of CYCLR_MAX_REQUESTS_PER_SECOND, granted by the cluster-wide lease (rate-lease.ts).
 *
 * A 429 slows the whole load, not one row: every request of the process pauses briefly, the rate is halved and then
 * recovers within a few seconds (the answered request itself waits out its Retry-After, through its retry). 429s that
 * answer requests sent before the last back-off are the same congestion, so they do not compound it.
 */
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

export class RequestRate {
  private perSecond: number | undefined;
  private nextAt = 0;
  private pausedUntil = 0;
  /** Share of the rate in use after 429s: 1 normally. */
  private factor = 1;
  private factorAt = 0;
  private waiters: (() => void)[] = [];
  /** When the load last backed off: 429s to requests sent before it are not news. */
  private backedOffAt = -Infinity;
  /** Send times within the last second (oldest first). */
  private sent: number[] = [];
  /** Requests in acquire(), not yet sent: this process's unmet demand, reported to the lease. */
  private queued = 0;
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
  demand(): { waiting: number; sentLastSecond: number } {
    const now = this.now();
    return { waiting: this.queued, sentLastSecond: this.sent.filter((t) => t > now - 1000).length };
  }

  setRate(perSecond: number | undefined): void {
    this.perSecond = perSecond;
    if (perSecond !== 0) this.wake();
  }

  /** Resolves when this request may be sent. */
  async acquire(): Promise<void> {
    this.queued += 1;
    try {
      await this.waitForSlot();
    } finally {
      this.queued -= 1;
    }
  }

  private async waitForSlot(): Promise<void> {
    let slot = this.reserve();
    for (;;) {
      if (this.perSecond === 0) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        slot = this.reserve();
        continue;
      }
      // A 429 came while this request waited: queue again behind the pause, paced at the reduced rate.
      if (slot < this.pausedUntil) slot = this.reserve();
      const now = this.now();
      const at = Math.max(slot, this.windowFreeAt(now, this.current));
      if (at <= now) {
        if (this.perSecond !== undefined) this.sent.push(now);
        return;
      }
      await sleep(at - now);
    }
  }

  /** The next paced slot: evenly spaced at the current rate, never inside a pause. */
  private reserve(): number {
    const now = this.now();
    const rate = this.current;
    const at = Math.max(now, this.pausedUntil, rate ? this.nextAt : 0);
    if (rate) this.nextAt = at + 1000 / rate;
    return at;
  }

  /** When the last second's sends leave room for one more at `rate`. */
  private windowFreeAt(now: number, rate: number | undefined): number {
    while (this.sent.length && this.sent[0]! <= now - 1000) this.sent.shift();
    if (rate === undefined) return 0;
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
  }

  private recoveredFactor(): number {
    if (this.factor >= 1) return 1;
    const seconds = Math.max(0, this.now() - this.factorAt) / 1000;
    return Math.min(1, this.factor * RECOVERY_PER_SECOND ** seconds);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
