/**
 * `npm run bench:batch [-- --quick]`: provisionBatch against a plain promise pool making the same Cyclr calls.
 *
 * Self-contained: its own Temporal dev server, the simulator in this process (with latency faults), a worker
 * process, the workflow bundle. Prints wall times and their ratio (200 ms and 50 ms latency), Cyclr requests per
 * row, the worker's peak memory, time per row at 10,000 rows against 1,000, and, with a requests-per-second limit,
 * the highest rate the simulator saw and the share of the limit used. --quick skips the 10,000-row run.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createCyclrClient } from '../src/activities/cyclr/client.js';
import { submitBatch } from '../src/batch/client.js';
import { BatchStore } from '../src/batch/store.js';
import { loadConfig } from '../src/config.js';
import { startDevServer } from '../src/local-stack/dev-server.js';
import { PROJECT_ROOT, startService, type ServiceProcess } from '../src/local-stack/processes.js';
import { FIXTURE_CONNECTORS, startSimulator, type Simulator } from '../src/simulator/server.js';
import { dataConverter } from '../src/temporal/connection.js';
import type { BatchProgress } from '../src/workflows/batch-messages.js';
import { batchWorkflowId } from '../src/workflows/ids.js';
import { writeWorkflowBundle } from '../src/workflow-bundle.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const CONCURRENCY = 100;
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-client-secret-0123456789';
const PAYLOAD_KEY = 'b1:bench-payload-encryption-key-0123456789';
const CONNECTOR = FIXTURE_CONNECTORS.apiKey;
const dir = join(PROJECT_ROOT, '.tmp', 'bench-batch');
let runCounter = 0;

function envFor(
  address: string,
  taskQueue: string,
  simulatorUrl: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    CYCLR_API_URL: simulatorUrl,
    CYCLR_SERVICE_DOMAIN: simulatorUrl,
    CYCLR_CLIENT_ID: CLIENT_ID,
    CYCLR_CLIENT_SECRET: CLIENT_SECRET,
    // The pool below has 100 requests in flight; the worker gets the same.
    CYCLR_MAX_CONCURRENT_REQUESTS: String(CONCURRENCY),
    PAYLOAD_ENCRYPTION_KEY: PAYLOAD_KEY,
    LINK_SIGNING_KEY: 'l1:bench-link-signing-key-0123456789',
    BATCH_STORE_DIR: join(dir, 'store'),
    ...extra,
  };
}

function peakMemoryMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

let cpuPids: Record<string, number> = {};

function accountsFor(sim: Simulator, tag: string, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  for (const id of ids) sim.seedAccount(id);
  return ids;
}

/** Same Cyclr calls as a batch row (check the account, install by Name), no durability, a pool of 100. */
async function plainScript(sim: Simulator, rows: number): Promise<{ ms: number; requests: number }> {
  const accounts = accountsFor(sim, `plain${++runCounter}`, rows);
  const cyclr = createCyclrClient({
    apiUrl: sim.url,
    serviceDomain: sim.url,
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    maxConcurrentRequests: CONCURRENCY,
  });
  sim.resetStats();
  const started = performance.now();
  const connector = await cyclr.resolveConnector({ id: CONNECTOR.id });
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < accounts.length) {
        const accountId = accounts[next++]!;
        // The calls the worker makes per row: look the Name up in the account, then install.
        await cyclr.installConnector(accountId, connector.Id, { Name: connector.Name, AuthValue: 'bench-key' });
      }
    }),
  );
  const ms = performance.now() - started;
  cyclr.close();
  return { ms, requests: sim.stats().totalRequests };
}

async function batchRun(
  sim: Simulator,
  client: Client,
  store: BatchStore,
  taskQueue: string,
  rows: number,
): Promise<{ ms: number; requests: number; maxRps: number; progress: BatchProgress }> {
  const tag = `batch${++runCounter}`;
  const accounts = accountsFor(sim, tag, rows);
  const file = join(dir, `${tag}.jsonl`);
  writeFileSync(
    file,
    accounts
      .map((accountId) => JSON.stringify({ accountId, connector: { id: CONNECTOR.id }, authValue: 'bench-key' }))
      .join('\n') + '\n',
  );
  sim.resetStats();
  const cpuBefore = Object.fromEntries(Object.entries(cpuPids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const started = performance.now();
  // Wall time includes validating and storing the file, as a user would see it.
  const { batchId } = await submitBatch(client, taskQueue, store, { file, concurrency: CONCURRENCY });
  const progress = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchProgress;
  const ms = performance.now() - started;
  if (rows >= 1000) {
    const used = Object.entries(cpuPids).map(([k, pid]) => `${k} ${(cpuSeconds(pid) - cpuBefore[k]!).toFixed(1)} s`);
    console.log(`  CPU during the ${rows}-row batch (${s(ms)} wall, 2 cores): ${used.join(', ')}`);
  }
  if (progress.completed !== rows)
    throw new Error(`batch ${batchId}: ${JSON.stringify({ ...progress, failures: progress.failures.slice(0, 3) })}`);
  const stats = sim.stats();
  return { ms, requests: stats.totalRequests, maxRps: stats.maxRequestsPerSecond, progress };
}

async function startWorker(env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const worker = startService({ name: 'worker', script: 'src/worker.ts', env });
  await worker.waitFor(/worker ready/, 120_000);
  return worker;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(
    `bench:batch on ${process.platform}, ${(await import('node:os')).cpus().length} cores${quick ? ' (--quick: no 10,000-row run)' : ''}`,
  );
  const [server, bundle, sim] = await Promise.all([
    startDevServer({ headless: true }),
    writeWorkflowBundle(join(dir, 'workflow-bundle.js')),
    startSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
  ]);
  const workers: ServiceProcess[] = [];
  try {
    const taskQueue = `bench-batch-${Date.now()}`;
    const env = envFor(server.address, taskQueue, sim.url, { WORKFLOW_BUNDLE_PATH: bundle });
    const config = loadConfig(env);
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: dataConverter(config) });
    const store = new BatchStore(join(dir, 'store'), config.payloadKeys);
    const worker = await startWorker(env);
    workers.push(worker);
    cpuPids = {
      'Temporal dev server': server.process.pid!,
      worker: worker.process.pid!,
      'bench + simulator': process.pid,
    };

    // Warm-up: the worker's first workflows and connections, so the first measured run is not penalised.
    sim.setFaults({});
    await batchRun(sim, client, store, taskQueue, 50);

    const results: Record<string, string> = {};
    for (const latencyMs of [200, 50]) {
      sim.setFaults({ '*': { latencyMs } });
      const batch = await batchRun(sim, client, store, taskQueue, 1000);
      const plain = await plainScript(sim, 1000);
      console.log(
        `1,000 rows, concurrency ${CONCURRENCY}, latency ${latencyMs} ms: batch ${s(batch.ms)}, plain script ${s(plain.ms)}, ` +
          `ratio ${(batch.ms / plain.ms).toFixed(2)}x; Cyclr requests per row: batch ${(batch.requests / 1000).toFixed(2)}, plain ${(plain.requests / 1000).toFixed(2)}`,
      );
      results[`latency${latencyMs}`] = `${batch.ms}`;
    }
    console.log(`worker peak memory (VmHWM) after the 1,000-row runs: ${peakMemoryMb(worker.process.pid!)} MB`);

    if (!quick) {
      sim.setFaults({ '*': { latencyMs: 200 } });
      const big = await batchRun(sim, client, store, taskQueue, 10_000);
      const per1k = Number(results.latency200) / 1000;
      const per10k = big.ms / 10_000;
      console.log(
        `10,000 rows at 200 ms: ${s(big.ms)}, ${per10k.toFixed(2)} ms per row vs ${per1k.toFixed(2)} ms per row at 1,000 ` +
          `(${(per10k / per1k).toFixed(2)}x); requests per row ${(big.requests / 10_000).toFixed(2)}; ` +
          `worker peak memory ${peakMemoryMb(worker.process.pid!)} MB`,
      );
    }
    await worker.kill();

    // The rate limit: a worker on a fresh task queue with CYCLR_MAX_REQUESTS_PER_SECOND set.
    const limit = 100;
    const limitedQueue = `${taskQueue}-limited`;
    const limited = await startWorker(
      envFor(server.address, limitedQueue, sim.url, {
        WORKFLOW_BUNDLE_PATH: bundle,
        CYCLR_MAX_REQUESTS_PER_SECOND: String(limit),
      }),
    );
    workers.push(limited);
    cpuPids = {
      'Temporal dev server': server.process.pid!,
      worker: limited.process.pid!,
      'bench + simulator': process.pid,
    };
    sim.setFaults({ '*': { latencyMs: 50 } });
    const rl = await batchRun(sim, client, store, limitedQueue, 600);
    console.log(
      `rate limit ${limit} requests/s, 600 rows at 50 ms: ${s(rl.ms)}; highest rate the simulator saw ${rl.maxRps}/s ` +
        `(${Math.round((rl.maxRps / limit) * 100)}% of the limit); average ${(rl.requests / (rl.ms / 1000)).toFixed(0)}/s ` +
        `(${Math.round((rl.requests / (rl.ms / 1000) / limit) * 100)}%)`,
    );
    await connection.close();
  } finally {
    for (const w of workers) await w.kill().catch(() => undefined);
    await sim.close();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
