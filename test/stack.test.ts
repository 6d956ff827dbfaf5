/**
 * `npm run stack` as a newcomer runs it (here beside the test's dev server, with a state folder of its own): it prints
 * the NOTIFY_SIGNING_SECRET its worker signs events with, keeps it across restarts, and a receiver that verifies
 * with the printed secret, as the README shows, accepts the events the stack sends. A provisioning waiting for
 * consent when the stack stops completes after it starts again (the simulator keeps its state in the folder too).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { freePort } from '../dev/local-stack/dev-server.js';
import { startService, type ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { eventually, temporalAddress, uniqueId } from './support/harness.js';
import { approveSilently } from './support/simulator-admin.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stateDir: string;
let receiver: WebhookReceiver;
let stack: ServiceProcess | undefined;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'cyclr-provisioner-stack-'));
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await stack?.kill('SIGTERM');
  await receiver?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

async function startStack(env: NodeJS.ProcessEnv): Promise<{ stack: ServiceProcess; secret: string }> {
  const { NOTIFY_SIGNING_SECRET: _unset, ...inherited } = process.env;
  const started = startService({ name: 'stack', script: 'scripts/stack.ts', env: { ...inherited, ...env } });
  stack = started;
  await started.waitFor(/Local stack is up/, 180_000);
  const secret = /Events signed: +NOTIFY_SIGNING_SECRET=(whsec_\S+) \(generated; kept in (\S+)\)/.exec(
    started.output(),
  );
  if (!secret) throw new Error(`the stack printed no NOTIFY_SIGNING_SECRET:\n${started.output()}`);
  expect(secret[2]).toBe(join(stateDir, 'notify-signing-secret'));
  return { stack: started, secret: secret[1]! };
}

test('npm run stack keeps its event secret, Temporal state and simulator state across a restart: a provisioning waiting before it completes after', async () => {
  const taskQueue = uniqueId('stack');
  const simulatorPort = await freePort();
  const simulatorUrl = `http://127.0.0.1:${simulatorPort}`;
  const env = {
    STACK_STATE_DIR: stateDir,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
    SIMULATOR_PORT: String(simulatorPort),
    GATEWAY_PORT: String(await freePort()),
  };
  const first = await startStack(env);
  expect(readFileSync(join(stateDir, 'notify-signing-secret'), 'utf8').trim()).toBe(first.secret);

  // A provisioning with a notifyUrl: its event verifies with the printed secret, as the README's receiver does it.
  const config = loadConfig('client', {
    NODE_ENV: 'development',
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
  });
  const client = await ProvisioningClient.connect(config);
  try {
    const { workflowId } = await client.start({
      accountId: uniqueId('acct'),
      account: { create: true },
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'api-key-1',
      notifyUrl: receiver.eventsUrl,
    });
    const completed = await receiver.waitFor(workflowId, 'provisioning.completed', 60_000);
    const verified = new Webhook(first.secret).verify(completed.body, completed.headers as Record<string, string>);
    expect(verified).toMatchObject({ type: 'provisioning.completed', data: { workflowId } });
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(
        completed.body,
        completed.headers as Record<string, string>,
      ),
    ).toThrow();

    // A provisioning waiting for consent across the restart: Temporal and the simulator both keep their state.
    const waiting = await client.start({
      accountId: uniqueId('acct'),
      account: { create: true },
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
    });
    const awaiting = await eventually(async () => {
      const s = await client.status(waiting.workflowId);
      return s.stage === 'awaiting-consent' ? s : undefined;
    }, 60_000);

    await first.stack.kill('SIGTERM');
    const second = await startStack(env);
    expect(second.secret).toBe(first.secret);

    // The customer approves after the restart: the simulator still has the account connector, and it completes.
    await approveSilently(simulatorUrl, awaiting.accountConnectorId!);
    await client.completeConsent(waiting.workflowId);
    await expect(client.result(waiting.workflowId)).resolves.toMatchObject({
      accountConnectorId: awaiting.accountConnectorId,
      authenticated: true,
    });
  } finally {
    await client.temporal.connection.close();
  }
}, 600_000);
