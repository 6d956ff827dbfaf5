/**
 * The worker's own resources: run() returns once it has shut down, having handed its share of the cluster-wide
 * request rate back (the others get it at once, not at the lease's expiry) and closed its connection. Against the
 * dev server, with the worker in this process and a second worker on the queue to answer the lease workflow.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { LEASE_TTL_MS, leaseUpdate, requestRateWorkflowId } from '../src/contract/request-rate.js';
import { loadConfig } from '../src/config.js';
import { dataConverter } from '../src/temporal/connection.js';
import { createWorker } from '../src/worker.js';
import { eventually, temporalAddress, testEnv, uniqueId } from './support/harness.js';
import { installRuntimeOnce } from './support/time-skipping.js';

const LIMIT = 10;
let connection: Connection;

beforeAll(async () => {
  // Workers in this process share one Runtime: the quiet one the other in-process suites install.
  installRuntimeOnce();
  connection = await Connection.connect({ address: temporalAddress() });
});

afterAll(() => connection?.close());

test('a worker that shuts down releases its request-rate share at once and closes its connection', async () => {
  const taskQueue = uniqueId('lifecycle');
  const env = testEnv({
    taskQueue,
    simulatorUrl: 'http://127.0.0.1:9',
    env: { CYCLR_MAX_REQUESTS_PER_SECOND: `${LIMIT}` },
  });
  // createWorker loads the prebundled workflows named by WORKFLOW_BUNDLE_PATH, as a deployed worker does.
  process.env.WORKFLOW_BUNDLE_PATH = env.WORKFLOW_BUNDLE_PATH;
  const config = loadConfig('worker', env);
  const client = new Client({ connection, dataConverter: dataConverter(config) });

  // The other worker on the queue: it keeps answering the lease workflow after the first has gone.
  const otherConnection = await NativeConnection.connect({ address: temporalAddress() });
  const other = await Worker.create({
    connection: otherConnection,
    taskQueue,
    workflowBundle: { codePath: env.WORKFLOW_BUNDLE_PATH! },
    dataConverter: dataConverter(config),
  });
  const otherRunning = other.run();
  try {
    const { worker, run } = await createWorker(config);
    const running = run();
    const lease = (workerId: string) =>
      client.workflow
        .getHandle(requestRateWorkflowId(taskQueue))
        .executeUpdate(leaseUpdate, { args: [{ workerId, limit: LIMIT, demand: { waiting: 5, sentLastSecond: 0 } }] });

    // The worker holds a lease: a second asker shares the limit with it.
    await eventually(
      async () => ((await lease('probe')).workers === 2 ? true : undefined),
      30_000,
      'two lease holders',
    );

    worker.shutdown();
    await running;
    const stoppedAt = Date.now();
    // Its grant is gone now, well before it would have lapsed: the asker is alone and may take the whole limit.
    const after = await lease('probe');
    expect(after).toMatchObject({ workers: 1, target: LIMIT });
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_TTL_MS);
    // Its connection is closed: the worker's process has nothing left keeping it alive.
    await expect(worker.connection!.workflowService.getSystemInfo({})).rejects.toThrow();
  } finally {
    other.shutdown();
    await otherRunning;
    await otherConnection.close();
  }
});
