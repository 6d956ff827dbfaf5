/**
 * How often a waiting provisioning asks Cyclr, on the time-skipping test server: weeks of workflow time in seconds.
 * Idle checks back off from `timeouts.checkEvery` to `timeouts.checkEveryMax`; a reminder sent restarts the gap; a
 * click on the consent link, or a `consentCompleted` signal Cyclr does not confirm yet, makes checks brisk. Cyclr
 * requests are counted where they arrive (the in-memory Cyclr behind the real activities), each with the server's
 * time, per provisioning.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { AuthUrl } from '../../src/contract/messages.js';
import { startWorkflowTestEnv, type WorkflowTestEnv } from '../support/time-skipping.js';
import { Provisionings } from './provisionings.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let t: WorkflowTestEnv;
let p: Provisionings;
beforeAll(async () => {
  t = await startWorkflowTestEnv();
  p = new Provisionings(t);
});
afterAll(() => t?.close());

// A run left waiting with no worker would hold the test server's clock (a task nobody takes stops time-skipping).
const started: WorkflowHandle[] = [];
afterEach(async () => {
  for (const handle of started.splice(0)) await handle.terminate('test over').catch(() => undefined);
});

/** The account's Cyclr requests (every kind), by server time. */
function requestTimes(accountId: string, method?: string): number[] {
  return t.cyclr
    .requestsOf(accountId)
    .filter((r) => method === undefined || r.method === method)
    .map((r) => r.at);
}

function consentRequestedAt(workflowId: string): number {
  const [requested] = p.events(workflowId, 'provisioning.consent_requested');
  if (!requested) throw new Error(`${workflowId} never requested consent`);
  return Date.parse(requested.timestamp);
}

/** Gaps between consecutive times, in minutes. */
const gapsInMinutes = (times: number[], from: number) =>
  times.map((at, i) => Math.round((at - (times[i - 1] ?? from)) / MIN));

test('waiting 14 days with nobody there: at most 12 Cyclr requests a day after the first day (default schedule)', async () => {
  await t.withWorker(async (taskQueue) => {
    // Default checkEvery, checkEveryMax and reminders (which restart the gap: the worst case); a consent window
    // longer than the 14 days watched.
    const { handle, accountId, workflowId } = await p.start(taskQueue, { timeouts: { consent: '30d' } });
    started.push(handle);
    const waiting = await p.reach(handle, 'awaiting-consent');
    expect(waiting.timeouts).toEqual({ consent: '30d', reminderEvery: '2d', checkEvery: '10m', checkEveryMax: '6h' });
    expect(waiting.consentChecks?.gap).toBe('10m');

    await t.env.sleep(14 * DAY + HOUR);
    const status = await p.status(handle);
    expect(status.stage).toBe('awaiting-consent');
    expect(status.remindersSent).toBe(7); // days 2, 4, ..., 14
    // The day-14 reminder restarted the gap an hour ago: checks at +10m and +30m, the next 40m after that.
    expect(status.consentChecks?.gap).toBe('40m');

    const start = consentRequestedAt(workflowId);
    const perDay = new Array<number>(14).fill(0);
    for (const at of requestTimes(accountId)) {
      const day = Math.floor((at - start) / DAY);
      if (day >= 0 && day < 14) perDay[day]! += 1;
    }
    console.log(
      `Cyclr requests per waiting provisioning per day (checkEvery 10m, checkEveryMax 6h, reminder every 2d), ` +
        `days 0-13: ${perDay.join(' ')}; max after day 0: ${Math.max(...perDay.slice(1))} (target <= 12; ` +
        `without back-off: 144)`,
    );
    expect(Math.max(...perDay.slice(1))).toBeLessThanOrEqual(12);
    // Checks did go on every day: a lost callback is still noticed.
    expect(Math.min(...perDay)).toBeGreaterThanOrEqual(4);
    // Every one of them is a check of Authenticated (nobody clicked: no sign-in tokens).
    expect(requestTimes(accountId, 'createSignInToken')).toEqual([]);
    expect(status.attempts).toBe(requestTimes(accountId, 'getAccountConnector').length);

    await handle.signal('cancel', { reason: 'test done' });
    await handle.result().catch(() => undefined);
  });
});

test('the back-off carries across continue-as-new: runs that go on as new keep the gap they had reached', async () => {
  await t.withWorker(async (taskQueue) => {
    // A low history threshold: the wait continues as new every few checks.
    const { handle, accountId, workflowId } = await p.start(taskQueue, {
      options: { continueAsNewAfterEvents: 30 },
      timeouts: { consent: '30d', reminderEvery: '10d' },
    });
    started.push(handle);
    await p.reach(handle, 'awaiting-consent');
    const firstRun = (await handle.describe()).runId;
    await t.env.sleep(4 * DAY);
    const later = t.env.client.workflow.getHandle(workflowId);
    started.push(later);
    expect((await later.describe()).runId).not.toBe(firstRun);
    expect((await p.status(later)).consentChecks?.gap).toBe('6h');
    const start = consentRequestedAt(workflowId);
    const days = [1, 2, 3].map(
      (d) => requestTimes(accountId).filter((at) => at >= start + d * DAY && at < start + (d + 1) * DAY).length,
    );
    expect(days).toEqual([4, 4, 4]);
  });
});

test('a reminder sent restarts the gap at checkEvery; a click makes checks brisk and notices consent in seconds', async () => {
  await t.withWorker(async (taskQueue) => {
    const { handle, accountId, workflowId } = await p.start(taskQueue, { timeouts: { consent: '30d' } });
    started.push(handle);
    const waiting = await p.reach(handle, 'awaiting-consent');
    const start = consentRequestedAt(workflowId);

    // Backed off to 6h before the first reminder (day 2); restarted at 10m by it, doubling again.
    await t.env.sleep(2 * DAY + 6 * HOUR);
    const [reminder] = p.events(workflowId, 'provisioning.reminder');
    expect(reminder).toBeDefined();
    const remindedAt = Date.parse(reminder!.timestamp);
    expect(Math.round((remindedAt - start) / MIN)).toBe(2 * 24 * 60);
    const checks = requestTimes(accountId, 'getAccountConnector');
    const before = checks.filter((at) => at < remindedAt);
    expect(gapsInMinutes(before.slice(-2), 0)[1]).toBe(6 * 60);
    expect(gapsInMinutes(checks.filter((at) => at > remindedAt).slice(0, 5), remindedAt)).toEqual([
      10, 20, 40, 80, 160,
    ]);

    // Later, backed off again: a click on the consent link (issueAuthUrl) turns checks brisk at once.
    await t.env.sleep('1d');
    expect((await p.status(handle)).consentChecks?.gap).toBe('6h');
    const auth = await handle.executeUpdate<AuthUrl, [object]>('issueAuthUrl', { args: [{}] });
    expect(auth.url).toMatch(/connectorauth/);
    const clicked = await p.status(handle);
    expect(clicked.consentChecks).toMatchObject({ gap: '10m', briskUntil: expect.any(String) });
    const clickAt = Date.parse(clicked.consentChecks!.briskUntil!) - 15 * MIN;
    // Every 2 s for the first minute (consent-checks.ts), where the next check was hours away.
    expect(Date.parse(clicked.consentChecks!.nextAt) - clickAt).toBeLessThan(MIN);

    // The customer approves at Cyclr; nothing reaches us (the popup flow): a brisk check notices within seconds.
    t.cyclr.approve(accountId, waiting.accountConnectorId!);
    const result = await handle.result();
    const noticedAfter = Date.parse(result.completedAt) - clickAt;
    console.log(`after a click, consent given at once was noticed by a check ${noticedAfter / 1000} s later`);
    // Seconds (2 s apart, plus this busy machine's real time), where the idle schedule had 6 hours.
    expect(noticedAfter).toBeLessThan(15_000);
    const final = await p.status(handle);
    expect(final.history.at(-2)?.note).toMatch(/periodic check/);
    expect(final.consentChecks).toBeUndefined(); // only while waiting
  });
});

test('a consentCompleted signal Cyclr does not confirm yet makes the checks that follow brisk, as a click does', async () => {
  await t.withWorker(async (taskQueue) => {
    const { handle, accountId } = await p.start(taskQueue, {
      timeouts: { consent: '30d', checkEvery: '5m', checkEveryMax: '2h' },
    });
    started.push(handle);
    const waiting = await p.reach(handle, 'awaiting-consent');
    expect(waiting.timeouts).toMatchObject({ checkEvery: '5m', checkEveryMax: '2h' });
    await t.env.sleep('1d');
    expect((await p.status(handle)).consentChecks?.gap).toBe('2h');

    const checksBefore = requestTimes(accountId, 'getAccountConnector').length;
    await handle.signal('consentCompleted', { source: 'callback' });
    // The hint is checked at once; Cyclr says not yet, so the provisioning waits again, checking briskly.
    const back = await waitFor(async () => {
      const s = await p.status(handle);
      return s.stage === 'awaiting-consent' && s.lastError?.type === 'ConsentNotConfirmed' ? s : undefined;
    }, 'the unconfirmed hint');
    expect(requestTimes(accountId, 'getAccountConnector').length).toBeGreaterThan(checksBefore);
    expect(back.consentChecks).toMatchObject({ gap: '5m', briskUntil: expect.any(String) });
    const hintAt = Date.parse(back.consentChecks!.briskUntil!) - 15 * MIN;
    expect(Date.parse(back.consentChecks!.nextAt) - hintAt).toBeLessThan(MIN);

    // Cyclr catches up a moment later: the next brisk check completes it, no second signal needed.
    t.cyclr.approve(accountId, waiting.accountConnectorId!);
    const result = await handle.result();
    expect(Date.parse(result.completedAt) - hintAt).toBeLessThan(15_000);
  });
});

/** Polls (queries do not advance workflow time) until `probe` answers. */
async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
