/**
 * On a real Temporal cluster (PostgreSQL, the Temporal server, frontend TLS from a private CA that requires client
 * certificates), several workers and gateways from the compiled build share one task queue, as in production.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import type { ServiceProcess } from '../../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../../dev/simulator/catalog.js';
import type { Simulator } from '../../dev/simulator/server.js';
import type { ProvisioningStatus } from '../../src/contract/messages.js';
import { eventually, startTestSimulator, uniqueId } from '../support/harness.js';
import { withToken } from '../support/gateway-stack.js';
import { answerConsentPage, installCount, seedAccounts, simulatorStats } from '../support/simulator-admin.js';
import { clusterEnv, freePort, startGateway, startWorker, type ClusterStackOptions } from './cluster-stack.js';

const WORKERS = 3;
const BATCH_ROWS = 3000;
const RETURN_URL = 'https://app.example.test/connected';

let simulator: Simulator;
let options: ClusterStackOptions;
let workers: ServiceProcess[] = [];
let gateways: { process: ServiceProcess; url: string }[] = [];
let ports: number[] = [];
/** Every process started, as it starts: stopped after the suite even when another one failed to start. */
const started: Promise<ServiceProcess>[] = [];
const track = (p: Promise<ServiceProcess>) => (started.push(p), p);
const suiteStarted = Date.now();

/** The workers and gateways, on the same gateway ports each time (the links already handed out point at them). */
async function startProcesses(): Promise<void> {
  const startedAt = Date.now();
  [workers, gateways] = await Promise.all([
    Promise.all(Array.from({ length: WORKERS }, (_, i) => track(startWorker(options, `worker-${i + 1}`)))),
    Promise.all(
      ports.map(async (port, i) => ({
        process: await track(startGateway(options, `gateway-${i + 1}`, port)),
        url: `http://127.0.0.1:${port}`,
      })),
    ),
  ]);
  console.log(
    `${workers.length} workers and ${gateways.length} gateways (node dist/...) ready in ${Date.now() - startedAt} ms`,
  );
}

beforeAll(async () => {
  simulator = await startTestSimulator();
  ports = [await freePort(), await freePort()];
  // Links and Cyclr's redirects go to the first gateway's address, as to a load balancer's; any gateway answers.
  options = {
    taskQueue: uniqueId('cluster'),
    simulatorUrl: simulator.url,
    publicBaseUrl: `http://127.0.0.1:${ports[0]}`,
  };
  await startProcesses();
});

afterAll(async () => {
  const running = await Promise.allSettled(started);
  await Promise.all(running.map((r) => (r.status === 'fulfilled' ? r.value.kill() : undefined)));
  await simulator?.close();
  console.log(
    `cluster suite: ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s of tests after a ${process.env.TEST_CLUSTER_UP_SECONDS} s bring-up`,
  );
});

async function api(gateway: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gateway}${path}`, {
    method,
    redirect: 'manual',
    headers: withToken(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown>,
  };
}

async function newAccount(): Promise<string> {
  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  return accountId;
}

const statusPath = (workflowId: string) => `/provisionings/${encodeURIComponent(workflowId)}`;

async function stageAt(gateway: string, workflowId: string, stage: string, timeoutMs = 60_000) {
  return eventually(
    async () => {
      const res = await api(gateway, 'GET', statusPath(workflowId));
      const status = res.json.status as ProvisioningStatus | undefined;
      return status?.stage === stage ? status : undefined;
    },
    timeoutMs,
    `${workflowId} at ${stage}`,
  );
}

test('the frontend refuses a client without a certificate from the cluster CA', async () => {
  const env = clusterEnv();
  const ca = readFileSync(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH!);
  const tls = { serverRootCACertificate: ca, serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME };
  await expect(
    Connection.connect({ address: env.TEMPORAL_ADDRESS!, tls, connectTimeout: 5000 }).then((c) =>
      c.workflowService.getSystemInfo({}),
    ),
  ).rejects.toThrow();
  const withCert = await Connection.connect({
    address: env.TEMPORAL_ADDRESS!,
    tls: {
      ...tls,
      clientCertPair: {
        crt: readFileSync(env.TEMPORAL_TLS_CLIENT_CERT_PATH!),
        key: readFileSync(env.TEMPORAL_TLS_CLIENT_KEY_PATH!),
      },
    },
  });
  try {
    expect((await withCert.workflowService.getSystemInfo({})).serverVersion).toBe('1.29.1');
  } finally {
    await withCert.close();
  }
});

test("an OAuth provisioning started through one gateway completes through the other gateway's callback", async () => {
  const [first, second] = [gateways[0]!.url, gateways[1]!.url];
  const started = await api(first, 'POST', '/provisionings?wait=20s', {
    accountId: await newAccount(),
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
    oauth: { username: 'jo@example.test', returnUrl: RETURN_URL },
    // Polling Cyclr would complete it by itself; an hour apart, only the callback can within this test.
    timeouts: { checkEvery: '1h' },
  });
  expect(started.status).toBe(202);
  const workflowId = started.json.workflowId as string;
  const waiting = await stageAt(second, workflowId, 'awaiting-consent');
  expect(waiting.consentLink!.startsWith(`${first}/connect/`)).toBe(true);

  // The user clicks the link (the first gateway answers), approves at Cyclr, and Cyclr's redirect to the callback
  // lands on the second gateway.
  const click = await fetch(waiting.consentLink!, { redirect: 'manual' });
  expect(click.status).toBe(302);
  const consent = await answerConsentPage(click.headers.get('location')!);
  const callback = new URL(consent.location!);
  expect(callback.origin).toBe(first);
  expect(callback.pathname).toBe('/oauth/callback');
  const landed = await fetch(`${second}${callback.pathname}${callback.search}`, { redirect: 'manual' });
  expect(landed.status).toBe(302);
  expect(landed.headers.get('location')).toBe(RETURN_URL);

  const done = await stageAt(first, workflowId, 'completed', 30_000);
  expect(done.accountConnectorId).toBe(waiting.accountConnectorId);
});

test('an ApiKey provisioning completes on the cluster', async () => {
  const started = await api(gateways[1]!.url, 'POST', '/provisionings?wait=20s', {
    accountId: await newAccount(),
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'api-key-for-acme',
  });
  expect([200, 202]).toContain(started.status);
  await stageAt(gateways[0]!.url, started.json.workflowId as string, 'completed', 30_000);
});

test('a provisioning waiting for consent survives a stop of everything (server, database, workers, gateways)', async () => {
  const started = await api(gateways[0]!.url, 'POST', '/provisionings?wait=20s', {
    accountId: await newAccount(),
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
    oauth: { username: 'sam@example.test', returnUrl: RETURN_URL },
    timeouts: { checkEvery: '1h' },
  });
  const workflowId = started.json.workflowId as string;
  const waiting = await stageAt(gateways[0]!.url, workflowId, 'awaiting-consent');

  const stoppedAt = Date.now();
  await Promise.all([...workers, ...gateways.map((g) => g.process)].map((p) => p.kill()));
  const script = (name: string) => fileURLToPath(new URL(`../../scripts/cluster/${name}`, import.meta.url));
  execFileSync(script('down.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(script('up.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  await startProcesses();
  console.log(`everything stopped and back in ${Date.now() - stoppedAt} ms`);

  // The link handed out before the stop still works; the callback lands on the other gateway.
  const click = await fetch(waiting.consentLink!, { redirect: 'manual' });
  expect(click.status).toBe(302);
  const consent = await answerConsentPage(click.headers.get('location')!);
  const callback = new URL(consent.location!);
  const landed = await fetch(`${gateways[1]!.url}${callback.pathname}${callback.search}`, { redirect: 'manual' });
  expect(landed.status).toBe(302);
  const done = await stageAt(gateways[0]!.url, workflowId, 'completed', 60_000);
  expect(done.accountConnectorId).toBe(waiting.accountConnectorId);
});

/** Stops the Temporal server alone (PostgreSQL keeps running) and starts it again with scripts/cluster/up.sh. */
async function restartTemporalServer(): Promise<number> {
  const startedAt = Date.now();
  const pidFile = `${process.env.CLUSTER_DIR}/temporal.pid`;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  await eventually(
    async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    },
    30_000,
    'the Temporal server to stop',
  );
  const script = fileURLToPath(new URL('../../scripts/cluster/up.sh', import.meta.url));
  execFileSync(script, { stdio: ['ignore', 'ignore', 'inherit'] });
  return Date.now() - startedAt;
}

/** Submits BATCH_ROWS ApiKey rows through a gateway; resolves with what it needs to follow and check them. */
async function submitRows(gateway: string) {
  const prefix = uniqueId('wave');
  const body = Array.from({ length: BATCH_ROWS }, (_, i) =>
    JSON.stringify({
      accountId: `${prefix}-${i}`,
      account: { create: true },
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'cluster-batch-key',
    }),
  ).join('\n');
  const submitted = await fetch(`${gateway}/batches`, {
    method: 'POST',
    headers: withToken({ 'content-type': 'application/x-ndjson' }),
    body,
  });
  expect(submitted.status).toBe(202);
  const { batchId } = (await submitted.json()) as { batchId: string };
  const progress = async () => (await api(gateway, 'GET', `/batches/${encodeURIComponent(batchId)}`)).json;
  const finished = () =>
    eventually(
      async () => {
        const p = await progress();
        return p.workflowStatus === 'RUNNING' ? undefined : p;
      },
      300_000,
      'the batch to finish',
    );
  /** Installs at Cyclr per row: 0 is a lost row, more than 1 a duplicate. */
  const installs = async () => {
    const stats = await simulatorStats(simulator.url);
    return Array.from({ length: BATCH_ROWS }, (_, i) =>
      installCount(stats, `${prefix}-${i}`, FIXTURE_CONNECTORS.apiKey.name),
    );
  };
  return { progress, finished, installs };
}

test(`a ${BATCH_ROWS}-row batch spreads over the workers: each runs at least 20% of the rows`, async () => {
  const startedAt = Date.now();
  const batch = await submitRows(gateways[1]!.url);
  const done = await batch.finished();
  const rowsByWorker = (done.rowsByWorker ?? {}) as Record<string, number>;
  console.log(
    `cluster batch spread: ${JSON.stringify({ rows: BATCH_ROWS, seconds: (Date.now() - startedAt) / 1000, completed: done.completed, rowsByWorker })}`,
  );
  expect(done).toMatchObject({ total: BATCH_ROWS, completed: BATCH_ROWS, failed: 0 });
  const live = workers.map(
    (w) => rowsByWorker[Object.keys(rowsByWorker).find((id) => id.startsWith(`${w.process.pid}@`)) ?? ''] ?? 0,
  );
  for (const rows of live) expect(rows).toBeGreaterThanOrEqual(0.2 * BATCH_ROWS);
}, 600_000);

test(`during a ${BATCH_ROWS}-row batch, a SIGKILLed worker and a restarted Temporal server: 0 duplicates, 0 lost`, async () => {
  const startedAt = Date.now();
  const batch = await submitRows(gateways[0]!.url);
  // A third of the way in: SIGKILL one worker (a supervisor starts it again), and restart the Temporal server.
  await eventually(
    async () => (((await batch.progress()).completed as number) >= BATCH_ROWS / 3 ? true : undefined),
    240_000,
    'a third of the batch',
  );
  await workers[0]!.kill('SIGKILL');
  const restartMs = await restartTemporalServer();
  workers[0] = await track(startWorker(options, 'worker-1-again'));
  const done = await batch.finished();
  const installs = await batch.installs();
  const duplicates = installs.filter((n) => n > 1).length;
  const lost = installs.filter((n) => n === 0).length;
  console.log(
    `cluster batch faults: ${JSON.stringify({ rows: BATCH_ROWS, seconds: (Date.now() - startedAt) / 1000, completed: done.completed, failed: done.failed, duplicates, lost, serverRestartMs: restartMs, rowsByWorker: done.rowsByWorker })}`,
  );
  expect(done).toMatchObject({ total: BATCH_ROWS, completed: BATCH_ROWS, failed: 0 });
  expect(duplicates).toBe(0);
  expect(lost).toBe(0);
}, 600_000);
