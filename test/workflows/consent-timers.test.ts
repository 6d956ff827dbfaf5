/**
 * provisionConnector's long waits on the time-skipping test server: the real default 14-day consent window, the
 * 2-day reminders, continue-as-new during the wait, and a cancel that arrives mid-install. Weeks of workflow time
 * pass in seconds. Everything is observed the way callers observe it: the `status` query, the `cancel` and
 * `consentCompleted` signals, the `issueAuthUrl` update, the events POSTed to `notifyUrl`, and the result.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ProvisioningEvent } from '../../src/events/types.js';
import type { AuthUrl, ProvisioningResult, ProvisioningStatus } from '../../src/workflows/messages.js';
import { startWorkflowTestEnv, type WorkflowTestEnv } from '../support/time-skipping.js';
import { OAUTH_CONNECTOR } from './fake-cyclr.js';

let t: WorkflowTestEnv;
beforeAll(async () => {
  t = await startWorkflowTestEnv();
});
afterAll(() => t?.close());

let accounts = 0;
function oauthRequest(timeouts?: { checkEvery: string }) {
  const accountId = `acct-${++accounts}`;
  return {
    workflowId: `provision:${accountId}:${OAUTH_CONNECTOR.Name}`,
    request: {
      accountId,
      connector: { name: OAUTH_CONNECTOR.Name },
      oauth: { username: `jo@${accountId}.test`, returnUrl: 'https://app.example.com/done' },
      notifyUrl: t.receiver.eventsUrl,
      ...(timeouts ? { timeouts } : {}),
    },
  };
}

async function start(
  taskQueue: string,
  { options, timeouts }: { options?: { continueAsNewAfterEvents: number }; timeouts?: { checkEvery: string } } = {},
) {
  const { workflowId, request } = oauthRequest(timeouts);
  const handle = await t.env.client.workflow.start('provisionConnector', {
    taskQueue,
    workflowId,
    args: options ? [request, options] : [request],
  });
  return { handle, accountId: request.accountId, workflowId };
}

const status = (handle: WorkflowHandle) => handle.query<ProvisioningStatus>('status');

/** Queries until the provisioning reaches the stage (queries do not advance workflow time). */
async function reach(handle: WorkflowHandle, stage: ProvisioningStatus['stage']): Promise<ProvisioningStatus> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await status(handle).catch(() => undefined);
    if (s?.stage === stage) return s;
    if (Date.now() > deadline) throw new Error(`still "${s?.stage}" after 20 s, waiting for "${stage}"`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function events(workflowId: string, type: string): ProvisioningEvent[] {
  return t.receiver.eventsFor(workflowId, type).map((r) => r.event);
}

/** Workflow time from the consent request to an event, in days, to the minute (a workflow task takes a few ms). */
function daysSinceConsentRequested(workflowId: string): (e: { timestamp: string }) => number {
  const [requested] = events(workflowId, 'provisioning.consent_requested');
  if (!requested) throw new Error(`${workflowId} never requested consent`);
  return (e) => Math.round((Date.parse(e.timestamp) - Date.parse(requested.timestamp)) / 60_000) / (24 * 60);
}

async function failureOf(result: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

test('consent nobody gives expires after the default 14 days, with a reminder every 2 days until then', async () => {
  await t.withWorker(async (taskQueue) => {
    const { handle, accountId, workflowId } = await start(taskQueue);
    const waiting = await reach(handle, 'awaiting-consent');
    expect(waiting.consentLink).toMatch(/^http:\/\/gateway\.test\/connect\//);

    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('ConsentExpired');
    expect(failure.message).toMatch(/no consent within 14d/);

    const days = daysSinceConsentRequested(workflowId);
    expect(events(workflowId, 'provisioning.reminder').map(days)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(events(workflowId, 'provisioning.expired').map(days)).toEqual([14]);
    expect(days({ timestamp: waiting.consentExpiresAt! })).toBe(14);

    const final = await status(handle);
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
    const { handle, workflowId } = await start(taskQueue, {
      options: { continueAsNewAfterEvents: 30 },
      timeouts: { checkEvery: '6h' },
    });
    const before = await reach(handle, 'awaiting-consent');
    const firstRun = (await handle.describe()).runId;

    await t.env.sleep('3d');
    const later = t.env.client.workflow.getHandle(workflowId);
    const after = await status(later);
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
    const days = daysSinceConsentRequested(workflowId);
    expect(events(workflowId, 'provisioning.reminder').map(days)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(events(workflowId, 'provisioning.expired').map(days)).toEqual([14]);
    expect(events(workflowId, 'provisioning.consent_requested')).toHaveLength(1);
  });
});

test('after continue-as-new the link still mints a Cyclr URL, and consent completes the provisioning', async () => {
  await t.withWorker(async (taskQueue) => {
    const { handle, accountId, workflowId } = await start(taskQueue, { options: { continueAsNewAfterEvents: 100 } });
    const before = await reach(handle, 'awaiting-consent');
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
    expect((await status(later)).stage).toBe('completed');
    expect(events(workflowId, 'provisioning.completed')).toHaveLength(1);
  });
});

test('a cancel during the install lets the install finish, then removes what it installed', async () => {
  await t.withWorker(async (taskQueue) => {
    t.cyclr.holdInstalls();
    const { handle, accountId, workflowId } = await start(taskQueue);
    await t.cyclr.installStartedPromise();
    await handle.signal('cancel', { reason: 'customer left' });
    // The install is still in Cyclr's hands: cancelling now would leave an account connector nobody knows about.
    expect((await status(handle)).stage).toBe('installing');
    t.cyclr.releaseInstalls();

    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('Cancelled');
    expect(failure.message).toBe('customer left');
    const final = await status(handle);
    expect(final.stage).toBe('cancelled');
    expect(final.accountConnectorId).toBeDefined();
    expect(t.cyclr.removed).toContainEqual({ accountId, accountConnectorId: final.accountConnectorId });
    expect(t.cyclr.connectorsOf(accountId)).toEqual([]);
    expect(events(workflowId, 'provisioning.cancelled')).toHaveLength(1);
    expect(events(workflowId, 'provisioning.consent_requested')).toHaveLength(0);
  });
});
