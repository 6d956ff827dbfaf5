/** The workflows' pure bookkeeping, tested directly (no server): the consent wait's clock and a batch's counts. */
import { ConsentWait } from '../src/workflows/consent-wait.js';
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
    wait.reminded();
    expect(wait.reminderDue(t0 + DAY)).toBe(false);
    expect(wait.reminderDue(t0 + 2 * DAY)).toBe(true);
    wait.reminded();
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
    expect(wait.takeHint()).toBe('callback');
    expect(wait.takeHint()).toBeUndefined();
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
