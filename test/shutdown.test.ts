/**
 * Graceful shutdown: SIGTERM stops the worker polling, lets the activity in flight finish, and exits 0; the
 * provisioning carries on with the next worker, without a second install.
 */
import type { ProvisioningClient } from '../src/client.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import {
  eventually,
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  uniqueId,
  type TestStackOptions,
} from './support/harness.js';
import { installCount, seedAccounts, setFaults, simulatorStats } from './support/simulator-admin.js';

let simulator: Simulator;
let client: ProvisioningClient;
let stack: TestStackOptions;
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  simulator = await startTestSimulator();
  stack = { taskQueue: uniqueId('shutdown'), simulatorUrl: simulator.url };
  client = await provisioningClient(stack);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await client?.temporal.connection.close();
  await simulator?.close();
});

function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function exitOf(worker: ServiceProcess): Promise<number | null> {
  const p = worker.process;
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

test('SIGTERM lets the in-flight install finish, exits 0, and a new worker completes the provisioning', async () => {
  // DEBUG: the SDK logs each activity's completion, which shows where the install finished.
  const first = await startWorkerProcess({ ...stack, env: { LOG_LEVEL: 'DEBUG' } });
  workers.push(first);
  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  // A slow install: the activity is still running on the first worker when it is told to stop.
  await setFaults(simulator.url, { install: { latencyMs: 3000 } });

  const { workflowId } = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'key-1',
  });
  await eventually(async () => ((await client.status(workflowId)).stage === 'installing' ? true : undefined));
  await new Promise((r) => setTimeout(r, 500)); // the install request is now waiting on the simulator
  const exited = exitOf(first);
  const signalledAt = Date.now();
  first.process.kill('SIGTERM');

  const second = await startWorkerProcess(stack);
  workers.push(second);

  expect(await exitOf(first)).toBe(0);
  await exited;
  // It waited for the slow install rather than abandoning it: the first worker completed it.
  const lines = jsonLines(first.output());
  const installDone = lines.find((l) => l.msg === 'Activity completed' && l.activityType === 'installConnector');
  expect(installDone).toMatchObject({ workflowId, attempt: 1, level: 'debug' });
  expect(lines.some((l) => String(l.msg).startsWith('worker stopped'))).toBe(true);
  expect(Date.now() - signalledAt).toBeLessThan(20_000);

  const result = await client.result(workflowId);
  expect(result.authenticated).toBe(true);
  await setFaults(simulator.url, {});
  expect(installCount(await simulatorStats(simulator.url), accountId, FIXTURE_CONNECTORS.apiKey.name)).toBe(1);
});
