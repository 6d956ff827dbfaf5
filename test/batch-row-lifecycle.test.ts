/**
 * A batch row that completed at install has no workflow of its own: its outcome is the batch store's record of it.
 * Reconnecting or removing it must still work, as for any provisioning: the first such action gives it a run of its
 * own (its request read back from the batch's sealed page), and from then on Temporal answers for it.
 * Real dev server, worker process, simulator and batch store.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { submitBatch } from '../src/batch/batch-client.js';
import { BatchStore } from '../src/batch/store.js';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { batchWorkflowId, provisioningWorkflowId } from '../src/contract/ids.js';
import { Failure } from '../src/contract/failures.js';
import { parseProvisioningRequest } from '../src/contract/request.js';
import { startTestStack, testEnv, uniqueId, type TestStack } from './support/harness.js';
import { installCount, simulatorStats, uninstallCount } from './support/simulator-admin.js';

const run = promisify(execFile);

let stack: TestStack;
let dir: string;
let store: BatchStore;
let client: ProvisioningClient;

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  dir = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'batch-row-lifecycle-'));
  stack = await startTestStack('batch-row-lifecycle', { env: { BATCH_STORE_DIR: join(dir, 'store') } });
  store = BatchStore.fromConfig({ ...loadConfig('client', testEnv(stack.options)), batchStoreDir: join(dir, 'store') });
  client = new ProvisioningClient(stack.client.temporal, stack.client.taskQueue, { batchStore: store });
});

afterAll(async () => {
  await stack?.stop();
});

function idOf(row: object): string {
  const parsed = parseProvisioningRequest(row);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return provisioningWorkflowId(parsed.request);
}

test('a batch row that completed at install is reconnected and removed like any provisioning', async () => {
  const prefix = uniqueId('bl');
  // Rows 1-3 complete at install (ApiKey); a blank line and a bad row shift the lines, as a real file's would.
  const rows = [0, 1, 2].map((i) => ({
    accountId: `${prefix}-${i}`,
    account: { create: true },
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: `key-${i}`,
  }));
  const file = join(dir, `${prefix}.jsonl`);
  writeFileSync(
    file,
    [JSON.stringify(rows[0]), '', '{"accountId": 7}', ...rows.slice(1).map((r) => JSON.stringify(r))].join('\n'),
  );
  const { batchId } = await submitBatch(client.temporal, client.taskQueue, store, { file, pageSize: 2 });
  await client.temporal.workflow.getHandle(batchWorkflowId(batchId)).result();
  const [kept, reconnected, removed] = rows.map(idOf) as [string, string, string];

  // Before: answered from the batch's record, no workflow of its own.
  const before = await client.status(reconnected);
  expect(before).toMatchObject({ stage: 'completed', batchId, accountId: rows[1]!.accountId });
  await expect(client.temporal.workflow.getHandle(reconnected).describe()).rejects.toThrow();

  // Reconnect: still authenticated at Cyclr, so it completes at once, in a run of its own; no second install.
  const again = await client.reconnect(reconnected, { waitMs: 15_000 });
  expect(again.created).toBe(true);
  expect(again.status).toMatchObject({
    stage: 'completed',
    reconnects: 1,
    accountConnectorId: before.accountConnectorId,
    batchId,
  });
  expect((await client.temporal.workflow.getHandle(reconnected).describe()).status.name).toBe('COMPLETED');
  let stats = await simulatorStats(stack.simulator.url);
  expect(installCount(stats, rows[1]!.accountId, FIXTURE_CONNECTORS.apiKey.name)).toBe(1);

  // Remove: uninstalled at Cyclr once, recorded removed; a repeat is the same removal.
  const recorded = await client.status(removed);
  const gone = await client.remove(removed);
  expect(gone).toMatchObject({ removedByThisCall: true, status: { stage: 'removed', batchId } });
  expect((await client.remove(removed)).removedByThisCall).toBe(false);
  stats = await simulatorStats(stack.simulator.url);
  expect(uninstallCount(stats, rows[2]!.accountId, recorded.accountConnectorId!)).toBe(1);
  await expect(client.reconnect(removed)).rejects.toMatchObject({ type: Failure.ProvisioningRemoved });

  // The row left alone is still the batch's record; the others' runs list under the batch.
  expect(await client.status(kept)).toMatchObject({ stage: 'completed', batchId });
  const listed: string[] = [];
  for await (const run of client.temporal.workflow.list({
    query: `BatchId = "${batchId}" AND WorkflowType = "provisionConnector"`,
  }))
    listed.push(run.workflowId);
  expect(listed.sort()).toEqual([reconnected, removed].sort());

  // `provisioner list --account` finds a row that still has no run of its own in the batch store (by account), and
  // the removed one through its run (removed), not its record (completed).
  const listAccount = async (accountId: string) => {
    const { stdout } = await run(process.execPath, ['bin/provisioner.js', 'list', '--account', accountId, '--json'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...testEnv(stack.options), BATCH_STORE_DIR: join(dir, 'store') },
    });
    return JSON.parse(stdout) as { workflowId: string; stage: string; status: string; batchId?: string }[];
  };
  expect(await listAccount(rows[0]!.accountId)).toEqual([
    expect.objectContaining({ workflowId: kept, stage: 'completed', status: 'batch row', batchId }),
  ]);
  expect(await listAccount(rows[2]!.accountId)).toEqual([
    expect.objectContaining({ workflowId: removed, stage: 'removed', status: 'completed' }),
  ]);
}, 120_000);
