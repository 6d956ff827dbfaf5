/**
 * The connection check (issue 22, item 2) against a real Temporal dev server, real worker processes and the Cyclr
 * simulator: the worker makes the schedule, a check costs one Cyclr request per account, each lapse is an event
 * (Standard Webhooks, a stable id), `list --lapsed` shows them, CONNECTION_AUTO_RECONNECT starts reconnects, and a
 * worker killed mid-check loses no account.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { submitBatch } from '../src/batch/batch-client.js';
import { BatchStore } from '../src/batch/store.js';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { batchWorkflowId } from '../src/contract/ids.js';
import {
  connectionCheckScheduleId,
  lapseEventId,
  type ConnectionCheckResult,
} from '../src/contract/connection-check.js';
import { consoleCookie } from './support/console-session.js';
import { startGateway, TEST_READ_TOKEN } from './support/gateway-stack.js';
import { eventually, startTestStack, testEnv, uniqueId, type TestStack } from './support/harness.js';
import { installCount, requestTotal, seedAccounts, setFaults, simulatorStats } from './support/simulator-admin.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const NOTIFY_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const LIST_ROUTE = /^GET \/v1\.0\/account\/connectors$/;

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver?.close());

/** `perAccount` ApiKey provisionings in each of `accounts` new accounts, all completed. */
async function completedConnections(stack: TestStack, accounts: number, perAccount: number) {
  const ids = Array.from({ length: accounts }, () => uniqueId('acct'));
  await seedAccounts(stack.simulator.url, ids);
  const made = await Promise.all(
    ids.flatMap((accountId) =>
      Array.from({ length: perAccount }, async (_, i) => {
        const { workflowId } = await stack.client.start({
          accountId,
          connector: { id: FIXTURE_CONNECTORS.apiKey.id },
          installName: `conn-${i}`,
          authValue: `key-${i}`,
          notifyUrl: receiver.eventsUrl,
        });
        const { accountConnectorId } = await stack.client.result(workflowId);
        return { workflowId, accountId, accountConnectorId };
      }),
    ),
  );
  return { accountIds: ids, connections: made };
}

/** Runs the check now and waits for it to finish; returns its findings and the list requests Cyclr saw for it. */
async function runCheck(stack: TestStack, during?: () => Promise<void>) {
  const listsBefore = requestTotal(await simulatorStats(stack.simulator.url), LIST_ROUTE);
  const previous = await stack.client.lapsedConnections();
  await stack.client.checkConnectionsNow();
  await during?.();
  const check = await eventually(
    async () => {
      const latest = await stack.client.lapsedConnections();
      return latest && latest.startedAt !== previous?.startedAt ? latest : undefined;
    },
    60_000,
    'a finished connection check',
  );
  const lists = requestTotal(await simulatorStats(stack.simulator.url), LIST_ROUTE) - listsBefore;
  return { check, lists };
}

function cli(stack: TestStack, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/provisioner.js', ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...testEnv(stack.options) }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('with the defaults', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('conncheck', { env: { NOTIFY_SIGNING_SECRET: NOTIFY_SECRET } });
  });
  afterAll(() => stack?.stop());

  test('the worker makes the schedule: every 1d unless CONNECTION_CHECK_EVERY says otherwise', async () => {
    const schedule = await stack.client.temporal.schedule
      .getHandle(connectionCheckScheduleId(stack.options.taskQueue))
      .describe();
    expect(schedule.spec.intervals).toMatchObject([{ every: 24 * 3600 * 1000 }]);
    expect(schedule.action).toMatchObject({ workflowType: 'checkConnections', args: [{ autoReconnect: false }] });
    expect(stack.worker.output()).toMatch(/connection check: schedule created, every 24h/);
  });

  test('one Cyclr request per account; each lapse is an event with a stable id, and list --lapsed shows it', async () => {
    const { accountIds, connections } = await completedConnections(stack, 3, 4);
    const [revoked, uninstalled, removed] = [connections[1]!, connections[6]!, connections[11]!];
    stack.simulator.state.markLapsed(revoked.accountConnectorId);
    stack.simulator.state.deleteAccountConnector(uninstalled.accountId, uninstalled.accountConnectorId);
    await stack.client.remove(removed.workflowId); // offboarded: no longer a connection to check

    const { check, lists } = await runCheck(stack);
    expect(check).toMatchObject({ accounts: 3, connections: 11, cyclrRequests: 3, lapsedTotal: 2, failedAccounts: [] });
    expect(lists).toBe(3);
    const byId = new Map(check.lapsed.map((l) => [l.workflowId, l]));
    expect(byId.get(revoked.workflowId)).toMatchObject({
      accountId: revoked.accountId,
      accountConnectorId: revoked.accountConnectorId,
      reason: 'not-authenticated',
    });
    expect(byId.get(uninstalled.workflowId)).toMatchObject({ reason: 'gone' });
    expect(byId.size).toBe(2);
    expect(accountIds).toContain(revoked.accountId);

    const event = await receiver.waitFor(revoked.workflowId, 'provisioning.connection_lapsed');
    new Webhook(NOTIFY_SECRET).verify(event.body, event.headers as Record<string, string>);
    expect(event.event.id).toBe(lapseEventId(byId.get(revoked.workflowId)!));
    expect(event.event.data).toMatchObject({
      workflowId: revoked.workflowId,
      accountId: revoked.accountId,
      accountConnectorId: revoked.accountConnectorId,
    });
    expect(event.body).not.toContain('key-1');
    await receiver.waitFor(uninstalled.workflowId, 'provisioning.connection_lapsed');

    const listed = await cli(stack, ['list', '--lapsed']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('11 connection(s) in 3 account(s); 2 lapsed');
    expect(listed.stdout).toMatch(new RegExp(`${revoked.workflowId}\\s.*not authenticated`));
    expect(listed.stdout).toMatch(new RegExp(`${uninstalled.workflowId}\\s.*no longer at Cyclr`));
    const oneAccount = await cli(stack, ['list', '--lapsed', '--account', revoked.accountId, '--json']);
    expect((JSON.parse(oneAccount.stdout) as ConnectionCheckResult).lapsed.map((l) => l.workflowId)).toEqual([
      revoked.workflowId,
    ]);
    expect((await cli(stack, ['list', '--lapsed', '--stage', 'completed'])).stderr).toContain(
      '--lapsed takes --account only',
    );

    // The console lists them too, for a read-only sign-in as well, each linking to its provisioning.
    const { app, url } = await startGateway(stack.client, testEnv(stack.options));
    try {
      const page = await fetch(`${url}/console/lapsed`, {
        headers: { cookie: await consoleCookie(url, TEST_READ_TOKEN) },
      });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<strong id="lapsed-total">2</strong>');
      expect(html).toContain(`href="/console/provisionings/${encodeURIComponent(revoked.workflowId)}"`);
      expect(html).toContain('no longer at Cyclr');
      expect(html).toContain('href="/console/lapsed"'); // in the navigation
    } finally {
      await app.close();
    }

    // The next check finds the same lapses: the same event ids, so a receiver drops the repeats.
    const again = await runCheck(stack);
    expect(again.check.lapsedTotal).toBe(2);
    const ids = await eventually(async () => {
      const seen = receiver.eventsFor(revoked.workflowId, 'provisioning.connection_lapsed');
      return seen.length === 2 ? seen.map((e) => e.event.id) : undefined;
    });
    expect(new Set(ids).size).toBe(1);

    // Reconnected (the customer consented again), it is no longer lapsed.
    stack.simulator.state.markAuthenticated(revoked.accountConnectorId);
    await stack.client.reconnect(revoked.workflowId);
    await eventually(async () =>
      (await stack.client.status(revoked.workflowId)).stage === 'completed' ? true : undefined,
    );
    const third = await runCheck(stack);
    expect(third.check.lapsed.map((l) => l.workflowId)).toEqual([uninstalled.workflowId]);
  }, 120_000);

  test('an account deleted at Cyclr: each of its connections is lapsed as gone, for the one request', async () => {
    const { accountIds, connections } = await completedConnections(stack, 1, 2);
    stack.simulator.state.deleteAccount(accountIds[0]!);
    const { check } = await runCheck(stack);
    expect(check.failedAccounts).toEqual([]);
    const gone = check.lapsed.filter((l) => l.accountId === accountIds[0]);
    expect(gone.map((l) => [l.workflowId, l.reason]).sort()).toEqual(
      connections.map((c) => [c.workflowId, 'gone']).sort(),
    );
  }, 60_000);

  test('a worker killed while a check runs: every account is checked, once in the result', async () => {
    // The accounts the last check saw (the test before, if it ran), and twelve more.
    const before = (await stack.client.lapsedConnections())?.accounts ?? 0;
    await completedConnections(stack, 12, 1);
    // Slow lists, so the kill lands while accounts are being looked at.
    await setFaults(stack.simulator.url, { accountConnectors: { latencyMs: 1500 } });
    try {
      const { check, lists } = await runCheck(stack, async () => {
        // Killed while Cyclr is answering lists: those looks are lost with the worker and must be done again.
        await eventually(async () =>
          ((await simulatorStats(stack.simulator.url)).inFlight['GET /v1.0/account/connectors'] ?? 0) > 0
            ? true
            : undefined,
        );
        await stack.restartWorker('SIGKILL');
      });
      expect(check.failedAccounts).toEqual([]);
      expect(check.accounts).toBe(before + 12);
      // Lists answered: one per account, plus any the dead worker got an answer to but never reported (at most the
      // 10 looked at together). Those cut off at the kill are not answered, so not counted.
      expect(lists).toBeGreaterThanOrEqual(check.accounts);
      expect(lists).toBeLessThanOrEqual(check.accounts + 10);
      console.log(`connection check under a worker kill: ${check.accounts} accounts, ${lists} list requests`);
    } finally {
      await setFaults(stack.simulator.url, {});
    }
  }, 120_000);
});

describe('CONNECTION_AUTO_RECONNECT=true, CONNECTION_CHECK_EVERY=1h', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('conncheck-auto', {
      env: { CONNECTION_AUTO_RECONNECT: 'true', CONNECTION_CHECK_EVERY: '1h', NOTIFY_SIGNING_SECRET: NOTIFY_SECRET },
    });
  });
  afterAll(() => stack?.stop());

  test('a lapsed OAuth connection is reconnected: a new consent link goes to the customer', async () => {
    const schedule = await stack.client.temporal.schedule
      .getHandle(connectionCheckScheduleId(stack.options.taskQueue))
      .describe();
    expect(schedule.spec.intervals).toMatchObject([{ every: 3600 * 1000 }]);

    const accountId = uniqueId('acct');
    await seedAccounts(stack.simulator.url, [accountId]);
    const { workflowId } = await stack.client.start({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
      notifyUrl: receiver.eventsUrl,
    });
    const waiting = await eventually(async () => {
      const s = await stack.client.status(workflowId);
      return s.stage === 'awaiting-consent' ? s : undefined;
    });
    stack.simulator.state.markAuthenticated(waiting.accountConnectorId!);
    await stack.client.completeConsent(workflowId, 'test');
    await stack.client.result(workflowId);

    stack.simulator.state.markLapsed(waiting.accountConnectorId!);
    const { check } = await runCheck(stack);
    expect(check).toMatchObject({ lapsedTotal: 1, reconnectsStarted: 1 });
    await receiver.waitFor(workflowId, 'provisioning.connection_lapsed');
    const asked = await receiver.waitFor(workflowId, 'provisioning.reconnect_requested');
    expect(asked.event.data.consentLink).toMatch(/\/connect\//);
    const status = await stack.client.status(workflowId);
    expect(status).toMatchObject({ stage: 'awaiting-consent', reconnects: 1 });
  }, 90_000);
});

describe('batch rows that completed at install (no workflow of their own), CONNECTION_AUTO_RECONNECT=true', () => {
  let stack: TestStack;
  let client: ProvisioningClient;
  let store: BatchStore;
  let dir: string;
  beforeAll(async () => {
    mkdirSync(join(PROJECT_ROOT, '.tmp', 'test'), { recursive: true });
    dir = mkdtempSync(join(PROJECT_ROOT, '.tmp', 'test', 'conncheck-batch-'));
    stack = await startTestStack('conncheck-batch', {
      env: { NOTIFY_SIGNING_SECRET: NOTIFY_SECRET, CONNECTION_AUTO_RECONNECT: 'true', BATCH_STORE_DIR: dir },
    });
    store = BatchStore.fromConfig({ ...loadConfig('client', testEnv(stack.options)), batchStoreDir: dir });
    client = new ProvisioningClient(stack.client.temporal, stack.client.taskQueue, { batchStore: store });
  });
  afterAll(() => stack?.stop());

  test('are checked from the batch store; a lapse is reported, and reconnected from the row as the batch stored it', async () => {
    const [a, b] = [uniqueId('acct'), uniqueId('acct')];
    await seedAccounts(stack.simulator.url, [a, b]);
    const rows = [
      { accountId: a, installName: 'conn-0' },
      { accountId: a, installName: 'conn-1' },
      { accountId: b, installName: 'conn-0' },
    ].map((r) => ({
      ...r,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'row-key',
      notifyUrl: receiver.eventsUrl,
    }));
    const file = join(dir, `${a}.jsonl`);
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const { batchId } = await submitBatch(client.temporal, client.taskQueue, store, { file });
    await client.temporal.workflow.getHandle(batchWorkflowId(batchId)).result();
    const gone = `provision:${b}:conn-0`;
    const before = await client.status(gone);
    expect(before).toMatchObject({ stage: 'completed', batchId });
    // Uninstalled at Cyclr outside the provisioner.
    stack.simulator.state.deleteAccountConnector(b, before.accountConnectorId!);

    const { check, lists } = await runCheck(stack);
    expect(check).toMatchObject({
      accounts: 2,
      connections: 3,
      cyclrRequests: 2,
      lapsedTotal: 1,
      reconnectsStarted: 1,
    });
    expect(lists).toBe(2);
    expect(check.lapsed).toEqual([
      {
        workflowId: gone,
        runId: `batch:${batchId}`,
        accountId: b,
        connector: expect.objectContaining({ id: FIXTURE_CONNECTORS.apiKey.id }),
        accountConnectorId: before.accountConnectorId,
        reason: 'gone',
      },
    ]);
    const event = await receiver.waitFor(gone, 'provisioning.connection_lapsed');
    new Webhook(NOTIFY_SECRET).verify(event.body, event.headers as Record<string, string>);
    expect(event.event.id).toBe(lapseEventId(check.lapsed[0]!));
    expect(event.body).not.toContain('row-key');

    // The reconnect ran from the row's own request (its authValue from the sealed page): installed again.
    const after = await eventually(async () => {
      const s = await client.status(gone);
      return s.stage === 'completed' && s.reconnects === 1 ? s : undefined;
    });
    expect(after.accountConnectorId).not.toBe(before.accountConnectorId);
    expect(installCount(await simulatorStats(stack.simulator.url), b, 'conn-0')).toBe(2);
    // From now on it is checked as a provisioning with a run; nothing is lapsed.
    const next = await runCheck(stack);
    expect(next.check).toMatchObject({ accounts: 2, connections: 3, lapsedTotal: 0 });
  }, 120_000);
});
