/**
 * Temporal fails a run's workflow task once it has more pending children than `limit.numPendingChildExecutions.error`
 * (2,000 by default), and a child waiting for consent stays pending in the run that started it. This suite runs its
 * own dev server with that limit at 20 and a batch of 60 OAuth rows taken 15 rows to a run: every row must reach
 * awaiting consent. A v3 batch queued its consent rows and started them all in its last run, and stalled here.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../dev/local-stack/dev-server.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { submitBatch } from '../src/batch/batch-client.js';
import { BatchStore } from '../src/batch/store.js';
import { loadConfig } from '../src/config.js';
import type { BatchProgress } from '../src/contract/batch-messages.js';
import { batchWorkflowId } from '../src/contract/ids.js';
import { startTestStack, testEnv, uniqueId, type TestStack } from './support/harness.js';

const PENDING_CHILDREN_LIMIT = 20;
const ROWS = 60;

let server: DevServer;
let stack: TestStack;
let dir: string;

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  dir = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'children-limit-'));
  server = await startDevServer({
    headless: true,
    dynamicConfig: { 'limit.numPendingChildExecutions.error': PENDING_CHILDREN_LIMIT },
  });
  stack = await startTestStack('children-limit', {
    env: { TEMPORAL_ADDRESS: server.address, BATCH_STORE_DIR: join(dir, 'store') },
  });
});

afterAll(async () => {
  await stack?.stop();
  await server?.stop();
});

test(`a batch of ${ROWS} OAuth rows under a limit of ${PENDING_CHILDREN_LIMIT} pending children: every row awaits consent`, async () => {
  const temporal = stack.client.temporal;
  const prefix = uniqueId('wave');
  const accounts = Array.from({ length: ROWS }, (_, i) => `${prefix}-${i}`);
  for (const id of accounts) stack.simulator.seedAccount(id);
  const file = join(dir, `${prefix}.jsonl`);
  const oauth = { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' };
  const row = (accountId: string) =>
    JSON.stringify({ accountId, connector: { id: FIXTURE_CONNECTORS.oauth.id }, oauth });
  writeFileSync(file, accounts.map(row).join('\n') + '\n');
  const store = BatchStore.fromConfig({
    ...loadConfig('client', testEnv(stack.options)),
    batchStoreDir: join(dir, 'store'),
  });

  const { batchId, workflowId } = await submitBatch(temporal, stack.client.taskQueue, store, {
    file,
    concurrency: 10,
    continueAsNewAfter: 15,
  });
  const handle = temporal.workflow.getHandle(batchWorkflowId(batchId));
  // Polled rather than awaited, so a stalled batch fails with the reason its workflow task gave.
  const deadline = Date.now() + 90_000;
  while ((await handle.describe()).status.name === 'RUNNING') {
    if (Date.now() > deadline) {
      const events = (await handle.fetchHistory()).events ?? [];
      const failed = events.filter((e) => e.workflowTaskFailedEventAttributes).at(-1);
      throw new Error(
        `batch ${batchId} did not finish; last failed workflow task: ` +
          `${failed?.workflowTaskFailedEventAttributes?.failure?.message ?? 'none'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const progress = (await handle.result()) as BatchProgress;
  expect(progress).toMatchObject({ total: ROWS, awaitingConsent: ROWS, failed: 0, state: 'completed' });

  // No run of the batch had a workflow task fail on the limit, and no run started more children than rows it took.
  const runs: { runId: string; children: number; failedTasks: string[] }[] = [];
  for await (const run of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const events = (await temporal.workflow.getHandle(workflowId, run.runId).fetchHistory()).events ?? [];
    runs.push({
      runId: run.runId,
      children: events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length,
      failedTasks: events.flatMap((e) => e.workflowTaskFailedEventAttributes?.failure?.message ?? []),
    });
  }
  // (A task that tries to close the run while a child's signal arrives fails as UnhandledCommand and is retried at
  // once, as Temporal means it to be: not a fault.)
  expect(runs.flatMap((r) => r.failedTasks).filter((m) => m !== 'UnhandledCommand')).toEqual([]);
  expect(runs.length).toBeGreaterThanOrEqual(ROWS / 15);
  expect(runs.reduce((sum, r) => sum + r.children, 0)).toBe(ROWS);
  expect(Math.max(...runs.map((r) => r.children))).toBeLessThanOrEqual(15);
});
