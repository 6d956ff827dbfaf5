/**
 * What the Temporal tests share: the dev server and workflow bundle started by global-setup, a simulator started in
 * this process, and workers started as real processes (so tests can kill them).
 */
import { Client, Connection } from '@temporalio/client';
import { ProvisioningClient } from '../../src/client.js';
import { loadConfig } from '../../src/config.js';
import { startService, type ServiceProcess } from '../../dev/local-stack/processes.js';
import { dataConverter } from '../../src/temporal/connection.js';
import { startSimulator, type Simulator } from '../../dev/simulator/server.js';

export const TEST_CLIENT_ID = 'test-client';
export const TEST_CLIENT_SECRET = 'test-client-secret-do-not-log';
export const TEST_LINK_KEY = 'k1:test-link-signing-key-0123456789';
export const TEST_PAYLOAD_KEY = 'p1:test-payload-encryption-key-0123456789';
export const TEST_NOTIFY_SECRET = 'test-notify-signing-secret-0123';

export function temporalAddress(): string {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('TEST_TEMPORAL_ADDRESS is unset: run the tests with `npm test` (global-setup starts the server)');
  return address;
}

let counter = 0;
/** Unique per run, so tests sharing one server never collide. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function startTestSimulator(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
  return startSimulator({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, ...options });
}

export interface TestStackOptions {
  taskQueue: string;
  simulatorUrl: string;
  publicBaseUrl?: string;
  env?: NodeJS.ProcessEnv;
}

/** The environment a worker, gateway or CLI process of a test runs with. */
export function testEnv({ taskQueue, simulatorUrl, publicBaseUrl, env }: TestStackOptions): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    CYCLR_API_URL: simulatorUrl,
    CYCLR_SERVICE_DOMAIN: simulatorUrl,
    CYCLR_CLIENT_ID: TEST_CLIENT_ID,
    CYCLR_CLIENT_SECRET: TEST_CLIENT_SECRET,
    LINK_SIGNING_KEY: TEST_LINK_KEY,
    PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY,
    NOTIFY_SIGNING_SECRET: TEST_NOTIFY_SECRET,
    PUBLIC_BASE_URL: publicBaseUrl ?? 'http://127.0.0.1:9',
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
    ...env,
  };
}

export async function startWorkerProcess(options: TestStackOptions): Promise<ServiceProcess> {
  const worker = startService({ name: 'worker', script: 'src/worker.ts', env: testEnv(options) });
  await worker.waitFor(/worker ready/);
  return worker;
}

export async function provisioningClient(options: TestStackOptions): Promise<ProvisioningClient> {
  const config = loadConfig('client', testEnv(options));
  const connection = await Connection.connect({ address: config.temporal.address });
  return new ProvisioningClient(
    new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) }),
    config.temporal.taskQueue,
  );
}

/** Polls until `check` returns a value (not undefined), or fails with what it last saw. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A simulator in this process, a worker process and a client, on a task queue of their own. */
export interface TestStack {
  simulator: Simulator;
  worker: ServiceProcess;
  client: ProvisioningClient;
  options: TestStackOptions;
  /** Kills the worker (SIGKILL by default) and starts a new one on the same queue. */
  restartWorker(signal?: NodeJS.Signals): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export async function startTestStack(
  name: string,
  extra: { env?: NodeJS.ProcessEnv; simulator?: Parameters<typeof startSimulator>[0] } = {},
): Promise<TestStack> {
  const simulator = await startTestSimulator(extra.simulator);
  const options: TestStackOptions = { taskQueue: uniqueId(name), simulatorUrl: simulator.url, env: extra.env };
  const [worker, client] = await Promise.all([startWorkerProcess(options), provisioningClient(options)]);
  const stack: TestStack = {
    simulator,
    worker,
    client,
    options,
    async restartWorker(signal = 'SIGKILL') {
      await stack.worker.kill(signal);
      stack.worker = await startWorkerProcess(options);
      return stack.worker;
    },
    async stop() {
      await stack.worker.kill();
      await client.temporal.connection.close();
      await simulator.close();
    },
  };
  return stack;
}
