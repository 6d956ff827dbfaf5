/**
 * The worker's Prometheus endpoint after real provisionings: the SDK's own metrics, Cyclr requests by endpoint and
 * status, and the provisioning counters, all on the one METRICS_PORT.
 */
import type { ProvisioningClient } from '../src/client.js';
import { freePort } from '../dev/local-stack/dev-server.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import { eventually, startTestStack, uniqueId, type TestStack } from './support/harness.js';
import { seedAccounts } from './support/simulator-admin.js';

let stack: TestStack;
let simulator: Simulator;
let client: ProvisioningClient;
let metricsUrl: string;
let ids: { ok: string; missing: string; consent: string };

beforeAll(async () => {
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  stack = await startTestStack('metrics', { env: { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' } });
  ({ simulator, client } = stack);

  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  const ok = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'metrics-key',
  });
  const missing = await client.start({ accountId, connector: { name: 'No Such Connector' } });
  const consent = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.oauth.id },
    oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
  });
  ids = { ok: ok.workflowId, missing: missing.workflowId, consent: consent.workflowId };
  await client.result(ok.workflowId);
  await client.result(missing.workflowId).catch(() => undefined);
  await eventually(async () =>
    (await client.status(consent.workflowId)).stage === 'awaiting-consent' ? true : undefined,
  );
  await client.cancel(consent.workflowId, 'metrics test');
  await client.result(consent.workflowId).catch(() => undefined);
});

afterAll(() => stack?.stop());

/** The value of the first sample whose name and labels match, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  return res.text();
}

test('the SDK metrics and Cyclr requests by endpoint and status are on the metrics port', async () => {
  const text = await scrape();
  // The SDK's own: completed and failed workflows on our task queue.
  expect(
    sample(text, 'temporal_workflow_completed_total', { workflow_type: 'provisionConnector' }),
  ).toBeGreaterThanOrEqual(1);
  expect(text).toMatch(/^temporal_activity_execution_latency_milliseconds_bucket\{/m);
  // Ours: the install, the token fetch, and their latency.
  expect(sample(text, 'cyclr_requests_total', { status: '200', method: 'POST' })).toBeGreaterThanOrEqual(1);
  expect(text).toMatch(/^cyclr_requests_total\{[^}]*endpoint="[^"]*install[^"]*"/im);
  expect(sample(text, 'cyclr_request_duration_ms_count')).toBeGreaterThanOrEqual(1);
  // No secret reaches a label.
  expect(text).not.toContain('metrics-key');
});

test('each stage change is one JSON log line with the workflow id, stage and attempts', async () => {
  const jsonLines = () =>
    stack.worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const stagesOf = (id: string) => jsonLines().filter((l) => l.workflowId === id && typeof l.stage === 'string');
  // Workflow logs reach the worker's logger just after the workflow task completes: allow a moment.
  await eventually(
    async () => (stagesOf(ids.consent).some((l) => l.stage === 'cancelled') ? true : undefined),
    10_000,
    'log lines',
  );
  expect(stagesOf(ids.ok).find((l) => l.msg === 'stage completed')).toMatchObject({
    level: 'info',
    stage: 'completed',
    attempts: 1,
    workflowType: 'provisionConnector',
  });
  expect(stagesOf(ids.missing).find((l) => l.msg === 'stage failed')).toMatchObject({
    level: 'warn',
    error: { type: 'ConnectorNotFound' },
  });
  expect(stagesOf(ids.consent).map((l) => l.stage)).toEqual([
    'resolving-connector',
    'installing',
    'awaiting-consent',
    'cancelled',
  ]);
  // The AuthValue was never logged.
  expect(stack.worker.output()).not.toContain('metrics-key');
});

test('provisionings started, completed, failed by type and cancelled are counted, with the consent wait', async () => {
  // The last workflow task's metrics are recorded just after it completes.
  const text = await eventually(
    async () => {
      const t = await scrape();
      return sample(t, 'provisionings_cancelled_total') === 1 ? t : undefined;
    },
    10_000,
    'the cancellation to be counted',
  );
  expect(sample(text, 'provisionings_started_total')).toBe(3);
  expect(sample(text, 'provisionings_completed_total')).toBe(1);
  expect(sample(text, 'provisionings_failed_total', { type: 'ConnectorNotFound' })).toBe(1);
  expect(sample(text, 'provisionings_cancelled_total')).toBe(1);
  // Only the OAuth one asked for consent; its wait ended in cancellation.
  expect(sample(text, 'provisioning_consent_wait_ms_count', { outcome: 'cancelled' })).toBe(1);
});
