/**
 * `npm run bench:wave [-- --rows 5000]`: an onboarding wave (issue 21). N OAuth rows go through provisionBatch until
 * every row awaits consent with a link and its `provisioning.consent_requested` event has reached the receiver; in
 * the same run, the floor: N workflows that do nothing, started on the same dev server with the batch's window
 * (`bench/noop-worker.ts`). Prints wall time and dev-server + worker CPU per row for both, their ratios against the
 * targets (<= 2x), history events per waiting provisioning, the worker's resident memory with N waiting, and how
 * long a wake-up (a status query) of waiting provisionings takes once most have left the worker's cache.
 * Then support at that size (bench/wave-support.ts): the console's list of those waiting and the CLI's list.
 *
 * Self-contained: its own dev server, the simulator in this process with 50 ms of latency, a worker process with a
 * new user's defaults (the batch's default window), and an event receiver in this process.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pLimit from 'p-limit';
import { submitBatch } from '../src/batch/batch-client.js';
import { BatchStore } from '../src/batch/store.js';
import { loadConfig } from '../src/config.js';
import type { BatchProgress } from '../src/contract/batch-messages.js';
import { batchWorkflowId } from '../src/contract/ids.js';
import { statusQuery } from '../src/contract/messages.js';
import { startDevServer } from '../dev/local-stack/dev-server.js';
import { PROJECT_ROOT, startService } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS, startSimulator } from '../dev/simulator/server.js';
import { dataConverter } from '../src/temporal/connection.js';
import { DEFAULTS as BATCH_DEFAULTS } from '../src/workflows/batch-state.js';
import { writeWorkflowBundle } from '../src/workflow-bundle.js';
import { changedSettings, cpuMs, memoryMb, percentile } from './support.js';
import { measureSupport } from './wave-support.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '5000' } } });
const ROWS = Number(values.rows);
const LATENCY_MS = 50;
/** Waiting provisionings woken by a status query after the wave. */
const WAKE_SAMPLE = 200;
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-client-secret-0123456789';
const dir = join(PROJECT_ROOT, '.tmp', 'bench-wave');

/** Counts `consent_requested` events per workflow; resolves `all` once `expected` distinct ones have arrived. */
async function eventReceiver(expected: number) {
  const seen = new Set<string>();
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        type: string;
        data: { workflowId: string };
      };
      if (event.type === 'provisioning.consent_requested') seen.add(event.data.workflowId);
      if (seen.size >= expected) done();
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    all,
    received: () => seen.size,
    /** The provisionings that asked for consent, in the order their events arrived. */
    workflowIds: () => [...seen],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [server, bundle, sim] = await Promise.all([
    startDevServer({ headless: true }),
    writeWorkflowBundle(join(dir, 'workflow-bundle.js')),
    startSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
  ]);
  const receiver = await eventReceiver(ROWS);
  const taskQueue = `bench-wave-${Date.now()}`;
  const env = {
    // The development keys in the source (said explicitly: no other run may use them).
    NODE_ENV: 'development',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    CYCLR_API_URL: sim.url,
    CYCLR_SERVICE_DOMAIN: sim.url,
    CYCLR_CLIENT_ID: CLIENT_ID,
    CYCLR_CLIENT_SECRET: CLIENT_SECRET,
    BATCH_STORE_DIR: join(dir, 'store'),
    WORKFLOW_BUNDLE_PATH: bundle,
  };
  const worker = startService({ name: 'worker', script: 'src/worker.ts', env });
  const noopWorker = startService({
    name: 'noop-worker',
    script: 'bench/noop-worker.ts',
    env: { TEMPORAL_ADDRESS: server.address, TEMPORAL_TASK_QUEUE: `${taskQueue}-noop` },
  });
  try {
    await Promise.all([worker.waitFor(/worker ready/, 120_000), noopWorker.waitFor(/worker ready/, 120_000)]);
    const config = loadConfig('worker', { ...process.env, ...env });
    const client = new Client({
      connection: await Connection.connect({ address: server.address }),
      dataConverter: dataConverter(config),
    });
    const store = BatchStore.fromConfig({ ...config, batchStoreDir: join(dir, 'store') });
    const window = BATCH_DEFAULTS.concurrency;
    console.log(
      `bench:wave: ${ROWS} OAuth rows (${FIXTURE_CONNECTORS.oauth.name}), simulator latency ${LATENCY_MS} ms`,
    );
    console.log(`settings: a new user's defaults (batch window ${window}); changed: ${changedSettings(env)}`);

    // The floor: N workflows that do nothing, started with the batch's window, each waited for.
    const noop = (id: string) => client.workflow.execute('noop', { taskQueue: `${taskQueue}-noop`, workflowId: id });
    const tag = Date.now().toString(36);
    await Promise.all(Array.from({ length: 50 }, (_, i) => noop(`noop-warm-${tag}-${i}`)));
    const floorPids = { 'dev server': server.process.pid!, worker: noopWorker.process.pid! };
    const floorCpu0 = Object.values(floorPids).map(cpuMs);
    const tFloor = performance.now();
    const limit = pLimit(window);
    await Promise.all(Array.from({ length: ROWS }, (_, i) => limit(() => noop(`noop-${tag}-${i}`))));
    const floorMs = performance.now() - tFloor;
    const floorCpu = Object.values(floorPids).reduce((sum, pid, i) => sum + cpuMs(pid) - floorCpu0[i]!, 0) / ROWS;

    // The wave.
    sim.setFaults({ '*': { latencyMs: LATENCY_MS } });
    const accounts = Array.from({ length: ROWS }, (_, i) => `wave-${tag}-${i}`);
    for (const id of accounts) sim.seedAccount(id);
    const file = join(dir, 'wave.jsonl');
    writeFileSync(
      file,
      accounts
        .map((accountId) =>
          JSON.stringify({
            accountId,
            connector: { id: FIXTURE_CONNECTORS.oauth.id },
            oauth: { username: 'customer@example.test', returnUrl: 'https://app.example.test/done' },
            notifyUrl: receiver.url,
          }),
        )
        .join('\n') + '\n',
    );
    const idleMb = memoryMb(worker.process.pid!, 'VmRSS');
    const pids = { 'dev server': server.process.pid!, worker: worker.process.pid! };
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    const t0 = performance.now();
    const { batchId } = await submitBatch(client, taskQueue, store, { file });
    const batch = client.workflow.getHandle(batchWorkflowId(batchId));
    let progress: BatchProgress;
    for (;;) {
      progress = await batch.query<BatchProgress>('progress').catch(async (err: unknown) => {
        // Say why the batch stopped answering: its last failed workflow task, and what the worker logged.
        const history = await batch.fetchHistory();
        const failed = history.events?.filter((e) => e.workflowTaskFailedEventAttributes).at(-1);
        console.error(
          'batch workflow task failed:',
          JSON.stringify(failed?.workflowTaskFailedEventAttributes?.failure),
        );
        console.error(worker.output().slice(-4000));
        throw err;
      });
      if (progress.awaitingConsent >= ROWS || progress.failed > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await receiver.all;
    const waveMs = performance.now() - t0;
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (cpuMs(pid) - cpu0[k]!) / ROWS]));
    const waveCpu = cpu['dev server']! + cpu.worker!;
    if (progress.failed > 0) throw new Error(`rows failed: ${JSON.stringify(progress.failures.slice(0, 3))}`);

    // History events of a sample of the waiting provisionings.
    const sample: number[] = [];
    for await (const run of client.workflow.list({
      query: `WorkflowType = 'provisionConnector' AND BatchId = '${batchId}' AND ExecutionStatus = 'Running'`,
      pageSize: 50,
    })) {
      sample.push((await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events?.length ?? 0);
      if (sample.length >= 50) break;
    }
    const events = sample.reduce((a, b) => a + b, 0) / Math.max(1, sample.length);
    await new Promise((r) => setTimeout(r, 10_000)); // settled: what the worker keeps while they all wait
    const waitingMb = memoryMb(worker.process.pid!, 'VmRSS');
    const peakMb = memoryMb(worker.process.pid!, 'VmHWM');

    // Wake-ups: a status query to waiting provisionings spread over the wave, one at a time. One the worker no
    // longer caches replays its history to answer; the time is the client's, round trip included.
    const waiting = receiver.workflowIds();
    const wakeIds = Array.from(
      { length: WAKE_SAMPLE },
      (_, i) => waiting[Math.floor((i * waiting.length) / WAKE_SAMPLE)]!,
    );
    const wakeMs: number[] = [];
    for (const id of wakeIds) {
      const t = performance.now();
      await client.workflow.getHandle(id).query(statusQuery);
      wakeMs.push(performance.now() - t);
    }
    const afterWakeMb = memoryMb(worker.process.pid!, 'VmRSS');

    const verdict = (ratio: number) => `${ratio.toFixed(2)}x (target <= 2x: ${ratio <= 2 ? 'met' : 'MISSED'})`;
    console.log(
      `floor (${ROWS} workflows that do nothing, window ${window}): ${(floorMs / 1000).toFixed(1)} s, ` +
        `${(ROWS / (floorMs / 1000)).toFixed(0)}/s, dev server + worker CPU ${floorCpu.toFixed(1)} ms per workflow`,
    );
    console.log(
      `wave (${ROWS} rows to awaiting consent, link and consent_requested sent): ${(waveMs / 1000).toFixed(1)} s, ` +
        `${(ROWS / (waveMs / 1000)).toFixed(0)} rows/s; CPU per row: dev server ${cpu['dev server']!.toFixed(1)} ms, ` +
        `worker ${cpu.worker!.toFixed(1)} ms`,
    );
    console.log(`  wall time against the floor: ${verdict(waveMs / floorMs)}`);
    console.log(`  CPU per row against the floor: ${verdict(waveCpu / floorCpu)}`);
    console.log(`  history events per waiting provisioning: ${events.toFixed(1)} (${sample.length} sampled)`);
    console.log(
      `  worker resident memory: ${idleMb} MB before, ${waitingMb} MB with ${ROWS} waiting (10 s after), peak ${peakMb} MB`,
    );
    console.log(`  consent_requested events received: ${receiver.received()} of ${ROWS}`);
    console.log(
      `  wake-ups (status query, ${wakeMs.length} waiting provisionings across the wave; cache ` +
        `${config.maxCachedWorkflows} workflows): p50 ${percentile(wakeMs, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(wakeMs, 99).toFixed(1)} ms (target <= 50 ms: ${percentile(wakeMs, 99) <= 50 ? 'met' : 'MISSED'}); ` +
        `worker resident memory after them ${afterWakeMb} MB (target <= 400 MB: ${Math.max(waitingMb, afterWakeMb) <= 400 ? 'met' : 'MISSED'})`,
    );
    await measureSupport(env, ROWS);
  } finally {
    await Promise.all([worker.kill(), noopWorker.kill()]);
    await receiver.close();
    await sim.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
