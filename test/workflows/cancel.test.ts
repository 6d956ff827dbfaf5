/**
 * Cancelling provisionConnector on the time-skipping test server, through the `cancel` signal: mid-install (the
 * install finishes, then is removed) and while awaiting consent (the link stops working).
 */
import { startWorkflowTestEnv, type WorkflowTestEnv } from '../support/time-skipping.js';
import { failureOf, Provisionings } from './provisionings.js';

let t: WorkflowTestEnv;
let p: Provisionings;
beforeAll(async () => {
  t = await startWorkflowTestEnv();
  p = new Provisionings(t);
});
afterAll(() => t?.close());

test('a cancel during the install lets the install finish, then removes what it installed', async () => {
  await t.withWorker(async (taskQueue) => {
    t.cyclr.holdInstalls();
    const { handle, accountId, workflowId } = await p.start(taskQueue);
    await t.cyclr.installStartedPromise();
    await handle.signal('cancel', { reason: 'customer left' });
    // The install is still in Cyclr's hands: cancelling now would leave an account connector nobody knows about.
    expect((await p.status(handle)).stage).toBe('installing');
    t.cyclr.releaseInstalls();

    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('Cancelled');
    expect(failure.message).toBe('customer left');
    const final = await p.status(handle);
    expect(final.stage).toBe('cancelled');
    expect(final.accountConnectorId).toBeDefined();
    expect(t.cyclr.removed).toContainEqual({ accountId, accountConnectorId: final.accountConnectorId });
    expect(t.cyclr.connectorsOf(accountId)).toEqual([]);
    expect(p.events(workflowId, 'provisioning.cancelled')).toHaveLength(1);
    expect(p.events(workflowId, 'provisioning.consent_requested')).toHaveLength(0);
  });
});

test('a cancel while awaiting consent removes the account connector, and the consent link can no longer mint a Cyclr URL', async () => {
  await t.withWorker(async (taskQueue) => {
    // Checks every 6 hours rather than 10 minutes: the 3 days pass in a dozen checks, not 430 (the check cadence is
    // consent-timers' subject; here what matters is a wait long enough for a reminder).
    const { handle, accountId, workflowId } = await p.start(taskQueue, { timeouts: { checkEvery: '6h' } });
    const waiting = await p.reach(handle, 'awaiting-consent');
    await t.env.sleep('3d');
    await handle.signal('cancel', { reason: 'duplicate customer' });

    const failure = await failureOf(handle.result());
    expect(failure).toMatchObject({ type: 'Cancelled', message: 'duplicate customer' });
    expect(t.cyclr.removed).toContainEqual({ accountId, accountConnectorId: waiting.accountConnectorId });
    expect(p.events(workflowId, 'provisioning.reminder')).toHaveLength(1);
    expect(p.events(workflowId, 'provisioning.cancelled')).toHaveLength(1);
    // A click on the link asks the workflow for a Cyclr URL; once cancelled there is nothing left to answer it.
    await expect(handle.executeUpdate('issueAuthUrl', { args: [{}] })).rejects.toThrow();
  });
});
