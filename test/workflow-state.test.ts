/** The workflows' pure bookkeeping, tested directly (no server): the consent wait's clock and a batch's counts. */
import { ConsentWait, idleChecksByDay } from '../src/workflows/consent-wait.js';
import { BRISK_WINDOW_MS, checksForUnapprovedClick } from '../src/workflows/consent-checks.js';
import { BatchState, outcomeOf } from '../src/workflows/batch-state.js';
import type { BatchRequest } from '../src/contract/batch-messages.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t0 = 1_800_000_000_000;

describe('the consent wait', () => {
  test('expires at its deadline and reminds on its period, never at or after the deadline', () => {
    const wait = new ConsentWait({ consent: '3d', reminderEvery: '1d', checkEvery: '1h' });
    expect(wait.begin(t0).expiresAt).toBe(new Date(t0 + 3 * DAY).toISOString());
    expect(wait.reminderDue(t0 + DAY - 1)).toBe(false);
    expect(wait.reminderDue(t0 + DAY)).toBe(true);
    wait.reminded(t0 + DAY, false);
    expect(wait.reminderDue(t0 + DAY)).toBe(false);
    expect(wait.reminderDue(t0 + 2 * DAY)).toBe(true);
    wait.reminded(t0 + 2 * DAY, false);
    expect(wait.reminderDue(t0 + 3 * DAY)).toBe(false); // the third reminder would fall on the deadline
    expect(wait.expired(t0 + 3 * DAY - 1)).toBe(false);
    expect(wait.expired(t0 + 3 * DAY)).toBe(true);
  });

  test('sleeps until the first of deadline, reminder and check; a click makes the next check brisk', () => {
    const wait = new ConsentWait({ consent: '14d', reminderEvery: '2d', checkEvery: '10m' });
    wait.begin(t0);
    const checkAt = wait.nextCheckAt(t0);
    expect(checkAt).toBe(t0 + 10 * 60_000);
    expect(wait.sleepFor(t0, checkAt)).toBe(10 * 60_000);
    expect(wait.checkDue(checkAt - 1, checkAt)).toBe(false);
    expect(wait.checkDue(checkAt, checkAt)).toBe(true);
    wait.clicked(t0 + 1000);
    expect(wait.lastClickAt).toBe(t0 + 1000);
    expect(wait.nextCheckAt(t0 + 1000)).toBe(t0 + 3000);
    // Nothing is due once the wait has expired, whatever the schedule says.
    expect(wait.checkDue(t0 + 15 * DAY, checkAt)).toBe(false);
  });

  test('a consent hint is taken once, and the clock survives continue-as-new', () => {
    const wait = new ConsentWait(undefined);
    wait.begin(t0);
    wait.hinted('callback');
    expect(wait.hint).toBe('callback');
    expect(wait.takeHint(t0)).toBe('callback');
    expect(wait.takeHint(t0)).toBeUndefined();
    wait.clicked(t0 + 5);
    wait.checked(t0 + 9);
    const next = new ConsentWait(undefined, wait.carried());
    expect(next.carried()).toEqual({
      consentDeadline: t0 + 14 * DAY,
      nextReminderAt: t0 + 2 * DAY,
      lastClickAt: t0 + 5,
      lastCheckAt: t0 + 9,
    });
    expect(next.nextCheckAt(t0 + 9)).toBe(wait.nextCheckAt(t0 + 9));
  });
});

describe("the consent wait's idle back-off (v3)", () => {
  const MIN = 60_000;
  const backoff = { backoff: true };

  /** Runs the wait as the workflow does, nobody acting: the times of its checks until `until` (reminders at their times). */
  function idleChecks(wait: ConsentWait, from: number, until: number, remindersSent = false): number[] {
    const checks: number[] = [];
    let now = from;
    for (;;) {
      const checkAt = wait.nextCheckAt(now);
      now += wait.sleepFor(now, checkAt);
      if (now > until || wait.expired(now)) return checks;
      if (wait.reminderDue(now)) wait.reminded(now, remindersSent);
      else if (wait.checkDue(now, checkAt)) {
        checks.push(now);
        wait.checked(now);
      }
    }
  }
  /** Gaps in minutes (a check that meets a reminder runs 1 ms after it, as the workflow's does). */
  const gaps = (times: number[], from: number) => times.map((t, i) => Math.round((t - (times[i - 1] ?? from)) / MIN));

  test('checkEvery is the first gap; each idle check doubles it, up to checkEveryMax, where it stays', () => {
    const wait = new ConsentWait({ consent: '30d', checkEvery: '10m', checkEveryMax: '6h' }, undefined, backoff);
    wait.begin(t0);
    const checks = idleChecks(wait, t0, t0 + 2 * DAY);
    expect(gaps(checks, t0).slice(0, 9)).toEqual([10, 20, 40, 80, 160, 320, 360, 360, 360]);
    expect(wait.checks(checks.at(-1)!)).toEqual({
      gap: '6h',
      nextAt: new Date(checks.at(-1)! + 6 * HOUR).toISOString(),
    });
  });

  test('defaults: 10m doubling to 6h; a checkEvery above 6h with no ceiling of its own is its own ceiling', () => {
    const wait = new ConsentWait(undefined, undefined, backoff);
    expect(wait.timeouts).toEqual({ consent: '14d', reminderEvery: '2d', checkEvery: '10m', checkEveryMax: '6h' });
    wait.begin(t0);
    expect(gaps(idleChecks(wait, t0, t0 + DAY), t0).slice(0, 8)).toEqual([10, 20, 40, 80, 160, 320, 360, 360]);

    const slow = new ConsentWait({ checkEvery: '12h' }, undefined, backoff);
    expect(slow.timeouts.checkEveryMax).toBe('12h');
    slow.begin(t0);
    expect(gaps(idleChecks(slow, t0, t0 + 3 * DAY + HOUR), t0)).toEqual([720, 720, 720, 720, 720, 720]);
  });

  test('a reminder sent restarts the gap at checkEvery, counted from the reminder; one with no receiver does not', () => {
    const timeouts = { consent: '30d', reminderEvery: '2d', checkEvery: '10m', checkEveryMax: '6h' };
    const sent = new ConsentWait(timeouts, undefined, backoff);
    sent.begin(t0);
    const reminder = t0 + 2 * DAY;
    const afterReminder = idleChecks(sent, t0, reminder + DAY, true).filter((t) => t > reminder);
    expect(gaps(afterReminder, reminder).slice(0, 7)).toEqual([10, 20, 40, 80, 160, 320, 360]);

    const unsent = new ConsentWait(timeouts, undefined, backoff);
    unsent.begin(t0);
    const noReceiver = idleChecks(unsent, t0, reminder + DAY, false);
    const around = noReceiver.filter((t) => t > reminder - 6 * HOUR && t < reminder + 6 * HOUR);
    expect(gaps(around.slice(1), around[0]!)).toEqual([360]);
  });

  test('a click makes checks brisk (2 s) and restarts the idle gap; after the brisk window it backs off again', () => {
    const wait = new ConsentWait({ consent: '30d', checkEvery: '10m', checkEveryMax: '6h' }, undefined, backoff);
    wait.begin(t0);
    const before = idleChecks(wait, t0, t0 + DAY);
    const click = before.at(-1)! + HOUR;
    wait.clicked(click);
    expect(wait.nextCheckAt(click)).toBe(click + 2_000);
    expect(wait.checks(click)).toMatchObject({
      gap: '10m',
      briskUntil: new Date(click + BRISK_WINDOW_MS).toISOString(),
    });
    const after = idleChecks(wait, click, click + DAY);
    const brisk = after.filter((t) => t < click + BRISK_WINDOW_MS);
    expect(brisk.length).toBe(checksForUnapprovedClick(10 * MIN).checks); // the brisk schedule of consent-checks.ts
    const slowAfter = after.filter((t) => t >= click + BRISK_WINDOW_MS);
    expect(gaps(slowAfter, brisk.at(-1)!).slice(0, 7)).toEqual([10, 20, 40, 80, 160, 320, 360]);
  });

  test('a consent hint Cyclr did not confirm makes the checks that follow brisk too, as a click does', () => {
    const wait = new ConsentWait({ consent: '30d', checkEvery: '10m', checkEveryMax: '6h' }, undefined, backoff);
    wait.begin(t0);
    const last = idleChecks(wait, t0, t0 + DAY).at(-1)!;
    const hintAt = last + HOUR;
    wait.hinted('callback');
    expect(wait.takeHint(hintAt)).toBe('callback');
    wait.checked(hintAt); // the hint's own check, at once
    expect(wait.nextCheckAt(hintAt)).toBe(hintAt + 2_000);
    expect(wait.checks(hintAt)?.gap).toBe('10m');
  });

  test('v2 keeps its schedule: every checkEvery, whatever checkEveryMax, reminders and hints say', () => {
    const wait = new ConsentWait({ consent: '30d', reminderEvery: '1d', checkEvery: '10m' });
    wait.begin(t0);
    const checks = idleChecks(wait, t0, t0 + 3 * DAY, true);
    expect(new Set(gaps(checks, t0).filter((g, i) => i > 0 && checks[i - 1]! % DAY !== t0 % DAY))).toEqual(
      new Set([10]),
    );
    expect(wait.checks(t0)).toBeUndefined();
    expect(wait.carried()).not.toHaveProperty('checkGapMs');
  });

  test('the gap, its start and the last hint survive continue-as-new; a v2 clock resumed by v3 starts at checkEvery', () => {
    const timeouts = { consent: '30d', checkEvery: '10m', checkEveryMax: '6h' };
    const wait = new ConsentWait(timeouts, undefined, backoff);
    wait.begin(t0);
    const checks = idleChecks(wait, t0, t0 + 5 * HOUR);
    const now = checks.at(-1)!;
    const next = new ConsentWait(timeouts, wait.carried(), backoff);
    expect(next.carried()).toEqual(wait.carried());
    expect(next.nextCheckAt(now)).toBe(wait.nextCheckAt(now));
    expect(next.checks(now)).toEqual(wait.checks(now));

    const v2 = new ConsentWait(timeouts);
    v2.begin(t0);
    v2.checked(t0 + 50 * MIN);
    const resumed = new ConsentWait(timeouts, v2.carried(), backoff);
    expect(resumed.nextCheckAt(t0 + 50 * MIN)).toBe(t0 + 60 * MIN);
    resumed.checked(t0 + 60 * MIN);
    expect(resumed.nextCheckAt(t0 + 60 * MIN)).toBe(t0 + 80 * MIN);
  });

  test('an idle check that gave way to a busy budget did not happen: the gap stays, it is asked again within it, a click asks at once', () => {
    const timeouts = { consent: '30d', checkEvery: '10m', checkEveryMax: '6h' };
    const wait = new ConsentWait(timeouts, undefined, backoff);
    wait.begin(t0);
    const due = wait.nextCheckAt(t0);
    expect(due).toBe(t0 + 10 * MIN);
    expect(wait.checkLane(due)).toBe('idle');
    wait.checked(due);
    wait.deferred(due + 1000, 0.5);
    // Not checked: the gap is still 10 minutes; asked again 75% (jitter 0.5) of the gap, capped at 5 minutes, later.
    expect(wait.checks(due + 1000)).toMatchObject({ gap: '10m', deferred: 1 });
    expect(wait.nextCheckAt(due + 1000)).toBe(due + 1000 + 3.75 * MIN);
    // It survives continue-as-new.
    const next = new ConsentWait(timeouts, wait.carried(), backoff);
    expect(next.nextCheckAt(due + 2000)).toBe(due + 1000 + 3.75 * MIN);
    expect(next.checks(due + 2000)).toMatchObject({ deferred: 1 });
    // A click asks at once as always (2 s later), and the checks after it go ahead of the work.
    next.clicked(due + 60_000);
    expect(next.nextCheckAt(due + 60_000)).toBe(due + 62_000);
    expect(next.checkLane(due + 62_000)).toBe('person');
    // A check that was answered counts as before: the idle gap doubles once the brisk window is over.
    const answered = new ConsentWait(timeouts, undefined, backoff);
    answered.begin(t0);
    answered.checked(t0 + 10 * MIN);
    expect(answered.checks(t0 + 10 * MIN)).toMatchObject({ gap: '20m' });
    expect(answered.checks(t0 + 10 * MIN)?.deferred).toBeUndefined();
  });

  test('a long gap is put off at most 5 minutes by a busy budget', () => {
    const wait = new ConsentWait({ consent: '30d', checkEvery: '6h', checkEveryMax: '6h' }, undefined, backoff);
    wait.begin(t0);
    const due = wait.nextCheckAt(t0);
    wait.checked(due);
    wait.deferred(due, 0.999);
    expect(wait.nextCheckAt(due) - due).toBeLessThanOrEqual(5 * MIN);
    expect(wait.nextCheckAt(due) - due).toBeGreaterThan(4.9 * MIN);
  });

  test('idle days after the first cost at most 12 checks with the defaults, reminders sent or not', () => {
    const withReminders = idleChecksByDay(14, {}, true);
    const without = idleChecksByDay(14, {}, false);
    expect(Math.max(...withReminders.slice(1))).toBeLessThanOrEqual(12);
    expect(Math.max(...without.slice(1))).toBeLessThanOrEqual(12);
    expect(without.slice(1)).toEqual(new Array(13).fill(4)); // 6h apart
    // v2 asked 144 times a day (every 10 minutes).
    expect(withReminders[0]).toBeLessThan(144);
  });
});

describe("a batch's counts", () => {
  const request: BatchRequest = {
    batchId: 'b1',
    rows: 10,
    pageSize: 5,
    rejected: { count: 1, sample: [{ line: 3, type: 'InvalidRow', message: 'bad' }] },
  };
  const consentRow = (line: number) => ({ line, request: { accountId: `a${line}`, connector: { id: 1 } } });

  test('rows run in bulk count as they report, then as their result; consent rows wait for the window', () => {
    const s = BatchState.begin(2, request, new Date(t0).toISOString());
    s.rowsProgressed({ fromRow: 0, completed: 2, failed: 0, inFlight: 3, failures: [] });
    expect(s.progress(request, 'running')).toMatchObject({ total: 11, started: 5, completed: 2, failed: 1 });
    s.rowsDone({
      fromRow: 0,
      takenTo: 5,
      completed: 3,
      failed: 0,
      unstarted: 0,
      consentRows: [consentRow(4), consentRow(5)],
      failures: [],
    });
    expect(s.progress(request, 'running')).toMatchObject({ started: 3, completed: 3, failed: 1, inFlight: 0 });
    expect(s.cursor).toBe(5);
    expect(s.queuedConsentRows).toBe(2);
    expect(s.takeConsentRows(1).map((r) => r.line)).toEqual([4]);
    expect(s.queuedConsentRows).toBe(1);
    s.cancel('stop');
    s.cancel('later reason');
    s.dropConsentRowsIfCancelled();
    expect(s.queuedConsentRows).toBe(0);
    expect(s.progress(request, 'cancelling')).toMatchObject({ notStarted: 5 });
    expect(s.cancelReason).toBe('stop');
  });

  test('a child is counted once: awaiting consent, then its end; a late signal after a check is not news', () => {
    const s = BatchState.begin(2, request, new Date(t0).toISOString());
    s.childStarting('provision:a4:x', 4);
    s.childStarted();
    expect(s.inFlightIds).toEqual(['provision:a4:x']);
    expect(s.settle('provision:a4:x', outcomeOf('awaiting-consent')!, false, 10)).toBe(true);
    expect(s.settle('provision:a4:x', outcomeOf('awaiting-consent')!, false, 10)).toBe(false);
    expect(s.settle('provision:a4:x', outcomeOf('completed')!, false, 10)).toBe(true);
    expect(s.progress(request, 'running')).toMatchObject({ awaitingConsent: 0, completed: 1 });

    s.childStarting('provision:a5:x', 5);
    expect(s.settle('provision:a5:x', outcomeOf('expired')!, true, 10)).toBe(true); // found by a check
    expect(s.settle('provision:a5:x', outcomeOf('expired')!, false, 10)).toBe(false); // its own signal, later
    expect(s.progress(request, 'running').failures).toContainEqual({
      workflowId: 'provision:a5:x',
      line: 5,
      type: 'ConsentExpired',
      message: 'no consent in time',
    });
    expect(s.unrecorded(10)).toHaveLength(1);
    s.recorded(1);
    expect(s.unrecorded(10)).toEqual([]);

    s.childStarting('provision:a6:x', 6);
    s.childNotStarted('provision:a6:x', 6, { type: 'Error', message: 'no' });
    expect(s.isInFlight('provision:a6:x')).toBe(false);
    expect(s.nextRun()).toMatchObject({ version: 2, runs: 2, failed: 3 });
  });
});
