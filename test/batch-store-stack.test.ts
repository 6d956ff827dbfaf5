/**
 * Batches on an S3 batch store (a real MinIO server), end to end: a real Temporal dev server and worker process, the
 * Cyclr simulator. A batch runs from the bucket; a page no worker can open fails the batch and says why; a store
 * that cannot be reached holds the batch, says why while it retries, and the batch finishes once it is back.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchProgress, submitBatch } from '../src/batch/batch-client.js';
import { readBatchFile } from '../src/batch/parse-file.js';
import { BatchStore, contentHash } from '../src/batch/store.js';
import { loadConfig } from '../src/config.js';
import { progressLine, summary } from '../src/cli/batch-view.js';
import { batchWorkflowId, provisioningWorkflowId } from '../src/contract/ids.js';
import { Failure } from '../src/contract/failures.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { ProvisioningClient } from '../src/client.js';
import { eventually, startTestStack, testEnv, uniqueId, type TestStack } from './support/harness.js';
import { startMinio, type Minio } from './support/minio.js';

const BUCKET = 'stack-batches';
let minio: Minio;
let stack: TestStack;
let store: BatchStore;
let dir: string;

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  dir = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'batch-s3-'));
  minio = await startMinio();
  await minio.createBucket(BUCKET);
  stack = await startTestStack('batch-s3', { env: minio.env(BUCKET, 'deploy') });
  store = BatchStore.fromConfig(loadConfig('client', testEnv(stack.options)));
});

afterAll(async () => {
  await stack?.stop();
  await minio?.close();
  rmSync(dir, { recursive: true, force: true });
});

function batchFile(name: string, count: number): { file: string; ids: string[] } {
  const prefix = uniqueId(name);
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const file = join(dir, `${prefix}.jsonl`);
  const row = (accountId: string) =>
    JSON.stringify({
      accountId,
      account: { create: true },
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'k-SECRET',
    });
  writeFileSync(file, ids.map(row).join('\n') + '\n');
  return { file, ids };
}

test('a batch runs from the bucket; its rows answer status from the bucket', async () => {
  const { temporal, taskQueue } = stack.client;
  const { file } = batchFile('s3-ok', 30);
  const { batchId, workflowId } = await submitBatch(temporal, taskQueue, store, { file, concurrency: 10 });
  await temporal.workflow.getHandle(workflowId).result();
  const { progress } = await batchProgress(temporal, batchId);
  expect(progress).toMatchObject({ total: 30, completed: 30, failed: 0, state: 'completed' });
  expect(progress.problem).toBeUndefined();
  const first = (await store.rows(batchId).next()).value!;
  const withStore = new ProvisioningClient(temporal, taskQueue, { batchStore: store });
  await expect(withStore.status(provisioningWorkflowId(first.request))).resolves.toMatchObject({
    stage: 'completed',
    batchId,
  });
});

test('a page no worker can open fails the batch, and batch-status and --follow say why', async () => {
  const { temporal, taskQueue } = stack.client;
  // Stored by a process whose key the workers do not hold (a rotation that dropped it, another deployment's key).
  const config = loadConfig('client', testEnv(stack.options));
  const foreign = BatchStore.fromConfig({
    ...config,
    payloadKeys: [{ id: 'dev', secret: 'a-key-the-workers-do-not-hold-0123456789' }],
  });
  const { file } = batchFile('s3-sealed', 5);
  const { batchId, workflowId } = await submitBatch(temporal, taskQueue, foreign, { file });
  await expect(temporal.workflow.getHandle(workflowId).result()).rejects.toThrow();
  const snap = await batchProgress(temporal, batchId);
  expect(snap.status).toBe('FAILED');
  expect(snap.progress.state).toBe('failed');
  expect(snap.progress.problem).toMatchObject({ type: Failure.BatchPageUnreadable, retrying: false });
  expect(snap.progress.problem!.message).toContain(
    'batch page encrypted with key "dev", which PAYLOAD_ENCRYPTION_KEY does not hold',
  );
  expect(summary(batchId, snap)).toMatch(/failed: BatchPageUnreadable: .*key "dev"/);
  expect(progressLine(snap.progress, undefined, false)).toMatch(/failed: BatchPageUnreadable: .*key "dev"/);
});

test('a store that cannot be reached holds the batch visibly while it retries; it finishes once the store is back', async () => {
  const { temporal, taskQueue } = stack.client;
  const { file } = batchFile('s3-down', 12);
  // Stored while the bucket is up; the batch starts while it is down.
  const parsed = await readBatchFile(file);
  const batchId = `b-${contentHash(parsed.rows).slice(0, 16)}`;
  const { manifest } = await store.write(batchId, parsed.rows, parsed.rejected);
  await minio.stop();
  try {
    await temporal.workflow.start('provisionBatch', {
      taskQueue,
      workflowId: batchWorkflowId(batchId),
      args: [{ batchId, rows: manifest.rows, pageSize: manifest.pageSize, rejected: { count: 0, sample: [] } }],
    });
    const held = await eventually(
      async () => {
        const snap = await batchProgress(temporal, batchId);
        return snap.progress.problem ? snap : undefined;
      },
      60_000,
      'the batch to show its problem',
    );
    expect(held.status).toBe('RUNNING');
    expect(held.progress.problem).toMatchObject({ type: Failure.BatchStoreUnavailable, retrying: true });
    expect(held.progress.problem!.message).toContain(`the batch store at s3://${BUCKET}/deploy (${minio.endpoint})`);
    expect(held.progress.problem!.attempt).toBeGreaterThanOrEqual(2);
    expect(progressLine(held.progress, undefined, false)).toMatch(
      /held, retrying \(attempt \d+\): BatchStoreUnavailable: /,
    );
    expect(summary(batchId, held)).toMatch(/held, retrying .*cannot be used/);
  } finally {
    await minio.start();
  }
  // Back: the next attempt (bounded back-off, at most 30 s apart) runs the rows; the problem is gone.
  await temporal.workflow.getHandle(batchWorkflowId(batchId)).result();
  const done = await batchProgress(temporal, batchId);
  expect(done.progress).toMatchObject({ completed: 12, failed: 0, state: 'completed' });
  expect(done.progress.problem).toBeUndefined();
}, 180_000);
