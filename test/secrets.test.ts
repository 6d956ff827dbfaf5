/**
 * Nothing leaked: provisionings that carry an AuthValue, a sensitive property, the worker's client secret and Cyclr
 * sign-in tokens leave none of them in Temporal's stored history (read raw, without the codec), the worker's or the
 * gateway's output, `status`, the events, or the CLI's output. The history does hold encrypted payloads, so the
 * search is known to look where the secrets would otherwise be.
 */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ProvisioningClient } from '../src/client.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import { startGateway } from './support/gateway-stack.js';
import {
  TEST_CLIENT_SECRET,
  TEST_LINK_KEY,
  TEST_NOTIFY_SECRET,
  TEST_PAYLOAD_KEY,
  eventually,
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  temporalAddress,
  testEnv,
  uniqueId,
  type TestStackOptions,
} from './support/harness.js';
import { runCli } from './support/reliability-cli.js';
import { answerConsentPage, seedAccounts } from './support/simulator-admin.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let simulator: Simulator;
let client: ProvisioningClient;
let raw: Client;
let gateway: FastifyInstance;
let gatewayUrl: string;
let worker: ServiceProcess;
let receiver: WebhookReceiver;
let stack: TestStackOptions;
const gatewayLog: string[] = [];

const random = () => Math.random().toString(36).slice(2, 10);
const AUTH_VALUE = `sk_live_authvalue_${random()}${random()}`;
const FAILED_AUTH_VALUE = `sk_live_failing_${random()}${random()}`;
const PROPERTY_SECRET = `prop-client-secret-${random()}${random()}`;

beforeAll(async () => {
  [simulator, receiver] = await Promise.all([startTestSimulator(), startWebhookReceiver()]);
  const base = { taskQueue: uniqueId('secrets'), simulatorUrl: simulator.url };
  client = await provisioningClient(base);
  ({ app: gateway, url: gatewayUrl } = await startGateway(client, testEnv(base), {
    level: 'debug',
    stream: { write: (line: string) => gatewayLog.push(line) },
  }));
  stack = { ...base, publicBaseUrl: gatewayUrl };
  worker = await startWorkerProcess(stack);
  // A client that does NOT hold the key: it sees exactly what Temporal stores.
  raw = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
}, 120_000);

afterAll(async () => {
  await worker?.kill();
  await gateway?.close();
  await client?.temporal.connection.close();
  await raw?.connection.close();
  await receiver?.close();
  await simulator?.close();
});

/** Every string in a raw history: the JSON of it, and each byte field as text, so payload data is searched too. */
function historyText(history: unknown): { text: string; encryptedPayloads: number } {
  const parts: string[] = [];
  let encryptedPayloads = 0;
  const visit = (value: unknown): void => {
    if (value instanceof Uint8Array) {
      const buf = Buffer.from(value);
      parts.push(buf.toString('utf8'), buf.toString('latin1'));
      return;
    }
    if (Array.isArray(value)) return value.forEach(visit);
    if (value && typeof value === 'object') {
      const metadata = (value as { metadata?: Record<string, Uint8Array> }).metadata;
      if (metadata?.encoding && Buffer.from(metadata.encoding).toString() === 'binary/encrypted')
        encryptedPayloads += 1;
      for (const v of Object.values(value)) visit(v);
      return;
    }
    if (typeof value === 'string') {
      parts.push(value);
      // Base64 strings (as a JSON rendering of bytes would hold): decoded and searched too.
      if (/^[A-Za-z0-9+/=]{8,}$/.test(value)) parts.push(Buffer.from(value, 'base64').toString('utf8'));
    }
  };
  visit(history);
  parts.push(
    JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)),
  );
  return { text: parts.join('\n'), encryptedPayloads };
}

test('no secret or sign-in token appears in raw history, logs, status, events or CLI output', async () => {
  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  const notifyUrl = receiver.eventsUrl;

  // 1. ApiKey with an AuthValue: completes.
  const apiKeyRun = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: AUTH_VALUE,
    notifyUrl,
  });
  // 2. A connector whose required properties include a client secret: completes without consent.
  const propertyRun = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.clientCredentials.id },
    authValue: '{}', // "fetch the tokens yourself": a non-interactive grant
    properties: [
      { name: 'ClientId', value: 'public-client-id' },
      { name: 'ClientSecret', value: PROPERTY_SECRET },
    ],
    notifyUrl,
  });
  // 3. An AuthValue whose install Cyclr rejects: the failure (stored unencrypted by Temporal) must not carry it.
  const failingRun = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    installName: 'Acme CRM (bad property)',
    authValue: FAILED_AUTH_VALUE,
    properties: [{ name: 'NoSuchProperty', value: FAILED_AUTH_VALUE }],
    notifyUrl,
  });
  // 4. OAuth: several auth URLs (each a fresh sign-in token), then consent through the gateway's link and callback.
  const oauthRun = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.oauth.id },
    oauth: { username: 'jo@example.test', returnUrl: receiver.doneUrl },
    notifyUrl,
  });
  const waiting = await eventually(
    async () => {
      const s = await client.status(oauthRun.workflowId);
      return s.stage === 'awaiting-consent' ? s : undefined;
    },
    60_000,
    'awaiting consent',
  );
  const signInTokens: string[] = [];
  const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;
  for (let i = 0; i < 3; i++) signInTokens.push(tokenOf((await client.issueAuthUrl(oauthRun.workflowId)).url));
  // The customer clicks the consent link: the gateway mints a fresh token and redirects to Cyclr.
  const click = await fetch(waiting.consentLink!, { redirect: 'manual' });
  expect(click.status).toBe(302);
  const authUrl = click.headers.get('location')!;
  signInTokens.push(tokenOf(authUrl));
  const answered = await answerConsentPage(authUrl);
  expect(answered.answerStatus).toBe(302);
  const callback = await fetch(answered.location!, { redirect: 'manual' });
  expect(callback.status).toBe(302);
  expect(new Set(signInTokens).size).toBe(4);
  for (const t of signInTokens) expect(t.length).toBeGreaterThanOrEqual(16);

  await Promise.all([
    client.result(apiKeyRun.workflowId),
    client.result(propertyRun.workflowId),
    client.result(oauthRun.workflowId),
    expect(client.result(failingRun.workflowId)).rejects.toMatchObject({ type: 'CyclrBadRequest' }),
  ]);
  const runs = [apiKeyRun, propertyRun, failingRun, oauthRun].map((r) => r.workflowId);
  await eventually(async () =>
    receiver.eventsFor(oauthRun.workflowId, 'provisioning.completed').length ? true : undefined,
  );
  await eventually(async () =>
    receiver.eventsFor(failingRun.workflowId, 'provisioning.failed').length ? true : undefined,
  );

  const secrets: Record<string, string> = {
    authValue: AUTH_VALUE,
    'failed install authValue': FAILED_AUTH_VALUE,
    'property ClientSecret': PROPERTY_SECRET,
    CYCLR_CLIENT_SECRET: TEST_CLIENT_SECRET,
    'PAYLOAD_ENCRYPTION_KEY secret': TEST_PAYLOAD_KEY.split(':')[1]!,
    'LINK_SIGNING_KEY secret': TEST_LINK_KEY.split(':')[1]!,
    NOTIFY_SIGNING_SECRET: TEST_NOTIFY_SECRET,
    ...Object.fromEntries(signInTokens.map((t, i) => [`sign-in token ${i + 1}`, t])),
  };
  const leaksIn = (where: string, text: string) =>
    Object.entries(secrets)
      .filter(([, secret]) => text.includes(secret) || text.includes(encodeURIComponent(secret)))
      .map(([name]) => `${name} in ${where}`);

  const leaks: string[] = [];
  let encrypted = 0;
  for (const workflowId of runs) {
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    const { text, encryptedPayloads } = historyText(history);
    // The search reads the real history, payload bytes included (a search attribute's data is `"<accountId>"`).
    expect(text).toContain(workflowId);
    expect(text).toContain(JSON.stringify(accountId));
    encrypted += encryptedPayloads;
    leaks.push(...leaksIn(`history of ${workflowId}`, text));
    leaks.push(...leaksIn(`status of ${workflowId}`, JSON.stringify(await client.status(workflowId))));
    const cli = await runCli(['status', workflowId, '--json'], testEnv(stack));
    expect(cli.code).toBe(0);
    leaks.push(...leaksIn(`CLI status of ${workflowId}`, cli.stdout + cli.stderr));
  }
  const list = await runCli(['list', '--account', accountId, '--json'], testEnv(stack));
  leaks.push(...leaksIn('CLI list', list.stdout + list.stderr));
  leaks.push(...leaksIn('worker output', worker.output()));
  leaks.push(...leaksIn('gateway log', gatewayLog.join('')));
  const events = receiver.received.filter((r) => runs.includes(r.event.data.workflowId));
  expect(events.length).toBeGreaterThanOrEqual(4);
  leaks.push(...leaksIn('events', events.map((e) => e.body + JSON.stringify(e.headers)).join('\n')));

  expect(leaks).toEqual([]);
  // Inputs, results, and update payloads were stored encrypted: without the codec there is nothing to read.
  expect(encrypted).toBeGreaterThanOrEqual(runs.length * 2);
  // And the raw client cannot read the input at all.
  const started = (await raw.workflow.getHandle(apiKeyRun.workflowId).fetchHistory()).events![0]!;
  const input = started.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');
}, 240_000);

test("a failure's message and stack are stored encrypted; the key holders read them in full", async () => {
  const accountId = uniqueId('failure-text');
  await seedAccounts(simulator.url, [accountId]);
  // The failure's message names the connector (which is also a search attribute, in the clear by design).
  const missing = `No Such Connector ${random()}`;
  const { workflowId } = await client.start({ accountId, connector: { name: missing }, installName: 'failure-text' });
  await expect(client.result(workflowId)).rejects.toThrow(missing);
  await expect(client.status(workflowId)).resolves.toMatchObject({
    lastError: { type: 'ConnectorNotFound', message: expect.stringContaining(missing) },
  });
  const history = await raw.workflow.getHandle(workflowId).fetchHistory();
  const closed = history.events!.at(-1)!.workflowExecutionFailedEventAttributes!.failure!;
  // Temporal's placeholder stands where the message was; its type stays readable for searches and dashboards.
  expect(closed.message).toBe('Encoded failure');
  expect(closed.applicationFailureInfo?.type).toBe('ConnectorNotFound');
  expect(Buffer.from(closed.encodedAttributes!.metadata!.encoding!).toString()).toBe('binary/encrypted');
  // Every failure the history holds (the run's, its activities' and local activities') keeps its text encrypted.
  const failures: unknown[] = [];
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(collect);
    if (!value || typeof value !== 'object' || value instanceof Uint8Array) return;
    for (const [key, v] of Object.entries(value)) {
      if (key === 'failure' && v) failures.push(v);
      else collect(v);
    }
  };
  collect(history.events);
  expect(failures.length).toBeGreaterThanOrEqual(1);
  for (const f of failures) expect(historyText(f).text).not.toContain(missing);
});
