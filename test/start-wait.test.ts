/**
 * The consent link in the first answer: `POST /provisionings?wait=10s` and the client's `start(request, { waitMs })`
 * (update-with-start) answer once the provisioning awaits consent or has ended, or with the current status when the
 * wait runs out. Against a real dev server, worker process, simulator and gateway.
 */
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startGatewayStack, type GatewayStack } from './support/gateway-stack.js';
import { setFaults, simulatorStats, installCount } from './support/simulator-admin.js';

let stack: GatewayStack;

beforeAll(async () => {
  stack = await startGatewayStack('start-wait');
});

afterAll(() => stack?.close());

const oauth = { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' };

function post(path: string, body: unknown): Promise<Response> {
  return stack.call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('POST /provisionings?wait=10s answers with the consent link in the first response; a repeat returns the same', async () => {
  const accountId = await stack.newAccount();
  const request = { accountId, connector: { id: FIXTURE_CONNECTORS.oauth.id }, oauth };
  const res = await post('/provisionings?wait=10s', request);
  expect(res.status).toBe(202);
  const body = (await res.json()) as { workflowId: string; status: { stage: string; consentLink?: string } };
  expect(body.status.stage).toBe('awaiting-consent');
  expect(body.status.consentLink).toMatch(/\/connect\/[^/]+$/);
  expect(res.headers.get('location')).toBe(`/provisionings/${encodeURIComponent(body.workflowId)}`);

  const again = await post('/provisionings?wait=10s', request);
  expect(again.status).toBe(200);
  const second = (await again.json()) as typeof body;
  expect(second.workflowId).toBe(body.workflowId);
  expect(second.status.consentLink).toBe(body.status.consentLink);
  expect(installCount(await simulatorStats(stack.simulator.url), accountId, FIXTURE_CONNECTORS.oauth.name)).toBe(1);
});

test('a provisioning that ends before consent answers with its end: completed for ApiKey, failed with its cause', async () => {
  const apiKey = await post('/provisionings?wait=10s', {
    accountId: await stack.newAccount(),
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'k',
  });
  expect(apiKey.status).toBe(202);
  expect(((await apiKey.json()) as { status: { stage: string } }).status.stage).toBe('completed');

  const missing = await post('/provisionings?wait=10s', {
    accountId: await stack.newAccount(),
    connector: { name: 'No Such Connector' },
    oauth,
  });
  const failed = (await missing.json()) as { status: { stage: string; lastError?: { type: string } } };
  expect(failed.status).toMatchObject({ stage: 'failed', lastError: { type: 'ConnectorNotFound' } });
});

test('when the wait runs out it answers with the current status, and the provisioning goes on', async () => {
  const accountId = await stack.newAccount();
  await setFaults(stack.simulator.url, { install: { latencyMs: 4000 } });
  try {
    const started = Date.now();
    const res = await post('/provisionings?wait=1s', {
      accountId,
      connector: { id: FIXTURE_CONNECTORS.oauth.id },
      oauth,
    });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(202);
    const body = (await res.json()) as { workflowId: string; status: { stage: string; consentLink?: string } };
    expect(body.status.consentLink).toBeUndefined();
    expect(['resolving-connector', 'installing']).toContain(body.status.stage);
    // The wait ran out, then the status was read (a query waits for the workflow task in flight).
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(9000);
    await setFaults(stack.simulator.url, {});
    const later = await stack.client.start(
      { accountId, connector: { id: FIXTURE_CONNECTORS.oauth.id }, oauth },
      { waitMs: 20_000 },
    );
    expect(later).toMatchObject({ workflowId: body.workflowId, created: false, status: { stage: 'awaiting-consent' } });
  } finally {
    await setFaults(stack.simulator.url, {});
  }
});

test('a bad wait is a 400 that names the parameter, and nothing starts', async () => {
  const accountId = await stack.newAccount();
  for (const wait of ['forever', '31s', '1m', '-1s', '']) {
    const res = await post(`/provisionings?wait=${encodeURIComponent(wait)}`, {
      accountId,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'k',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { fields: { path: string; message: string }[] };
    expect(body.fields).toEqual([{ path: 'wait', message: expect.stringMatching(/not a duration from 0s to 30s/) }]);
  }
  expect(installCount(await simulatorStats(stack.simulator.url), accountId, FIXTURE_CONNECTORS.apiKey.name)).toBe(0);
});

test('without wait nothing changes: 202 at once with the first stage, no consent link yet', async () => {
  const res = await post('/provisionings', {
    accountId: await stack.newAccount(),
    connector: { id: FIXTURE_CONNECTORS.oauth.id },
    oauth,
  });
  expect(res.status).toBe(202);
  const body = (await res.json()) as { status: { stage: string; consentLink?: string } };
  expect(body.status).toMatchObject({ stage: 'resolving-connector' });
  expect(body.status.consentLink).toBeUndefined();
});
