/**
 * The consent wait's clock: its deadline, the next reminder, the last click on the consent link and the last check
 * with Cyclr, and the hint (signal, callback) that wakes it. Pure bookkeeping on workflow time passed in: no I/O, no
 * clock of its own, testable without a server. The schedule of checks is consent-checks.ts.
 */
import { msToNumber } from '@temporalio/common';
import { DEFAULT_TIMEOUTS, type ProvisioningRequest } from '../contract/request.js';
import { nextCheckAt } from './consent-checks.js';

/** What a run carries of the clock across continue-as-new (v1 carries the first two only). */
export interface ConsentClock {
  consentDeadline: number;
  nextReminderAt: number;
  lastClickAt?: number;
  lastCheckAt?: number;
}

export class ConsentWait {
  /** The request's timeouts, defaults filled in (durations as written, for messages). */
  readonly timeouts: Required<NonNullable<ProvisioningRequest['timeouts']>>;
  private deadlineAt: number;
  private reminderAt: number;
  private clickAt?: number;
  private checkAt?: number;
  private hintFrom?: string;

  constructor(timeouts: ProvisioningRequest['timeouts'], carried?: ConsentClock) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...timeouts };
    this.deadlineAt = carried?.consentDeadline ?? 0;
    this.reminderAt = carried?.nextReminderAt ?? 0;
    this.clickAt = carried?.lastClickAt;
    this.checkAt = carried?.lastCheckAt;
  }

  /** The wait begins: the deadline and the first reminder count from now. */
  begin(now: number): { expiresAt: string } {
    this.deadlineAt = now + msToNumber(this.timeouts.consent);
    this.reminderAt = now + msToNumber(this.timeouts.reminderEvery);
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

  /** When the next check with Cyclr is due: the slow schedule, or briskly after a click. */
  nextCheckAt(now: number): number {
    return nextCheckAt({
      now,
      lastClickAt: this.clickAt,
      lastCheckAt: this.checkAt,
      checkEveryMs: msToNumber(this.timeouts.checkEvery),
    });
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

  /** A reminder went out (or would have): the next one is due a period later. */
  reminded(): void {
    this.reminderAt += msToNumber(this.timeouts.reminderEvery);
  }

  /** A click on the consent link: the customer may approve within seconds, so checks turn brisk for a while. */
  clicked(now: number): void {
    this.clickAt = now;
  }

  checked(now: number): void {
    this.checkAt = now;
  }

  hinted(source: string): void {
    this.hintFrom = source;
  }

  /** The hint, taken: the next one is news again. */
  takeHint(): string | undefined {
    const hint = this.hintFrom;
    this.hintFrom = undefined;
    return hint;
  }

  carried(): ConsentClock {
    return {
      consentDeadline: this.deadlineAt,
      nextReminderAt: this.reminderAt,
      lastClickAt: this.clickAt,
      lastCheckAt: this.checkAt,
    };
  }
}
