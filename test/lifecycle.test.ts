/**
 * After consent: reconnect and remove (offboarding), over HTTP against a real Temporal dev server, a real worker
 * process and the Cyclr simulator, with the events a receiver gets (Standard Webhooks) and what Cyclr saw.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { ProvisioningStatus } from '../src/contract/messages.js';
import { startGatewayStack, withToken, TEST_READ_TOKEN, type GatewayStack } from './support/gateway-stack.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, eventually } from './support/harness.js';
import {
  approveSilently,
  installCount,
  lapse,
  setFaults,
  simulatorStats,
  uninstallCount,
} from './support/simulator-admin.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const NOTIFY_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const oauth = { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' };

let stack: GatewayStack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  [stack, receiver] = await Promise.all([
    startGatewayStack('lifecycle', { NOTIFY_SIGNING_SECRET: NOTIFY_SECRET }),
    startWebhookReceiver(),
  ]);
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

afterEach(async () => {
  await setFaults(stack.simulator.url, {});
});

function verifies(headers: IncomingHttpHeaders, body: string): boolean {
  try {
    new Webhook(NOTIFY_SECRET).verify(body, headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

async function api(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${stack.gatewayUrl}${path}`, {
    method,
    headers: withToken(body === undefined ? {} : { 'content-type': 'application/json' }, token),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

/** A partner token from the simulator, to act at Cyclr as someone other than the provisioner would. */
async function partnerToken(): Promise<string> {
  const res = await fetch(`${stack.simulator.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: TEST_CLIENT_ID,
      client_secret: TEST_CLIENT_SECRET,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const idPath = (workflowId: string) => `/provisionings/${encodeURIComponent(workflowId)}`;

async function statusOf(workflowId: string): Promise<ProvisioningStatus> {
  const res = await api('GET', idPath(workflowId));
  expect(res.status).toBe(200);
  return res.json.status as ProvisioningStatus;
}

async function stageBecomes(workflowId: string, stage: string, timeoutMs = 30_000): Promise<ProvisioningStatus> {
  return eventually(
    async () => {
      const s = await statusOf(workflowId);
      return s.stage === stage ? s : undefined;
    },
    timeoutMs,
    stage,
  );
}

/** An OAuth provisioning through to completed (the customer approved), with events to the receiver. */
async function completedOAuth(): Promise<{ workflowId: string; accountId: string; accountConnectorId: number }> {
  const accountId = await stack.newAccount();
  const started = await api('POST', '/provisionings?wait=15s', {
    accountId,
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
    oauth,
    notifyUrl: receiver.eventsUrl,
  });
  expect(started.status).toBe(202);
  const workflowId = started.json.workflowId as string;
  const status = started.json.status as ProvisioningStatus;
  expect(status.stage).toBe('awaiting-consent');
  await approveSilently(stack.simulator.url, status.accountConnectorId!);
  await stack.client.completeConsent(workflowId, 'test');
  const done = await stageBecomes(workflowId, 'completed');
  return { workflowId, accountId, accountConnectorId: done.accountConnectorId! };
}

/** An ApiKey provisioning through to completed, with events to the receiver. */
async function completedApiKey(
  authValue: string,
): Promise<{ workflowId: string; accountId: string; accountConnectorId: number }> {
  const accountId = await stack.newAccount();
  const started = await api('POST', '/provisionings?wait=15s', {
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue,
    notifyUrl: receiver.eventsUrl,
  });
  const workflowId = started.json.workflowId as string;
  const completed = await stageBecomes(workflowId, 'completed');
  return { workflowId, accountId, accountConnectorId: completed.accountConnectorId! };
}

describe('remove (offboarding)', () => {
  test('uninstalls at Cyclr, records "removed" with its time, sends provisioning.removed; a repeat is the same removal', async () => {
    const { workflowId, accountId, accountConnectorId } = await completedApiKey('api-key-never-in-an-event');

    // A read token may not remove.
    expect((await api('DELETE', idPath(workflowId), undefined, TEST_READ_TOKEN)).status).toBe(403);

    const before = Date.now();
    const removed = await api('DELETE', idPath(workflowId));
    expect(removed.status).toBe(200);
    expect(removed.json).toMatchObject({ workflowId, removedByThisCall: true });
    const status = removed.json.status as ProvisioningStatus;
    expect(status.stage).toBe('removed');
    const entry = status.history.at(-1)!;
    expect(entry).toMatchObject({
      stage: 'removed',
      note: `account connector ${accountConnectorId} uninstalled at Cyclr`,
    });
    expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(before - 1000);
    // The timeline before it is kept: support sees the whole life of the provisioning.
    expect(status.history.map((h) => h.stage)).toContain('completed');

    // Gone at Cyclr: one uninstall, and Cyclr answers 404 for it.
    const stats = await simulatorStats(stack.simulator.url);
    expect(uninstallCount(stats, accountId, accountConnectorId)).toBe(1);
    const admin = await fetch(`${stack.simulator.url}/_admin/account-connectors/${accountConnectorId}`);
    expect(admin.status).toBe(404);

    const event = await receiver.waitFor(workflowId, 'provisioning.removed');
    expect(verifies(event.headers, event.body)).toBe(true);
    expect(event.event.data).toMatchObject({ workflowId, accountId, accountConnectorId });
    expect(event.body).not.toContain('api-key-never-in-an-event');

    // The caller lost the answer and asks again: the same removal, nothing more at Cyclr, no second event.
    const again = await api('DELETE', idPath(workflowId));
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ workflowId, removedByThisCall: false, status: { stage: 'removed' } });
    expect(uninstallCount(await simulatorStats(stack.simulator.url), accountId, accountConnectorId)).toBe(1);
    expect(receiver.eventsFor(workflowId, 'provisioning.removed')).toHaveLength(1);

    // It can be provisioned again: a new first run installs it anew.
    const restarted = await api('POST', '/provisionings', {
      accountId,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'api-key-never-in-an-event',
    });
    expect(restarted.status).toBe(202);
    const second = await stageBecomes(workflowId, 'completed');
    expect(second.accountConnectorId).not.toBe(accountConnectorId);
    expect(second.history[0]!.stage).toBe('resolving-connector');
    expect(installCount(await simulatorStats(stack.simulator.url), accountId, FIXTURE_CONNECTORS.apiKey.name)).toBe(2);
  });

  test('an uninstall whose answer Cyclr drops is retried and is still one removal (404 on the retry: already gone)', async () => {
    const { workflowId, accountId, accountConnectorId } = await completedOAuth();
    await setFaults(stack.simulator.url, { accountConnectors: { dropAfterCommitRate: 1 } });
    const removed = await stack.client.remove(workflowId);
    expect(removed.removedByThisCall).toBe(true);
    expect(removed.status.stage).toBe('removed');
    expect(removed.status.history.at(-1)!.note).toBe(
      `account connector ${accountConnectorId} was already gone at Cyclr`,
    );
    const stats = await simulatorStats(stack.simulator.url);
    expect(stats.faultsInjected.drop).toBeGreaterThanOrEqual(1);
    expect(uninstallCount(stats, accountId, accountConnectorId)).toBe(1);
    expect(receiver.eventsFor(workflowId, 'provisioning.removed')).toHaveLength(1);
  });

  test('a running provisioning is cancelled first (its own clean-up), then recorded removed', async () => {
    const accountId = await stack.newAccount();
    const started = await api('POST', '/provisionings?wait=15s', {
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth,
      notifyUrl: receiver.eventsUrl,
    });
    const workflowId = started.json.workflowId as string;
    const accountConnectorId = (started.json.status as ProvisioningStatus).accountConnectorId!;
    const removed = await api('DELETE', idPath(workflowId));
    expect(removed.status).toBe(200);
    const stages = (removed.json.status as ProvisioningStatus).history.map((h) => h.stage);
    expect(stages.slice(-2)).toEqual(['cancelled', 'removed']);
    await receiver.waitFor(workflowId, 'provisioning.cancelled');
    await receiver.waitFor(workflowId, 'provisioning.removed');
    // The cancel's clean-up uninstalled it; the removal found it gone: one uninstall in all.
    expect(uninstallCount(await simulatorStats(stack.simulator.url), accountId, accountConnectorId)).toBe(1);
  });

  test('a removal just after a run reached completed (its last event still on its way) lets it finish, then removes', async () => {
    receiver.answerAfter(2_000);
    try {
      const { workflowId } = await completedApiKey('api-key-slow-endpoint');
      const removed = await api('DELETE', idPath(workflowId));
      expect(removed.status).toBe(200);
      expect(removed.json).toMatchObject({ workflowId, removedByThisCall: true });
      const stages = (removed.json.status as ProvisioningStatus).history.map((h) => h.stage);
      expect(stages.slice(-2)).toEqual(['completed', 'removed']);
    } finally {
      receiver.answerAfter(0);
    }
  });

  test('an unknown id is 404', async () => {
    const res = await api('DELETE', idPath('provision:nobody:Nothing'));
    expect(res.status).toBe(404);
    expect(res.json.error).toBe('ProvisioningNotFound');
  });
});

describe('reconnect', () => {
  test('still authenticated: completes at once and says so; lapsed: waits for consent again with a new link', async () => {
    const { workflowId, accountId, accountConnectorId } = await completedOAuth();

    const fine = await api('POST', `${idPath(workflowId)}/reconnect?wait=15s`);
    expect(fine.status).toBe(202);
    const fineStatus = fine.json.status as ProvisioningStatus;
    expect(fineStatus).toMatchObject({ stage: 'completed', reconnects: 1, accountConnectorId });
    expect(fineStatus.history.at(-2)!.note).toBe('still authenticated at Cyclr: nothing to reconnect');

    // The customer revoked access at the third party: Cyclr no longer reports it authenticated.
    await lapse(stack.simulator.url, accountConnectorId);
    const lapsed = await api('POST', `${idPath(workflowId)}/reconnect?wait=15s`);
    expect(lapsed.status).toBe(202);
    const waiting = lapsed.json.status as ProvisioningStatus;
    expect(waiting).toMatchObject({ stage: 'awaiting-consent', reconnects: 2, accountConnectorId });
    expect(waiting.consentLink).toMatch(`${stack.gatewayUrl}/connect/`);
    const requested = await receiver.waitFor(workflowId, 'provisioning.reconnect_requested');
    expect(verifies(requested.headers, requested.body)).toBe(true);
    expect(requested.event.data).toMatchObject({ workflowId, accountId, consentLink: waiting.consentLink });

    // A reconnect of a running provisioning returns that run.
    const repeat = await api('POST', `${idPath(workflowId)}/reconnect`);
    expect(repeat.status).toBe(200);
    expect(repeat.json.status).toMatchObject({ stage: 'awaiting-consent', reconnects: 2 });

    // The link works like a first provisioning's: a click goes to Cyclr with a fresh sign-in token.
    const click = await fetch(waiting.consentLink!, { redirect: 'manual' });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toContain(`id=${accountConnectorId}`);

    await approveSilently(stack.simulator.url, accountConnectorId);
    await stack.client.completeConsent(workflowId, 'test');
    const done = await stageBecomes(workflowId, 'completed');
    expect(done.reconnects).toBe(2);
    // No second install at any point.
    expect(installCount(await simulatorStats(stack.simulator.url), accountId, FIXTURE_CONNECTORS.oauth.name)).toBe(1);
  });

  test('a reconnect just after a run reached completed (its last event still on its way) follows that run', async () => {
    const { workflowId, accountConnectorId } = await completedOAuth();
    // A slow customer endpoint keeps each run open for a moment after its stage is `completed`.
    receiver.answerAfter(2_000);
    try {
      const first = await api('POST', `${idPath(workflowId)}/reconnect?wait=15s`);
      expect(first.status).toBe(202);
      expect(first.json.status).toMatchObject({ stage: 'completed', reconnects: 1 });
      const second = await api('POST', `${idPath(workflowId)}/reconnect?wait=15s`);
      expect(second.status).toBe(202);
      expect(second.json.status).toMatchObject({ stage: 'completed', reconnects: 2, accountConnectorId });
    } finally {
      receiver.answerAfter(0);
    }
  });

  test('--force de-authenticates at Cyclr first, then waits for a clean consent', async () => {
    const { workflowId, accountId, accountConnectorId } = await completedOAuth();
    const forced = await api('POST', `${idPath(workflowId)}/reconnect?wait=15s`, { force: true });
    expect(forced.status).toBe(202);
    expect(forced.json.status).toMatchObject({ stage: 'awaiting-consent', reconnects: 1 });
    const stats = await simulatorStats(stack.simulator.url);
    expect(stats.deauthentications.filter((d) => d.accountId === accountId)).toEqual([
      { accountId, accountConnectorId, count: 1 },
    ]);
    await api('POST', `${idPath(workflowId)}/cancel`, { reason: 'test over' });
    const cancelled = await stageBecomes(workflowId, 'cancelled');
    // A reconnect that ends without consent leaves the connector installed: removing it is offboarding's job.
    expect(cancelled.lastError?.message).not.toContain('removing');
    expect(uninstallCount(await simulatorStats(stack.simulator.url), accountId, accountConnectorId)).toBe(0);
  });

  test('under Cyclr faults (5xx, 429, a dropped install answer) a reconnect ends once, with no duplicate install', async () => {
    const { workflowId, accountId, accountConnectorId } = await completedOAuth();
    // Someone uninstalled it at Cyclr: the reconnect installs it again (idempotently by Name) and asks for consent.
    const gone = await fetch(`${stack.simulator.url}/v1.0/account/connectors/${accountConnectorId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await partnerToken()}`, 'x-cyclr-account': accountId },
    });
    expect(gone.status).toBe(200);
    await setFaults(stack.simulator.url, {
      seed: 7,
      accountConnectors: { errorRate: 0.4, rateLimitRate: 0.3, retryAfterSeconds: 1 },
      install: { dropAfterCommitRate: 1 },
    });
    const res = await api('POST', `${idPath(workflowId)}/reconnect?wait=30s`);
    expect(res.status).toBe(202);
    const status = res.json.status as ProvisioningStatus;
    expect(status).toMatchObject({ stage: 'awaiting-consent', reconnects: 1 });
    expect(status.accountConnectorId).not.toBe(accountConnectorId);
    await setFaults(stack.simulator.url, {});
    await approveSilently(stack.simulator.url, status.accountConnectorId!);
    await stack.client.completeConsent(workflowId, 'test');
    await stageBecomes(workflowId, 'completed');
    const stats = await simulatorStats(stack.simulator.url);
    expect(stats.faultsInjected.drop).toBeGreaterThanOrEqual(1);
    expect(stats.faultsInjected['5xx'] + stats.faultsInjected['429']).toBeGreaterThanOrEqual(1);
    // The first install and the one reconnect install: the dropped answer was adopted, not installed twice.
    expect(installCount(stats, accountId, FIXTURE_CONNECTORS.oauth.name)).toBe(2);
    expect(receiver.eventsFor(workflowId, 'provisioning.reconnect_requested')).toHaveLength(1);
  });

  test('refused for one that did not complete (start it again) and for a removed one; a bad body names the field', async () => {
    const { workflowId } = await completedOAuth();
    const bad = await api('POST', `${idPath(workflowId)}/reconnect`, { force: 'yes' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('force');
    await api('DELETE', idPath(workflowId));
    const removed = await api('POST', `${idPath(workflowId)}/reconnect`);
    expect(removed.status).toBe(409);
    expect(removed.json.error).toBe('ProvisioningRemoved');

    const accountId = await stack.newAccount();
    const started = await api('POST', '/provisionings?wait=15s', {
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth,
    });
    const running = started.json.workflowId as string;
    await api('POST', `${idPath(running)}/cancel`);
    await stageBecomes(running, 'cancelled');
    const cancelled = await api('POST', `${idPath(running)}/reconnect`);
    expect(cancelled.status).toBe(409);
    expect(cancelled.json.error).toBe('NotReconnectable');
  });
});
