/**
 * provisionConnector end to end: a real Temporal dev server, a real worker process, the Cyclr simulator.
 */
import { ProvisioningError, type ProvisioningClient } from '../src/client.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import { provisioningWorkflowId } from '../src/contract/ids.js';
import { eventually, startTestStack, uniqueId, type TestStack } from './support/harness.js';
import {
  answerConsentPage,
  approveSilently,
  installCount,
  requestTotal,
  seedAccounts,
  setFaults,
  simulatorStats,
} from './support/simulator-admin.js';

let stack: TestStack;
let simulator: Simulator;
let client: ProvisioningClient;

beforeAll(async () => {
  stack = await startTestStack('provisioning');
  ({ simulator, client } = stack);
});

afterAll(() => stack?.stop());

async function newAccount(): Promise<string> {
  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  return accountId;
}

function oauthRequest(accountId: string, extra: Record<string, unknown> = {}) {
  return {
    accountId,
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
    oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
    ...extra,
  };
}

async function stageOf(workflowId: string, stage: string, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const status = await client.status(workflowId);
      return status.stage === stage ? status : undefined;
    },
    timeoutMs,
    `stage ${stage} of ${workflowId}`,
  );
}

async function failureOf(workflowId: string): Promise<ProvisioningError> {
  const err = await client.result(workflowId).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProvisioningError);
  return err as ProvisioningError;
}

test('an ApiKey connector completes with exactly one install, and the result names the account connector', async () => {
  const accountId = await newAccount();
  const started = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'api-key-123',
  });
  expect(started).toMatchObject({
    created: true,
    workflowId: `provision:${accountId}:connector-${FIXTURE_CONNECTORS.apiKey.id}`,
  });

  const result = await client.result(started.workflowId);
  expect(result).toMatchObject({ connectorId: FIXTURE_CONNECTORS.apiKey.id, authenticated: true });
  expect(typeof result.accountConnectorId).toBe('number');

  const status = await client.status(started.workflowId);
  expect(status.stage).toBe('completed');
  expect(status.accountConnectorId).toBe(result.accountConnectorId);
  expect(status.history.map((h) => h.stage)).toEqual(['resolving-connector', 'installing', 'verifying', 'completed']);
  expect(JSON.stringify(status)).not.toContain('api-key-123');

  const stats = await simulatorStats(simulator.url);
  expect(installCount(stats, accountId, FIXTURE_CONNECTORS.apiKey.name)).toBe(1);
});

test('an OAuth connector waits for consent; each auth URL carries a fresh sign-in token; approval plus signal completes it', async () => {
  const accountId = await newAccount();
  const { workflowId } = await client.start(oauthRequest(accountId));
  const waiting = await stageOf(workflowId, 'awaiting-consent');
  expect(waiting.consentLink).toMatch(/^http:\/\/127\.0\.0\.1:9\/connect\//);
  expect(waiting.accountConnectorId).toBeDefined();

  const first = await client.issueAuthUrl(workflowId);
  const second = await client.issueAuthUrl(workflowId);
  const tokenOf = (url: string) => new URL(url).searchParams.get('token');
  expect(tokenOf(first.url)).toBeTruthy();
  expect(tokenOf(first.url)).not.toBe(tokenOf(second.url));
  const auth = new URL(second.url);
  expect(auth.pathname).toBe('/connectorauth/updateaccountconnectoroauth');
  expect(auth.searchParams.get('id')).toBe(String(waiting.accountConnectorId));
  expect(auth.searchParams.get('targetOrigin')).toMatch(/^http:\/\/127\.0\.0\.1:9\/oauth\/callback\?state=/);

  // The status never shows a sign-in token.
  expect(JSON.stringify(await client.status(workflowId))).not.toContain(tokenOf(second.url)!);

  const answered = await answerConsentPage(second.url);
  expect(answered.answerStatus).toBe(302);
  expect(answered.location).toBe(auth.searchParams.get('targetOrigin'));
  await client.completeConsent(workflowId, 'test');
  const result = await client.result(workflowId);
  expect(result.accountConnectorId).toBe(waiting.accountConnectorId);
  const status = await client.status(workflowId);
  expect(status.stage).toBe('completed');
  expect(status.history.map((h) => h.stage)).toEqual(
    expect.arrayContaining(['resolving-connector', 'installing', 'awaiting-consent', 'verifying', 'completed']),
  );
});

test('a consent signal that Cyclr does not confirm leaves the provisioning waiting, and says why', async () => {
  const accountId = await newAccount();
  const { workflowId } = await client.start(oauthRequest(accountId));
  await stageOf(workflowId, 'awaiting-consent');
  await client.completeConsent(workflowId, 'impatient-test');
  const status = await eventually(async () => {
    const s = await client.status(workflowId);
    return s.lastError?.type === 'ConsentNotConfirmed' ? s : undefined;
  });
  expect(status.stage).toBe('awaiting-consent');
  expect(status.attempts).toBeGreaterThanOrEqual(1);
  expect(status.lastError?.message).toMatch(/impatient-test/);
  await client.cancel(workflowId, 'test done');
});

test('approval with no signal at all is noticed by the periodic check', async () => {
  const accountId = await newAccount();
  const { workflowId } = await client.start(oauthRequest(accountId, { timeouts: { checkEvery: '1s' } }));
  const waiting = await stageOf(workflowId, 'awaiting-consent');
  await approveSilently(simulator.url, waiting.accountConnectorId!);
  const result = await client.result(workflowId);
  expect(result.accountConnectorId).toBe(waiting.accountConnectorId);
  const status = await client.status(workflowId);
  expect(status.history.at(-2)?.note).toMatch(/periodic check/);
});

test('a second start with the same id returns the same run and installs nothing more', async () => {
  const accountId = await newAccount();
  const request = oauthRequest(accountId);
  const [a, b] = await Promise.all([client.start(request), client.start(request)]);
  expect(a.workflowId).toBe(provisioningWorkflowId({ accountId, connector: { name: FIXTURE_CONNECTORS.oauth.name } }));
  expect(b.workflowId).toBe(a.workflowId);
  expect([a.created, b.created].sort()).toEqual([false, true]);
  await stageOf(a.workflowId, 'awaiting-consent');
  const third = await client.start(request);
  expect(third).toMatchObject({ created: false, workflowId: a.workflowId });
  expect(third.status?.stage).toBe('awaiting-consent');
  expect(installCount(await simulatorStats(simulator.url), accountId, FIXTURE_CONNECTORS.oauth.name)).toBe(1);
  await client.cancel(a.workflowId);
});

describe('failures that retrying cannot fix end at once, with their type', () => {
  test('unknown connector: ConnectorNotFound', async () => {
    const accountId = await newAccount();
    const { workflowId } = await client.start({ accountId, connector: { name: 'No Such Connector' }, authValue: 'k' });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('ConnectorNotFound');
    expect(err.message).toMatch(/No Such Connector/);
    expect((await client.status(workflowId)).stage).toBe('failed');
  });

  test('ambiguous name: AmbiguousConnector lists the candidates', async () => {
    const accountId = await newAccount();
    const { workflowId } = await client.start({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.ambiguousName },
      oauth: { username: 'u', returnUrl: 'https://x.test/' },
    });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('AmbiguousConnector');
    expect(err.message).toMatch(/v3/);
    expect(err.message).toMatch(/v4/);
  });

  test("a 400 from install: CyclrBadRequest with Cyclr's message, tried once", async () => {
    const accountId = await newAccount();
    const before = requestTotal(await simulatorStats(simulator.url), /install/);
    const { workflowId } = await client.start({
      accountId,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'k',
      properties: [{ name: 'NoSuchProperty', value: 'x' }],
    });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('CyclrBadRequest');
    expect(err.message).toMatch(/NoSuchProperty/);
    expect(requestTotal(await simulatorStats(simulator.url), /install/) - before).toBe(1);
  });

  test('a wrong account without create: AccountNotFound, nothing installed', async () => {
    const accountId = uniqueId('missing');
    const { workflowId } = await client.start({
      accountId,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'k',
    });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('AccountNotFound');
    expect(err.message).toMatch(/"create": true/);
  });
});

test('a burst of 5xx from Cyclr is retried through', async () => {
  const accountId = uniqueId('acct');
  await setFaults(simulator.url, { accounts: { errorRate: 1 } });
  const { workflowId } = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'k',
    account: { create: true, name: 'Burst Ltd' },
  });
  await eventually(async () => ((await simulatorStats(simulator.url)).faultsInjected['5xx'] ?? 0) >= 2 || undefined);
  await setFaults(simulator.url, {});
  const result = await client.result(workflowId);
  expect(result.authenticated).toBe(true);
  const status = await client.status(workflowId);
  expect(status.history.map((h) => h.stage)).toContain('ensuring-account');
});

test('the consent timeout ends it expired and removes the account connector', async () => {
  const accountId = await newAccount();
  const { workflowId } = await client.start(oauthRequest(accountId, { timeouts: { consent: '3s', checkEvery: '1s' } }));
  const waiting = await stageOf(workflowId, 'awaiting-consent');
  const err = await failureOf(workflowId);
  expect(err.type).toBe('ConsentExpired');
  expect((await client.status(workflowId)).stage).toBe('expired');
  const res = await fetch(`${simulator.url}/_admin/account-connectors/${waiting.accountConnectorId}`);
  expect(res.status).toBe(404);
});

test('cancel ends it cancelled and removes the account connector; a cancelled one refuses further steering', async () => {
  const accountId = await newAccount();
  const { workflowId } = await client.start(oauthRequest(accountId));
  const waiting = await stageOf(workflowId, 'awaiting-consent');
  await client.cancel(workflowId, 'customer churned');
  const err = await failureOf(workflowId);
  expect(err.type).toBe('Cancelled');
  expect(err.message).toBe('customer churned');
  expect((await client.status(workflowId)).stage).toBe('cancelled');
  expect((await fetch(`${simulator.url}/_admin/account-connectors/${waiting.accountConnectorId}`)).status).toBe(404);
  await expect(client.issueAuthUrl(workflowId)).rejects.toMatchObject({ type: 'ProvisioningFinished' });
  await expect(client.cancel(workflowId)).rejects.toMatchObject({ type: 'ProvisioningFinished' });
});

test('issueAuthUrl is refused outside awaiting-consent, and unknown ids are named', async () => {
  const accountId = await newAccount();
  const { workflowId } = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'k',
  });
  await client.result(workflowId);
  await expect(client.issueAuthUrl(workflowId)).rejects.toBeInstanceOf(ProvisioningError);
  await expect(client.status('provision:nobody:nothing')).rejects.toMatchObject({ type: 'ProvisioningNotFound' });
});

test('the worker stopped mid-wait and a new one started: the provisioning continues and completes', async () => {
  const accountId = await newAccount();
  // Checks every second, not backing off: the check after the restart is what completes it.
  const { workflowId } = await client.start(
    oauthRequest(accountId, { timeouts: { checkEvery: '1s', checkEveryMax: '1s' } }),
  );
  const waiting = await stageOf(workflowId, 'awaiting-consent');
  await stack.worker.kill('SIGKILL');
  await approveSilently(simulator.url, waiting.accountConnectorId!);
  // Nothing can complete while no worker runs.
  await new Promise((r) => setTimeout(r, 2000));
  expect((await client.handle(workflowId).describe()).status.name).toBe('RUNNING');
  await stack.restartWorker();
  const result = await client.result(workflowId);
  expect(result.accountConnectorId).toBe(waiting.accountConnectorId);
});

test('a long wait continues as new with its state, and consent given after that still completes it', async () => {
  const accountId = await newAccount();
  // Checks every second, not backing off, so the history grows to the continue-as-new threshold within seconds.
  const request = oauthRequest(accountId, { timeouts: { checkEvery: '1s', checkEveryMax: '1s' } });
  const workflowId = provisioningWorkflowId(request);
  await client.temporal.workflow.start('provisionConnector', {
    taskQueue: stack.options.taskQueue,
    workflowId,
    args: [request, { continueAsNewAfterEvents: 30 }],
  });
  const waiting = await stageOf(workflowId, 'awaiting-consent');
  const firstRun = (await client.handle(workflowId).describe()).runId;
  await eventually(
    async () => ((await client.handle(workflowId).describe()).runId !== firstRun ? true : undefined),
    60_000,
    'continue-as-new',
  );
  const carried = await client.status(workflowId);
  expect(carried).toMatchObject({
    stage: 'awaiting-consent',
    accountConnectorId: waiting.accountConnectorId,
    consentLink: waiting.consentLink,
  });
  expect(carried.attempts).toBeGreaterThan(waiting.attempts);

  // The link issued by the first run still works in the new one.
  const linkId = decodeURIComponent(waiting.consentLink!.split('/connect/')[1]!);
  const claims = JSON.parse(Buffer.from(linkId.split('.')[0]!, 'base64url').toString()) as { lid: string };
  const auth = await client.issueAuthUrl(workflowId, claims.lid);
  expect((await answerConsentPage(auth.url)).answerStatus).toBe(302);
  await client.completeConsent(workflowId, 'test');
  expect((await client.result(workflowId)).accountConnectorId).toBe(waiting.accountConnectorId);
  expect(installCount(await simulatorStats(simulator.url), accountId, FIXTURE_CONNECTORS.oauth.name)).toBe(1);
});

test('a cancel that arrives mid-install lets the install finish, then removes it: nothing left untracked', async () => {
  const accountId = await newAccount();
  await setFaults(simulator.url, { install: { latencyMs: 1500 } });
  try {
    const { workflowId } = await client.start({
      accountId,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'k',
    });
    // Mid-install: Cyclr has the install request and has not answered yet.
    await eventually(
      async () =>
        (await simulatorStats(simulator.url)).inFlight['POST /v1.0/connectors/:idOrName/install'] || undefined,
      30_000,
      'the install to reach Cyclr',
    );
    await client.cancel(workflowId, 'changed my mind');
    const err = await failureOf(workflowId);
    expect(err.type).toBe('Cancelled');
    const status = await client.status(workflowId);
    expect(status.stage).toBe('cancelled');
    expect(status.accountConnectorId).toBeDefined();
    expect(installCount(await simulatorStats(simulator.url), accountId, FIXTURE_CONNECTORS.apiKey.name)).toBe(1);
    expect((await fetch(`${simulator.url}/_admin/account-connectors/${status.accountConnectorId}`)).status).toBe(404);
  } finally {
    await setFaults(simulator.url, {});
  }
});
