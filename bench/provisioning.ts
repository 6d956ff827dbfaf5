/**
 * `npm run bench`: 200 OAuth provisionings against the simulator, on a real Temporal dev server and worker.
 * Each start asks for its consent link in the same call (`start(request, { waitMs })`, update-with-start, as
 * `POST /provisionings?wait=10s` does), so start-to-`awaiting-consent` is what an onboarding service waits for.
 * Prints p50/p99 of that (50 in flight, and one at a time), starts per second, consent-signal-to-`completed`,
 * and the history events a provisioning stores, beside two baselines measured in the same run: the simulator's own
 * request round trip (what one Cyclr call costs here) and a workflow that does nothing, started the same way on the
 * same dev server (what Temporal itself costs per start here: the ceiling for any workflow per start).
 *
 *   npm run bench [-- --count 200 --concurrency 50]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import pLimit from 'p-limit';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { startDevServer } from '../dev/local-stack/dev-server.js';
import { startService } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startSimulator } from '../dev/simulator/server.js';
import { dataConverter } from '../src/temporal/connection.js';
import { writeWorkflowBundle } from '../src/workflow-bundle.js';
import { cpuMs, percentile } from './support.js';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '50' } },
});
const COUNT = Number(values.count);
const CONCURRENCY = Number(values.concurrency);

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const run = pLimit(limit);
  await Promise.all(items.map((item) => run(() => fn(item))));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const [server, bundlePath, simulator] = await Promise.all([
    startDevServer({ headless: true }),
    writeWorkflowBundle(join(dir, 'workflow-bundle.js')),
    startSimulator({ clientId: 'bench', clientSecret: 'bench-secret-0123456789' }),
  ]);
  const env = {
    // The development keys in the source (said explicitly: no other run may use them).
    NODE_ENV: 'development',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: 'bench',
    CYCLR_API_URL: simulator.url,
    CYCLR_SERVICE_DOMAIN: simulator.url,
    CYCLR_CLIENT_ID: 'bench',
    CYCLR_CLIENT_SECRET: 'bench-secret-0123456789',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    // As in bench:batch: node options for the worker, e.g. BENCH_WORKER_NODE_OPTIONS=--max-old-space-size=160.
    ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
  };
  const worker = startService({ name: 'worker', script: 'src/worker.ts', env });
  try {
    await worker.waitFor(/worker ready/);
    const config = loadConfig('client', env);
    const connection = await Connection.connect({ address: server.address });
    const client = new ProvisioningClient(
      new Client({ connection, dataConverter: dataConverter(config) }),
      config.temporal.taskQueue,
    );

    // Baseline: the simulator's own round trip for one authenticated Cyclr call, measured now, on this machine.
    const tokenRes = await fetch(`${simulator.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'bench',
        client_secret: env.CYCLR_CLIENT_SECRET,
      }),
    });
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const roundTrips: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const res = await fetch(`${simulator.url}/v1.0/connectors/${FIXTURE_CONNECTORS.oauth.id}`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      await res.arrayBuffer();
      roundTrips.push(performance.now() - t0);
    }

    const accounts = Array.from({ length: 2 * COUNT + 50 + 2 }, (_, i) => `bench-${Date.now().toString(36)}-${i}`);
    await fetch(`${simulator.url}/_admin/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accounts }),
    });

    const oauthRequest = (accountId: string) => ({
      accountId,
      connector: { id: FIXTURE_CONNECTORS.oauth.id },
      oauth: { username: 'bench@example.test', returnUrl: 'https://example.test/done' },
      timeouts: { checkEvery: '1h' },
    });
    /** One start that answers with the consent link: the time an onboarding service waits for it. */
    const startForLink = async (accountId: string, into: number[], waiting?: Map<string, number>) => {
      const t = performance.now();
      const started = await client.start(oauthRequest(accountId), { waitMs: 10_000 });
      into.push(performance.now() - t);
      if (started.status?.stage !== 'awaiting-consent' || !started.status.consentLink) {
        throw new Error(
          `${started.workflowId}: answered ${started.status?.stage} without a consent link (${JSON.stringify(started.status?.lastError)})`,
        );
      }
      waiting?.set(started.workflowId, started.status.accountConnectorId!);
    };

    // Warm-up: the worker's first workflows, its connector cache and connections.
    await pool(accounts.splice(0, 20), 10, (a) => startForLink(a, []));

    const oneAtATime: number[] = [];
    for (const accountId of accounts.splice(0, 30)) await startForLink(accountId, oneAtATime);

    // As the issue measured it: plain starts, 50 in flight; start to the workflow's own awaiting-consent timestamp.
    const plainToWaiting: number[] = [];
    const plainStarted = new Map<string, number>();
    const tPlain = performance.now();
    await pool(accounts.splice(0, COUNT), CONCURRENCY, async (accountId) => {
      const at = Date.now();
      const { workflowId } = await client.start(oauthRequest(accountId));
      plainStarted.set(workflowId, at);
    });
    let lastWaiting = 0;
    await pool([...plainStarted.keys()], CONCURRENCY, async (workflowId) => {
      for (;;) {
        const entry = (await client.status(workflowId)).history.find((h) => h.stage === 'awaiting-consent');
        if (entry) {
          plainToWaiting.push(Date.parse(entry.at) - plainStarted.get(workflowId)!);
          lastWaiting = Math.max(lastWaiting, Date.parse(entry.at));
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    });
    const plainPhase = lastWaiting - Date.now() + (performance.now() - tPlain);

    const toWaiting: number[] = [];
    const waiting = new Map<string, number>();
    const pids = { 'dev server': server.process.pid!, worker: worker.process.pid!, 'bench + simulator': process.pid };
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    const t0 = performance.now();
    await pool(accounts.splice(0, COUNT), CONCURRENCY, (a) => startForLink(a, toWaiting, waiting));
    const startPhase = performance.now() - t0;
    const cpuPerStart = Object.entries(pids)
      .map(([k, pid]) => `${k} ${((cpuMs(pid) - cpuBefore[k]!) / COUNT).toFixed(1)} ms`)
      .join(', ');

    const toCompleted: number[] = [];
    const t1 = performance.now();
    await pool([...waiting.entries()], CONCURRENCY, async ([workflowId, accountConnectorId]) => {
      await fetch(`${simulator.url}/_admin/account-connectors/${accountConnectorId}/authenticate`, { method: 'POST' });
      const signalledAt = Date.now();
      await client.completeConsent(workflowId, 'bench');
      const result = await client.result(workflowId);
      toCompleted.push(Date.parse(result.completedAt) - signalledAt);
    });
    const signalPhase = performance.now() - t1;

    const rt50 = percentile(roundTrips, 50);
    const rt99 = percentile(roundTrips, 99);
    const row = (label: string, samples: number[]) => {
      const p50 = percentile(samples, 50);
      const p99 = percentile(samples, 99);
      return `${label.padEnd(34)} p50 ${p50.toFixed(0).padStart(6)} ms   p99 ${p99.toFixed(0).padStart(6)} ms   (${(p50 / rt50).toFixed(0)}x / ${(p99 / rt99).toFixed(0)}x the round trip)`;
    };
    console.log(
      `\nprovisionings: ${COUNT} OAuth (${FIXTURE_CONNECTORS.oauth.name}), client concurrency ${CONCURRENCY}`,
    );
    console.log(
      `${'simulator round trip (baseline)'.padEnd(34)} p50 ${rt50.toFixed(2).padStart(6)} ms   p99 ${rt99.toFixed(2).padStart(6)} ms`,
    );
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    console.log(row(`start -> awaiting-consent, ${CONCURRENCY} in flight`, plainToWaiting));
    const plainPerSecond = COUNT / (plainPhase / 1000);
    console.log(
      `  ${plainPerSecond.toFixed(1)} starts/s (target >= 100 ${verdict(plainPerSecond >= 100)}); ` +
        `target p50 <= 500 ms ${verdict(percentile(plainToWaiting, 50) <= 500)}, p99 <= 1500 ms ${verdict(percentile(plainToWaiting, 99) <= 1500)}`,
    );
    console.log(row(`start -> consent link in the answer, ${CONCURRENCY} in flight`, toWaiting));
    console.log(
      `  target p50 <= 500 ms ${verdict(percentile(toWaiting, 50) <= 500)}, p99 <= 1500 ms ${verdict(percentile(toWaiting, 99) <= 1500)}`,
    );
    console.log(row('start -> consent link, one at a time', oneAtATime));
    console.log(`  target p50 <= 150 ms ${verdict(percentile(oneAtATime, 50) <= 150)}`);
    console.log(row('consent signal -> completed', toCompleted));
    const startsPerSecond = COUNT / (startPhase / 1000);
    console.log(
      `throughput: ${startsPerSecond.toFixed(1)} starts/s to awaiting-consent (target >= 100 ${verdict(startsPerSecond >= 100)}), ` +
        `${(COUNT / (signalPhase / 1000)).toFixed(1)} completions/s`,
    );
    console.log(`CPU per start (${CONCURRENCY} in flight): ${cpuPerStart}`);

    // The floor: a workflow that does nothing, in a worker process of its own, started as many and as concurrently.
    const noopWorker = startService({
      name: 'noop-worker',
      script: 'bench/noop-worker.ts',
      env: { TEMPORAL_ADDRESS: server.address, TEMPORAL_TASK_QUEUE: 'bench-noop' },
    });
    try {
      await noopWorker.waitFor(/worker ready/);
      const temporal = new Client({ connection });
      const noop = (id: string) => temporal.workflow.execute('noop', { taskQueue: 'bench-noop', workflowId: id });
      const tag = Date.now().toString(36);
      await pool(
        Array.from({ length: 20 }, (_, i) => `noop-warm-${tag}-${i}`),
        10,
        noop,
      );
      const noopPids = { 'dev server': server.process.pid!, worker: noopWorker.process.pid! };
      const noopBefore = Object.fromEntries(Object.entries(noopPids).map(([k, pid]) => [k, cpuMs(pid)]));
      const noopTimes: number[] = [];
      const t2 = performance.now();
      await pool(
        Array.from({ length: COUNT }, (_, i) => `noop-${tag}-${i}`),
        CONCURRENCY,
        async (id) => {
          const t = performance.now();
          await noop(id);
          noopTimes.push(performance.now() - t);
        },
      );
      const noopPerSecond = COUNT / ((performance.now() - t2) / 1000);
      const noopCpu = Object.entries(noopPids)
        .map(([k, pid]) => `${k} ${((cpuMs(pid) - noopBefore[k]!) / COUNT).toFixed(1)} ms`)
        .join(', ');
      console.log(
        `floor: a workflow that does nothing, ${CONCURRENCY} in flight, start to completion: ` +
          `${noopPerSecond.toFixed(1)} starts/s, p50 ${percentile(noopTimes, 50).toFixed(0)} ms, p99 ${percentile(noopTimes, 99).toFixed(0)} ms; ` +
          `CPU per start: ${noopCpu}. Provisioning starts reach ${((100 * startsPerSecond) / noopPerSecond).toFixed(0)}% of it.`,
      );
    } finally {
      await noopWorker.kill();
    }

    // History a provisioning stores: an ApiKey one from start to completion, an OAuth one until it waits.
    const apiKey = await client.start({
      accountId: accounts.shift()!,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'bench-api-key',
    });
    await client.result(apiKey.workflowId);
    const apiKeyEvents = (await client.handle(apiKey.workflowId).fetchHistory()).events?.length ?? 0;
    const oauth = await client.start(oauthRequest(accounts.shift()!), { waitMs: 10_000 });
    const oauthEvents = (await client.handle(oauth.workflowId).fetchHistory()).events?.length ?? 0;
    console.log(
      `history events: ApiKey provisioning, start to completion ${apiKeyEvents} (target <= 12 ${verdict(apiKeyEvents <= 12)}); ` +
        `OAuth provisioning, start to awaiting consent ${oauthEvents}`,
    );
    await connection.close();
  } finally {
    await worker.kill();
    await simulator.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
