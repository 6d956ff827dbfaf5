/**
 * The consent wait's clock: its deadline, the next reminder, the last click on the consent link and the last check
 * with Cyclr, the hint (signal, callback) that wakes it, and (v3 on) the idle back-off of checks. Pure bookkeeping
 * on workflow time passed in: no I/O, no clock of its own, testable without a server. The schedule of checks is
 * consent-checks.ts.
 */
import { msToNumber } from '@temporalio/common';
import { DEFAULT_TIMEOUTS, type ProvisioningRequest } from '../contract/request.js';
import type { ConsentChecks } from '../contract/messages.js';
import { BRISK_WINDOW_MS, checkEveryMaxMs, nextCheckAt, nextIdleGapMs } from './consent-checks.js';

/** What a run carries of the clock across continue-as-new (v1 carries the first two only, v2 the first four). */
export interface ConsentClock {
  consentDeadline: number;
  nextReminderAt: number;
  lastClickAt?: number;
  lastCheckAt?: number;
  /** v3: the idle gap between checks now, in ms (absent: `checkEvery`, as a v2 clock resumed by v3 code starts). */
  checkGapMs?: number;
  /** v3: when that gap began (the last check, or a reminder that reset it); absent: the last check. */
  checkGapFrom?: number;
  /** v3: the last consent hint checked (signal, callback); it makes checks brisk as a click does. */
  lastHintAt?: number;
  /** An idle check that gave way to a busy request budget is asked again then (absent: none is put off). */
  checkDeferredUntil?: number;
  /** Idle checks that gave way to a busy request budget in this wait. */
  checksDeferred?: number;
}

/** An idle check that gave way to a busy request budget is asked again within its gap, at most this much later. */
export const DEFER_MAX_MS = 5 * 60_000;

export interface ConsentWaitOptions {
  /** v3 on: idle checks back off from `checkEvery` to `checkEveryMax`; hints make checks brisk. */
  backoff?: boolean;
}

export type ConsentTimeouts = Required<NonNullable<ProvisioningRequest['timeouts']>>;

export class ConsentWait {
  /** The request's timeouts, defaults filled in (durations as written, for messages and `status`). */
  readonly timeouts: ConsentTimeouts;
  private readonly backoff: boolean;
  private readonly everyMs: number;
  private readonly maxMs: number;
  private deadlineAt: number;
  private reminderAt: number;
  private clickAt?: number;
  private checkAt?: number;
  private hintFrom?: string;
  private hintAt?: number;
  private gapMs: number;
  private gapFrom?: number;
  private deferUntil?: number;
  private deferrals: number;
  /** The clock as it was before the check under way: a check that gave way unsent did not happen. */
  private beforeCheck?: { checkAt?: number; gapMs: number; gapFrom?: number };

  constructor(timeouts: ProvisioningRequest['timeouts'], carried?: ConsentClock, options: ConsentWaitOptions = {}) {
    const given = { ...DEFAULT_TIMEOUTS, ...timeouts };
    this.everyMs = msToNumber(given.checkEvery);
    this.maxMs = checkEveryMaxMs(this.everyMs, msToNumber(given.checkEveryMax));
    // A checkEvery above the default ceiling, with no ceiling of its own, is its own ceiling: say so.
    this.timeouts = { ...given, checkEveryMax: this.maxMs === this.everyMs ? given.checkEvery : given.checkEveryMax };
    this.backoff = options.backoff === true;
    this.deadlineAt = carried?.consentDeadline ?? 0;
    this.reminderAt = carried?.nextReminderAt ?? 0;
    this.clickAt = carried?.lastClickAt;
    this.checkAt = carried?.lastCheckAt;
    this.gapMs = carried?.checkGapMs ?? this.everyMs;
    this.gapFrom = carried?.checkGapFrom;
    this.hintAt = carried?.lastHintAt;
    this.deferUntil = carried?.checkDeferredUntil;
    this.deferrals = carried?.checksDeferred ?? 0;
  }

  /** The wait begins: the deadline, the first reminder and (v3) the first check count from now. */
  begin(now: number): { expiresAt: string } {
    this.deadlineAt = now + msToNumber(this.timeouts.consent);
    this.reminderAt = now + msToNumber(this.timeouts.reminderEvery);
    this.restartGap(now);
    return { expiresAt: new Date(this.deadlineAt).toISOString() };
  }

  get deadline(): number {
    return this.deadlineAt;
  }

  get lastClickAt(): number | undefined {
    return this.clickAt;
  }

  /** The source of a consent hint not yet checked (`consentCompleted`), if one came. */
  get hint(): string | undefined {
    return this.hintFrom;
  }

  expired(now: number): boolean {
    return now >= this.deadlineAt;
  }

  /** When the next check with Cyclr is due: the slow schedule (v3: backed off), or briskly after a click (v3: or hint). */
  nextCheckAt(now: number): number {
    const at = this.backoff
      ? nextCheckAt({
          now,
          lastClickAt: this.briskSince,
          lastCheckAt: this.checkAt,
          checkEveryMs: this.gapMs,
          slowFrom: this.gapFrom,
        })
      : nextCheckAt({ now, lastClickAt: this.clickAt, lastCheckAt: this.checkAt, checkEveryMs: this.everyMs });
    return this.deferUntil === undefined ? at : Math.max(at, this.deferUntil);
  }

  /** Who waits on a check now: someone who just clicked (or hinted) goes first; otherwise nobody, and it may wait. */
  checkLane(now: number): 'person' | 'idle' {
    return this.briskAt(now) ? 'person' : 'idle';
  }

  /** How long to sleep (at least 1 ms): until the deadline, the next reminder or the next check, whichever is first. */
  sleepFor(now: number, checkAt: number): number {
    return Math.max(1, Math.min(this.deadlineAt, this.reminderAt, checkAt) - now);
  }

  reminderDue(now: number): boolean {
    return now >= this.reminderAt && now < this.deadlineAt;
  }

  checkDue(now: number, checkAt: number): boolean {
    return now >= checkAt && now < this.deadlineAt;
  }

  /**
   * A reminder's time came: the next one is due a period later. One that was sent (there is a receiver) may bring
   * the customer back, so (v3) checks start again from `checkEvery`.
   */
  reminded(now: number, sent: boolean): void {
    this.reminderAt += msToNumber(this.timeouts.reminderEvery);
    if (sent) this.restartGap(now);
  }

  /** A click on the consent link: the customer may approve within seconds, so checks turn brisk for a while. */
  clicked(now: number): void {
    this.clickAt = now;
    this.deferUntil = undefined;
    this.restartGap(now);
  }

  /** A check with Cyclr found no consent; (v3) an idle one, outside a brisk window, doubles the gap to the next. */
  checked(now: number): void {
    this.beforeCheck = { checkAt: this.checkAt, gapMs: this.gapMs, gapFrom: this.gapFrom };
    this.deferUntil = undefined;
    this.checkAt = now;
    if (!this.backoff) return;
    if (!this.briskAt(now)) this.gapMs = nextIdleGapMs(this.gapMs, this.maxMs);
    this.gapFrom = now;
  }

  /**
   * The idle check under way gave way to a busy request budget, unsent: it did not happen (the gap stays as it was),
   * and it is asked again within the gap, at most DEFER_MAX_MS later; `jitter` in [0, 1) spreads the checks that
   * gave way together. A click or a hint asks at once, as always.
   */
  deferred(now: number, jitter: number): void {
    if (this.beforeCheck) {
      this.checkAt = this.beforeCheck.checkAt;
      this.gapMs = this.beforeCheck.gapMs;
      this.gapFrom = this.beforeCheck.gapFrom;
    }
    this.deferUntil = now + Math.round(Math.min(this.gapMs, DEFER_MAX_MS) * (0.5 + jitter / 2));
    this.deferrals += 1;
  }

  hinted(source: string): void {
    this.hintFrom = source;
  }

  /**
   * The hint, taken: the next one is news again. It is checked at once; (v3) if Cyclr does not confirm it yet, the
   * checks that follow are brisk, as after a click.
   */
  takeHint(now: number): string | undefined {
    const hint = this.hintFrom;
    this.hintFrom = undefined;
    if (hint !== undefined) this.deferUntil = undefined;
    if (hint !== undefined && this.backoff) {
      this.hintAt = now;
      this.restartGap(now);
    }
    return hint;
  }

  /** The schedule as `status` shows it (v3 on; undefined before): the idle gap, the next check, any brisk window. */
  checks(now: number): ConsentChecks | undefined {
    if (!this.backoff || this.gapFrom === undefined) return undefined;
    const since = this.briskSince;
    return {
      gap: formatDuration(this.gapMs),
      nextAt: new Date(Math.min(this.nextCheckAt(now), this.deadlineAt)).toISOString(),
      ...(since !== undefined && this.briskAt(now)
        ? { briskUntil: new Date(since + BRISK_WINDOW_MS).toISOString() }
        : {}),
      ...(this.deferrals ? { deferred: this.deferrals } : {}),
    };
  }

  carried(): ConsentClock {
    return {
      consentDeadline: this.deadlineAt,
      nextReminderAt: this.reminderAt,
      lastClickAt: this.clickAt,
      lastCheckAt: this.checkAt,
      ...(this.backoff ? { checkGapMs: this.gapMs, checkGapFrom: this.gapFrom, lastHintAt: this.hintAt } : {}),
      ...(this.deferUntil !== undefined ? { checkDeferredUntil: this.deferUntil } : {}),
      ...(this.deferrals ? { checksDeferred: this.deferrals } : {}),
    };
  }

  /** The latest click or (v3) checked hint: what the brisk checks count from. */
  private get briskSince(): number | undefined {
    if (!this.backoff || this.hintAt === undefined) return this.clickAt;
    return this.clickAt === undefined ? this.hintAt : Math.max(this.clickAt, this.hintAt);
  }

  private briskAt(now: number): boolean {
    const since = this.briskSince;
    return since !== undefined && now - since < BRISK_WINDOW_MS;
  }

  /** (v3) The gap starts again from `checkEvery`, counted from now. */
  private restartGap(now: number): void {
    if (!this.backoff) return;
    this.gapMs = this.everyMs;
    this.gapFrom = now;
  }
}

/** A gap as a Temporal duration string in the largest unit that divides it ("40m", "6h", "90s"). */
function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Checks with Cyclr per day of a wait nobody acts on (day 0 first), counted by running this clock as the workflow's
 * wait runs it (v3), with a reminder sent at each reminder time when `remindersSent`, so the figure cannot drift from
 * the schedule. Reminders that restart the gap are what keep a day's count above `1d / checkEveryMax`.
 */
export function idleChecksByDay(
  days: number,
  timeouts: Omit<Partial<ConsentTimeouts>, 'consent'>,
  remindersSent: boolean,
): number[] {
  const DAY = 86_400_000;
  const wait = new ConsentWait({ ...timeouts, consent: `${days}d` }, undefined, { backoff: true });
  const perDay = new Array<number>(days).fill(0);
  let now = 0;
  wait.begin(now);
  while (!wait.expired(now)) {
    const checkAt = wait.nextCheckAt(now);
    now += wait.sleepFor(now, checkAt);
    if (wait.reminderDue(now)) wait.reminded(now, remindersSent);
    else if (wait.checkDue(now, checkAt)) {
      perDay[Math.floor(now / DAY)]! += 1;
      wait.checked(now);
    }
  }
  return perDay;
}
