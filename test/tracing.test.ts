/**
 * OpenTelemetry tracing, on only with OTEL_EXPORTER_OTLP_ENDPOINT: a worker sends spans for the workflow and its
 * activities over OTLP/HTTP. An HTTP listener stands in for the collector and records what arrives.
 */
import { createServer, type Server } from 'node:http';
import type { ProvisioningClient } from '../src/client.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { loadConfig } from '../src/config.js';
import { startTracing } from '../src/observability/tracing.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import { eventually, provisioningClient, startTestSimulator, startWorkerProcess, uniqueId } from './support/harness.js';
import { seedAccounts } from './support/simulator-admin.js';

let simulator: Simulator;
let worker: ServiceProcess;
let client: ProvisioningClient;
let collector: Server;
const received: { path: string; body: string }[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const { port } = collector.address() as { port: number };
  simulator = await startTestSimulator();
  const stack = {
    taskQueue: uniqueId('tracing'),
    simulatorUrl: simulator.url,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: 'provisioner-test',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
  };
  [worker, client] = await Promise.all([startWorkerProcess(stack), provisioningClient(stack)]);
});

afterAll(async () => {
  await worker?.kill();
  await client?.temporal.connection.close();
  await simulator?.close();
  await new Promise((r) => collector?.close(r));
});

test('off by default; a bad endpoint is a clear error', async () => {
  const worker = (env: NodeJS.ProcessEnv) =>
    loadConfig('worker', {
      NODE_ENV: 'development',
      CYCLR_API_URL: 'http://127.0.0.1:9',
      CYCLR_SERVICE_DOMAIN: 'x',
      CYCLR_ACCESS_TOKEN: 't',
      ...env,
    });
  expect(worker({}).tracing).toBeUndefined();
  await expect(startTracing(worker({}).tracing)).resolves.toBeUndefined();
  expect(() => worker({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
    /OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" is not a URL/,
  );
});

test('a provisioning produces workflow and activity spans at the collector', async () => {
  expect(worker.output()).toMatch(/tracing on: spans to http:\/\/127\.0\.0\.1:\d+\/v1\/traces/);
  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  const { workflowId } = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'trace-secret',
  });
  await client.result(workflowId);
  const all = await eventually(
    async () => {
      const text = received.map((r) => r.body).join('\n');
      return text.includes('RunWorkflow:provisionConnector') && text.includes('RunActivity:installConnector')
        ? text
        : undefined;
    },
    30_000,
    'workflow and activity spans',
  );
  expect(received.every((r) => r.path === '/v1/traces')).toBe(true);
  expect(all).toContain('provisioner-test');
  expect(all).toContain(workflowId);
  expect(all).not.toContain('trace-secret');
});
