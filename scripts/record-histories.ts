/**
 * `npx tsx scripts/record-histories.ts [outDir]`: runs real provisionings to every ending against a dev server, the
 * Cyclr simulator and an in-process worker, and saves their event histories as replay fixtures
 * (test/fixtures/histories/<ending>.json, overwriting those names and leaving other files, e.g. fixtures kept from an
 * older workflow version). `test/replay.test.ts` replays them against the current workflow code, so a
 * change that would break running workflows fails CI. Re-record after an intended, versioned workflow change.
 *
 * Payloads in the fixtures are encrypted with the test key (test/support/harness.ts); replay uses the same key.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import * as prettier from 'prettier';
import { Runtime } from '@temporalio/worker';
import { submitBatch } from '../src/batch/batch-client.js';
import { BatchStore } from '../src/batch/store.js';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { startDevServer, type DevServer } from '../dev/local-stack/dev-server.js';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startSimulator } from '../dev/simulator/server.js';
import { dataConverter } from '../src/temporal/connection.js';
import { createWorker } from '../src/worker.js';
import { batchWorkflowId, provisioningWorkflowId } from '../src/contract/ids.js';
import { requestRateWorkflowId } from '../src/contract/request-rate.js';
import { parseProvisioningRequest, type ProvisioningRequest } from '../src/contract/request.js';
import {
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_LINK_KEY,
  TEST_NOTIFY_SECRET,
  TEST_PAYLOAD_KEY,
} from '../test/support/harness.js';
import { answerConsentPage, approveSilently, seedAccounts } from '../test/support/simulator-admin.js';

const { History } = proto.temporal.api.history.v1; // CommonJS: no named imports under ESM

const outDir = process.argv[2] ?? join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };

function parseRequestOrThrow(input: unknown): ProvisioningRequest {
  const parsed = parseProvisioningRequest(input);
  if (!parsed.ok) throw new Error(`bad fixture request: ${JSON.stringify(parsed.errors)}`);
  return parsed.request;
}

async function waitForStage(client: ProvisioningClient, id: string, stage: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await client.status(id).catch(() => undefined);
    if (status?.stage === stage) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${id} did not reach ${stage}`);
}

async function main(): Promise<void> {
  Runtime.install({ logger: quiet });
  let devServer: DevServer | undefined;
  // Its own dev server unless RECORD_TEMPORAL_ADDRESS names one (never TEMPORAL_ADDRESS: that may be production).
  const address = process.env.RECORD_TEMPORAL_ADDRESS ?? (devServer = await startDevServer({ headless: true })).address;
  const simulator = await startSimulator({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET });
  const batchDir = mkdtempSync(join(tmpdir(), 'record-batches-'));
  const env = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `record-${Date.now().toString(36)}`,
    CYCLR_API_URL: simulator.url,
    CYCLR_SERVICE_DOMAIN: simulator.url,
    CYCLR_CLIENT_ID: TEST_CLIENT_ID,
    CYCLR_CLIENT_SECRET: TEST_CLIENT_SECRET,
    LINK_SIGNING_KEY: TEST_LINK_KEY,
    PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY,
    NOTIFY_SIGNING_SECRET: TEST_NOTIFY_SECRET,
    PUBLIC_BASE_URL: 'http://127.0.0.1:9',
    BATCH_STORE_DIR: batchDir,
    // So the worker shares a budget through the lease workflow, and its history is recorded too.
    CYCLR_MAX_REQUESTS_PER_SECOND: '1000',
  };
  const config = loadConfig('worker', env);
  const { worker, run: runWorker } = await createWorker(config);
  const running = runWorker();
  const connection = await Connection.connect({ address });
  const temporal = new Client({ connection, dataConverter: dataConverter(config) });
  const client = new ProvisioningClient(temporal, config.temporal.taskQueue);
  const run = Date.now().toString(36);
  const account = async (name: string) => {
    const id = `rec-${run}-${name}`;
    await seedAccounts(simulator.url, [id]);
    return id;
  };
  const oauth = { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' };
  const recorded: Record<string, string> = {};

  try {
    // completed, ApiKey: installing -> verifying -> completed.
    const apiKey = await client.start({
      accountId: await account('apikey'),
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'k',
    });
    await client.result(apiKey.workflowId);
    recorded['completed-apikey'] = apiKey.workflowId;

    // completed, OAuth via consent, with a hint Cyclr did not confirm first (verifying -> awaiting-consent again),
    // a re-issued link, an auth URL, then the consent page approved and the callback's signal.
    const consent = await client.start({
      accountId: await account('oauth'),
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth,
    });
    await waitForStage(client, consent.workflowId, 'awaiting-consent');
    await client.completeConsent(consent.workflowId, 'early-hint');
    await new Promise((r) => setTimeout(r, 1000));
    await waitForStage(client, consent.workflowId, 'awaiting-consent');
    await client.issueConsentLink(consent.workflowId);
    const auth = await client.issueAuthUrl(consent.workflowId);
    const answered = await answerConsentPage(auth.url, 'approve');
    if (answered.answerStatus >= 400) throw new Error(`consent page answered ${answered.answerStatus}`);
    await client.completeConsent(consent.workflowId, 'callback');
    await client.result(consent.workflowId);
    recorded['completed-oauth-consent'] = consent.workflowId;

    // completed, OAuth noticed by the periodic check (no signal at all).
    const polled = await client.start({
      accountId: await account('polled'),
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth,
      timeouts: { checkEvery: '1s' },
    });
    await waitForStage(client, polled.workflowId, 'awaiting-consent');
    await approveSilently(simulator.url, (await client.status(polled.workflowId)).accountConnectorId!);
    await client.result(polled.workflowId);
    recorded['completed-oauth-polled'] = polled.workflowId;

    // failed: ConnectorNotFound.
    const missing = await client.start({
      accountId: await account('missing'),
      connector: { name: 'No Such Connector' },
    });
    await client.result(missing.workflowId).catch(() => undefined);
    recorded['failed-connector-not-found'] = missing.workflowId;

    // expired: no consent within the timeout, the idle checks backing off on the way (1 s, then 2 s); the install
    // is removed.
    const expired = await client.start({
      accountId: await account('expired'),
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth,
      timeouts: { consent: '6s', checkEvery: '1s', checkEveryMax: '2s' },
    });
    await client.result(expired.workflowId).catch(() => undefined);
    recorded['expired'] = expired.workflowId;

    // cancelled while awaiting consent; the install is removed.
    const cancelled = await client.start({
      accountId: await account('cancelled'),
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth,
    });
    await waitForStage(client, cancelled.workflowId, 'awaiting-consent');
    await client.cancel(cancelled.workflowId, 'recorded cancellation');
    await client.result(cancelled.workflowId).catch(() => undefined);
    recorded['cancelled'] = cancelled.workflowId;

    // a batch of three: one completes in bulk, one fails (unknown connector), one needs consent and runs as a child.
    const batchAccounts = [await account('batch-a'), await account('batch-b'), await account('batch-c')];
    const file = join(batchDir, 'rows.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({
          accountId: batchAccounts[0],
          connector: { id: FIXTURE_CONNECTORS.apiKey.id },
          authValue: 'k',
        }),
        JSON.stringify({ accountId: batchAccounts[1], connector: { name: 'No Such Connector' } }),
        JSON.stringify({ accountId: batchAccounts[2], connector: { name: FIXTURE_CONNECTORS.oauth.name }, oauth }),
      ].join('\n') + '\n',
    );
    const batch = await submitBatch(
      temporal,
      config.temporal.taskQueue,
      BatchStore.fromConfig({ ...config, batchStoreDir: batchDir }),
      {
        file,
        batchId: `rec-${run}`,
        concurrency: 2,
      },
    );
    await temporal.workflow.getHandle(batchWorkflowId(batch.batchId)).result();
    recorded['batch'] = batch.workflowId;
    // The child the batch ran for its consent row: it reports its stages to the parent.
    recorded['batch-child-consent'] = provisioningWorkflowId(
      parseRequestOrThrow({ accountId: batchAccounts[2], connector: { name: FIXTURE_CONNECTORS.oauth.name }, oauth }),
    );

    // The request-rate lease the worker renewed all along (still running: its history so far).
    recorded['rate-lease'] = requestRateWorkflowId(config.temporal.taskQueue);

    mkdirSync(outDir, { recursive: true });
    for (const [name, workflowId] of Object.entries(recorded)) {
      const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
      // protobufjs's own object form (enum names, longs as strings, bytes as base64): History.fromObject reads it
      // back exactly. (The SDK's historyToJSON trips over duplicate protobufjs copies in this install.)
      const json = History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String }) as {
        events: unknown[];
      };
      // Formatted as `npm run lint` expects, so fixtures pass `prettier --check .`.
      const file = join(outDir, `${name}.json`);
      const options = (await prettier.resolveConfig(file)) ?? {};
      writeFileSync(
        file,
        await prettier.format(JSON.stringify({ workflowId, history: json }), { ...options, parser: 'json' }),
      );
      console.log(`recorded ${name}: ${workflowId} (${json.events.length} events)`);
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await simulator.close();
    rmSync(batchDir, { recursive: true, force: true });
    await devServer?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
