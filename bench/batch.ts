/**
 * `npm run bench:batch [-- --quick | --memory]`: provisionBatch against a plain promise pool making one install per row, in the
 * same run on the same machine (the dev server shares its cores, so only the ratios travel).
 *
 * Self-contained: its own Temporal dev server, the simulator in this process (with latency faults), a worker
 * process, the workflow bundle. Prints, for 1,000 ApiKey rows: batch / pool wall time at window 100 with 200 ms and
 * 50 ms of Cyclr latency; the same through `provisioner batch FILE --follow` (a process of its own, start included)
 * at window 50; dev-server and worker CPU ms per row; history events per row; Cyclr requests per row. Then the rate
 * limit (share of CYCLR_MAX_REQUESTS_PER_SECOND used, the busiest second), the same with 429s injected, and
 * (without --quick) 10,000 rows: time per row against 1,000 and the worker's peak memory. `--memory` runs only the
 * 1,000- and 10,000-row runs at 200 ms, for trying memory settings (BENCH_WORKER_NODE_OPTIONS) quickly.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { submitBatch } from '../src/batch/batch-client.js';
import { BatchStore } from '../src/batch/store.js';
import { loadConfig } from '../src/config.js';
import { startDevServer } from '../dev/local-stack/dev-server.js';
import { PROJECT_ROOT, startService, type ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS, startSimulator, type Simulator } from '../dev/simulator/server.js';
import { dataConverter } from '../src/temporal/connection.js';
import type { BatchProgress } from '../src/contract/batch-messages.js';
import { batchWorkflowId } from '../src/contract/ids.js';
import { writeWorkflowBundle } from '../src/workflow-bundle.js';
import { changedSettings, cpuMs, memoryMb } from './support.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const memoryOnly = process.argv.includes('--memory');
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-client-secret-0123456789';
const PAYLOAD_KEY = 'b1:bench-payload-encryption-key-0123456789';
const CONNECTOR = FIXTURE_CONNECTORS.apiKey;
const dir = join(PROJECT_ROOT, '.tmp', 'bench-batch');
let runCounter = 0;

function envFor(address: string, taskQueue: string, simulatorUrl: string, extra: NodeJS.ProcessEnv = {}) {
  return {
    // The development notify secret in the source (said explicitly: no other run may use it).
    NODE_ENV: 'development',
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    CYCLR_API_URL: simulatorUrl,
    CYCLR_SERVICE_DOMAIN: simulatorUrl,
    CYCLR_CLIENT_ID: CLIENT_ID,
    CYCLR_CLIENT_SECRET: CLIENT_SECRET,
    PAYLOAD_ENCRYPTION_KEY: PAYLOAD_KEY,
    LINK_SIGNING_KEY: 'l1:bench-link-signing-key-0123456789',
    BATCH_STORE_DIR: join(dir, 'store'),
    // e.g. BENCH_WORKER_NODE_OPTIONS=--max-old-space-size=160: how much of the worker's peak is garbage not yet collected.
    ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
    ...extra,
  } satisfies NodeJS.ProcessEnv;
}

function accountsFor(sim: Simulator, n: number): string[] {
  const tag = `r${++runCounter}-${Date.now().toString(36)}`;
  const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  for (const id of ids) sim.seedAccount(id);
  return ids;
}

function batchFile(accounts: string[]): string {
  const file = join(dir, `batch-${runCounter}.jsonl`);
  const rows = accounts.map((accountId) =>
    JSON.stringify({ accountId, connector: { id: CONNECTOR.id }, authValue: 'bench-key' }),
  );
  writeFileSync(file, rows.join('\n') + '\n');
  return file;
}

/** The script a user would otherwise write (bench/plain-pool.ts), in a process of its own as the worker is. */
async function plainPool(sim: Simulator, rows: number, window: number): Promise<{ ms: number; requests: number }> {
  const accounts = accountsFor(sim, rows);
  sim.resetStats();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/plain-pool.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        CYCLR_API_URL: sim.url,
        CYCLR_CLIENT_ID: CLIENT_ID,
        CYCLR_CLIENT_SECRET: CLIENT_SECRET,
        WINDOW: String(window),
        CONNECTOR_ID: String(CONNECTOR.id),
        ACCOUNTS: accounts.join(','),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`plain pool exited ${code}`))));
  });
  return { ms: (JSON.parse(out) as { ms: number }).ms, requests: sim.stats().totalRequests };
}

interface Measured {
  ms: number;
  requests: number;
  cpu: Record<string, number>;
  progress: BatchProgress;
  batchId: string;
}

/** Runs `fn` (which provisions `rows` rows) and measures wall time, requests and CPU of the given processes. */
async function measured(
  sim: Simulator,
  pids: Record<string, number>,
  fn: () => Promise<{ progress: BatchProgress; batchId: string }>,
): Promise<Measured> {
  sim.resetStats();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const started = performance.now();
  const { progress, batchId } = await fn();
  const ms = performance.now() - started;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid) - before[k]!]));
  const rows = progress.total;
  if (progress.completed !== rows || progress.failed !== 0) {
    throw new Error(`batch ${batchId}: ${JSON.stringify({ ...progress, failures: progress.failures.slice(0, 3) })}`);
  }
  return { ms, requests: sim.stats().totalRequests, cpu, progress, batchId };
}

/** History events of every run of a workflow id (a batch continues as new). */
async function historyEvents(client: Client, workflowId: string): Promise<number> {
  let events = 0;
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    events += history.events?.length ?? 0;
  }
  return events;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const perRow = (ms: number, rows: number) => `${(ms / rows).toFixed(2)} ms/row`;

async function main(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cores = (await import('node:os')).cpus().length;
  console.log(`bench:batch on ${process.platform}, ${cores} cores${quick ? ' (--quick: no 10,000-row run)' : ''}`);

  const [server, bundle, sim] = await Promise.all([
    startDevServer({ headless: true }),
    writeWorkflowBundle(join(dir, 'workflow-bundle.js')),
    startSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
  ]);
  const workers: ServiceProcess[] = [];
  const startWorker = async (env: NodeJS.ProcessEnv) => {
    const w = startService({ name: 'worker', script: 'src/worker.ts', env: { ...env, WORKFLOW_BUNDLE_PATH: bundle } });
    workers.push(w);
    await w.waitFor(/worker ready/, 120_000);
    return w;
  };
  try {
    const taskQueue = `bench-batch-${Date.now()}`;
    const env = envFor(server.address, taskQueue, sim.url);
    const config = loadConfig('worker', env);
    // Every run uses the defaults a new user gets; what this bench sets is the simulator's latency (per run) and,
    // for the rate-limit runs only, CYCLR_MAX_REQUESTS_PER_SECOND (printed with them).
    console.log(
      `settings: a new user's defaults (CYCLR_MAX_CONCURRENT_REQUESTS unset: ${config.cyclr?.maxConcurrentRequests}); changed: ${changedSettings(env)}`,
    );
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: dataConverter(config) });
    const store = BatchStore.fromConfig({ ...config, batchStoreDir: join(dir, 'store') });
    const worker = await startWorker(env);
    const pids = { 'dev server': server.process.pid!, worker: worker.process.pid! };
    const idleMb = memoryMb(worker.process.pid!, 'VmRSS');

    const inProcess = (rows: number, window: number) => async () => {
      const file = batchFile(accountsFor(sim, rows));
      const { batchId } = await submitBatch(client, taskQueue, store, { file, concurrency: window });
      const progress = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchProgress;
      return { progress, batchId };
    };
    const throughCli = (rows: number, window: number) => async () => {
      const file = batchFile(accountsFor(sim, rows));
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['bin/provisioner.js', 'batch', file, '--follow', '--concurrency', String(window), '--json'],
          {
            cwd: PROJECT_ROOT,
            env: { ...process.env, ...env },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('exit', (c) => {
          lastCliOutput = out;
          resolve(c ?? 1);
        });
      });
      const report = JSON.parse(lastCliOutput) as { batchId: string; progress: BatchProgress };
      if (code !== 0) throw new Error(`provisioner batch exited ${code}`);
      return { progress: { ...report.progress, failures: [] }, batchId: report.batchId };
    };
    let lastCliOutput = '';

    // Warm-up: the worker's first workflows and connections, so the first measured run is not penalised.
    sim.setFaults({});
    await measured(sim, pids, inProcess(100, 100));
    await plainPool(sim, 100, 100);

    const table: string[][] = [];
    const compare = async (
      label: string,
      rows: number,
      window: number,
      latencyMs: number,
      cli: boolean,
      target: number,
    ) => {
      sim.setFaults({ '*': { latencyMs } });
      const batch = await measured(sim, pids, (cli ? throughCli : inProcess)(rows, window));
      const plain = await plainPool(sim, rows, window);
      const ratio = batch.ms / plain.ms;
      const events = await historyEvents(client, batchWorkflowId(batch.batchId));
      table.push([
        label,
        s(batch.ms),
        s(plain.ms),
        `${ratio.toFixed(2)}x`,
        `<= ${target}x ${ratio <= target ? 'met' : 'MISSED'}`,
        `${(batch.cpu['dev server']! / rows).toFixed(2)}`,
        `${(batch.cpu.worker! / rows).toFixed(2)}`,
        `${(events / rows).toFixed(3)}`,
        `${(batch.requests / rows).toFixed(2)} / ${(plain.requests / rows).toFixed(2)}`,
      ]);
      return batch;
    };
    if (memoryOnly) {
      sim.setFaults({ '*': { latencyMs: 200 } });
    }
    const b200 = memoryOnly
      ? await measured(sim, pids, inProcess(1000, 100))
      : await compare('1,000 rows, window 100, 200 ms', 1000, 100, 200, false, 1.5);
    if (!memoryOnly) {
      await compare('1,000 rows, window 100, 50 ms', 1000, 100, 50, false, 3);
      await compare('1,000 rows via `provisioner batch --follow`, window 50, 200 ms', 1000, 50, 200, true, 1.5);
      printTable(
        [
          'run',
          'batch',
          'plain pool',
          'ratio',
          'target',
          'dev-server CPU ms/row',
          'worker CPU ms/row',
          'history events/row',
          'Cyclr requests/row (batch / pool)',
        ],
        table,
      );
    }

    if (!quick) {
      sim.setFaults({ '*': { latencyMs: 200 } });
      const before = memoryMb(worker.process.pid!);
      const big = await measured(sim, pids, inProcess(10_000, 100));
      const ratio = big.ms / 10_000 / (b200.ms / 1000);
      const peak = memoryMb(worker.process.pid!);
      console.log(
        `10,000 rows, window 100, 200 ms: ${s(big.ms)}, ${perRow(big.ms, 10_000)} against ${perRow(b200.ms, 1000)} at 1,000 rows ` +
          `(${ratio.toFixed(2)}x; target <= 1.25x ${ratio <= 1.25 ? 'met' : 'MISSED'}); worker CPU ${(big.cpu.worker! / 10_000).toFixed(2)} ms/row; ` +
          `worker peak memory ${peak} MB (target <= 300 MB ${peak <= 300 ? 'met' : 'MISSED'}; ${idleMb} MB idle after start, ` +
          `${before} MB peak before this run)`,
      );
    } else {
      console.log(`worker peak memory so far: ${memoryMb(worker.process.pid!)} MB (${idleMb} MB idle after start)`);
    }
    await worker.kill();
    if (memoryOnly) return;

    // The rate limit: a worker on its own task queue with CYCLR_MAX_REQUESTS_PER_SECOND, and a file big enough
    // that the limit, not the window, decides the pace.
    const limit = 100;
    const limitedQueue = `${taskQueue}-limited`;
    const limitedEnv = envFor(server.address, limitedQueue, sim.url, { CYCLR_MAX_REQUESTS_PER_SECOND: String(limit) });
    const limited = await startWorker(limitedEnv);
    const limitedPids = { 'dev server': server.process.pid!, worker: limited.process.pid! };
    const limitedRun = (rows: number) => async () => {
      const file = batchFile(accountsFor(sim, rows));
      const { batchId } = await submitBatch(client, limitedQueue, store, { file, concurrency: 100 });
      const progress = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchProgress;
      return { progress, batchId };
    };
    const rate = (label: string, run: Measured, limitBound: boolean) => {
      const st = sim.stats();
      const spanS = ((st.lastArrivalMs ?? 0) - (st.firstArrivalMs ?? 0)) / 1000;
      const avg = st.totalRequests / spanS;
      const share = `average ${avg.toFixed(1)}/s = ${Math.round((avg / limit) * 100)}% of the limit`;
      console.log(
        `${label}: ${run.progress.completed}/${run.progress.total} completed, ${run.progress.failed} failed, ${s(run.ms)}; ` +
          (limitBound ? `${share} (target >= 90% ${avg / limit >= 0.9 ? 'met' : 'MISSED'})` : `${share}, backing off`) +
          `; busiest one-second window ${st.maxRequestsPerSecond} (target <= ${limit} ${st.maxRequestsPerSecond <= limit ? 'met' : 'MISSED'}); ` +
          `429s answered ${st.faultsInjected['429']}` +
          (limitBound ? '' : ` (target: no row fails ${run.progress.failed === 0 ? 'met' : 'MISSED'})`),
      );
    };
    sim.setFaults({ '*': { latencyMs: 50 } });
    await measured(sim, limitedPids, limitedRun(100)); // the lease and the worker warm up
    rate(
      `rate limit ${limit}/s, 2,000 rows, window 100, 50 ms`,
      await measured(sim, limitedPids, limitedRun(2000)),
      true,
    );
    sim.setFaults({
      seed: 7,
      '*': { latencyMs: 50 },
      install: { latencyMs: 50, rateLimitRate: 0.005, retryAfterSeconds: 1 },
    });
    rate(
      `same with 0.5% of installs answered 429 (Retry-After: 1)`,
      await measured(sim, limitedPids, limitedRun(2000)),
      false,
    );
    await connection.close();
  } finally {
    for (const w of workers) await w.kill().catch(() => undefined);
    await sim.close();
    await server.stop();
  }
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
