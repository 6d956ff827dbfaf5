/**
 * provisionConnector's long waits on the time-skipping test server: the real default 14-day consent window, the
 * 2-day reminders, and continue-as-new during the wait. Weeks of workflow time pass in seconds. Everything is
 * observed the way callers observe it: the `status` query, the `consentCompleted` signal, the `issueAuthUrl`
 * update, the events POSTed to `notifyUrl`, and the result.
 */
import type { AuthUrl, ProvisioningResult } from '../../src/contract/messages.js';
import { startWorkflowTestEnv, type WorkflowTestEnv } from '../support/time-skipping.js';
import { OAUTH_CONNECTOR } from './fake-cyclr.js';
import { failureOf, Provisionings } from './provisionings.js';

let t: WorkflowTestEnv;
let p: Provisionings;
beforeAll(async () => {
  t = await startWorkflowTestEnv();
  p = new Provisionings(t);
});
afterAll(() => t?.close());

test('consent nobody gives expires after the default 14 days, with a reminder every 2 days until then', async () => {
  await t.withWorker(async (taskQueue) => {
    const { handle, accountId, workflowId } = await p.start(taskQueue);
    const waiting = await p.reach(handle, 'awaiting-consent');
    expect(waiting.consentLink).toMatch(/^http:\/\/gateway\.test\/connect\//);

    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('ConsentExpired');
    expect(failure.message).toMatch(/no consent within 14d/);

    const days = p.daysSinceConsentRequested(workflowId);
    expect(p.events(workflowId, 'provisioning.reminder').map(days)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(p.events(workflowId, 'provisioning.expired').map(days)).toEqual([14]);
    expect(days({ timestamp: waiting.consentExpiresAt! })).toBe(14);

    const final = await p.status(handle);
    expect(final.stage).toBe('expired');
    expect(final.lastError?.type).toBe('ConsentExpired');
    // Cyclr was asked about consent all along (every 10 minutes by default), and what was installed is removed.
    expect(t.cyclr.calls.get('getAccountConnector')).toBeGreaterThan(1900);
    expect(t.cyclr.connectorsOf(accountId)).toEqual([]);
    expect(t.cyclr.removed).toContainEqual({ accountId, accountConnectorId: waiting.accountConnectorId });
  });
});

test('across continue-as-new the consent link, the deadline and the reminder schedule carry over', async () => {
  await t.withWorker(async (taskQueue) => {
    // Checks every 6 hours rather than 10 minutes keep this run short; the consent window and reminders are the
    // defaults, and a low history threshold makes the workflow continue as new many times on the way.
    const { handle, workflowId } = await p.start(taskQueue, {
      options: { continueAsNewAfterEvents: 30 },
      timeouts: { checkEvery: '6h' },
    });
    const before = await p.reach(handle, 'awaiting-consent');
    const firstRun = (await handle.describe()).runId;

    await t.env.sleep('3d');
    const later = t.env.client.workflow.getHandle(workflowId);
    const after = await p.status(later);
    expect((await later.describe()).runId).not.toBe(firstRun);
    expect(after).toMatchObject({
      stage: 'awaiting-consent',
      consentLink: before.consentLink,
      consentExpiresAt: before.consentExpiresAt,
      accountConnectorId: before.accountConnectorId,
    });
    expect(after.history[0]?.stage).toBe('resolving-connector');

    const failure = await failureOf(later.result());
    expect(failure.type).toBe('ConsentExpired');
    const days = p.daysSinceConsentRequested(workflowId);
    expect(p.events(workflowId, 'provisioning.reminder').map(days)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(p.events(workflowId, 'provisioning.expired').map(days)).toEqual([14]);
    expect(p.events(workflowId, 'provisioning.consent_requested')).toHaveLength(1);
  });
});

test('after continue-as-new the link still mints a Cyclr URL, and consent completes the provisioning', async () => {
  await t.withWorker(async (taskQueue) => {
    const { handle, accountId, workflowId } = await p.start(taskQueue, { options: { continueAsNewAfterEvents: 100 } });
    const before = await p.reach(handle, 'awaiting-consent');
    const firstRun = (await handle.describe()).runId;
    await t.env.sleep('1d');
    const later = t.env.client.workflow.getHandle(workflowId);
    expect((await later.describe()).runId).not.toBe(firstRun);

    const auth = await later.executeUpdate<AuthUrl, [object]>('issueAuthUrl', { args: [{}] });
    expect(new URL(auth.url).searchParams.get('id')).toBe(String(before.accountConnectorId));

    t.cyclr.approve(accountId, before.accountConnectorId!);
    await later.signal('consentCompleted', { source: 'callback' });
    const result = await later.result();
    expect(result).toMatchObject({
      accountConnectorId: before.accountConnectorId,
      connectorId: OAUTH_CONNECTOR.Id,
      authenticated: true,
    } satisfies Partial<ProvisioningResult>);
    expect((await p.status(later)).stage).toBe('completed');
    expect(p.events(workflowId, 'provisioning.completed')).toHaveLength(1);
  });
});
