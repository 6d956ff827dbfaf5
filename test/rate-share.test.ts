/**
 * One Cyclr budget shared by three worker processes: CYCLR_MAX_REQUESTS_PER_SECOND=L is what the simulator sees in
 * all, whichever workers the batch's rows run on, and a worker that dies gives its share back within seconds.
 * Real dev server, real worker processes, the simulator counting arrivals per second.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchProgress, submitBatch } from '../src/batch/batch-client.js';
import { BatchStore } from '../src/batch/store.js';
import { loadConfig } from '../src/config.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { LEASE_TTL_MS } from '../src/contract/request-rate.js';
import {
  eventually,
  startTestStack,
  startWorkerProcess,
  testEnv,
  uniqueId,
  type TestStack,
} from './support/harness.js';
import { simulatorStats } from './support/simulator-admin.js';

const LIMIT = 40;
const ROWS = 900;
/** The bar: the budget is used to at least this share while the work is limit-bound. */
const USED_AT_LEAST = 0.9;

let stack: TestStack;
let store: BatchStore;
let dir: string;
const extraWorkers: ServiceProcess[] = [];

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  dir = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'rate-share-'));
  const env = { BATCH_STORE_DIR: join(dir, 'store'), CYCLR_MAX_REQUESTS_PER_SECOND: String(LIMIT) };
  stack = await startTestStack('rate-share', { env });
  extraWorkers.push(...(await Promise.all([startWorkerProcess(stack.options), startWorkerProcess(stack.options)])));
  store = BatchStore.fromConfig(loadConfig('client', testEnv(stack.options)));
});

afterAll(async () => {
  await Promise.all(extraWorkers.map((w) => w.kill()));
  await stack?.stop();
});

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

test(`3 workers, CYCLR_MAX_REQUESTS_PER_SECOND=${LIMIT}: >= 90% of it in all, never over it, and a killed worker's share returns within 10 s`, async () => {
  const prefix = uniqueId('rs');
  const file = join(dir, `${prefix}.jsonl`);
  const row = (i: number) =>
    JSON.stringify({
      accountId: `${prefix}-${i}`,
      account: { create: true },
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'rate-share-key',
    });
  writeFileSync(file, Array.from({ length: ROWS }, (_, i) => row(i)).join('\n'));

  const { batchId } = await submitBatch(stack.client.temporal, stack.client.taskQueue, store, { file });
  // Let the three share the budget for a while, then kill one of them mid-batch.
  await eventually(
    async () => ((await simulatorStats(stack.simulator.url)).perSecond.length > 12 ? true : undefined),
    60_000,
    '12 s of batch traffic',
  );
  const killedAtSecond = (await simulatorStats(stack.simulator.url)).perSecond.length - 1;
  await extraWorkers[0]!.kill('SIGKILL');

  const done = await eventually(
    async () => {
      const snap = await batchProgress(stack.client.temporal, batchId);
      return snap.status === 'RUNNING' ? undefined : snap;
    },
    180_000,
    'the batch to finish',
  );
  expect(done.progress).toMatchObject({ total: ROWS, completed: ROWS, failed: 0 });
  const workersWithRows = Object.values(done.progress.rowsByWorker ?? {}).filter((n) => n > 0);
  expect(workersWithRows.length).toBeGreaterThanOrEqual(2);

  const stats = await simulatorStats(stack.simulator.url);
  const series = stats.perSecond;
  // Whole seconds only: the first (leases being granted) and the last (the work running out) are partial.
  const before = series.slice(2, killedAtSecond);
  const afterRebalance = series.slice(killedAtSecond + 10, killedAtSecond + 15);
  const report = {
    limit: LIMIT,
    rows: ROWS,
    requests: stats.totalRequests,
    maxInAnyOneSecondWindow: stats.maxRequestsPerSecond,
    meanBeforeKill: mean(before),
    meanFrom10sAfterKill: mean(afterRebalance),
    killedAtSecond,
    series,
    rowsByWorker: done.progress.rowsByWorker,
    leaseTtlMs: LEASE_TTL_MS,
  };
  console.log(`rate share: ${JSON.stringify(report)}`);

  expect(stats.maxRequestsPerSecond).toBeLessThanOrEqual(LIMIT);
  expect(before.length).toBeGreaterThanOrEqual(8);
  expect(mean(before)).toBeGreaterThanOrEqual(USED_AT_LEAST * LIMIT);
  // Still limit-bound then: the batch had work left for the two survivors.
  expect(series.length).toBeGreaterThan(killedAtSecond + 16);
  expect(mean(afterRebalance)).toBeGreaterThanOrEqual(USED_AT_LEAST * LIMIT);
}, 300_000);
