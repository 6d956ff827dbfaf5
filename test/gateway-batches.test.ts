/**
 * Batches and the payload codec through the HTTP gateway: a real Temporal dev server, a real worker process, the
 * Cyclr simulator, and the gateway in-process (built as main.ts builds it, codec included).
 */
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ProvisioningClient } from '../src/client.js';
import { codecOptionsFromEnv } from '../src/codec/server.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import type { BatchProgress } from '../src/contract/batch-messages.js';
import { batchWorkflowId } from '../src/contract/ids.js';
import {
  eventually,
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  testEnv,
  uniqueId,
  type TestStackOptions,
} from './support/harness.js';
import { startGateway, TEST_GATEWAY_TOKEN, TEST_READ_TOKEN, withToken } from './support/gateway-stack.js';
import { simulatorStats } from './support/simulator-admin.js';

const SECRET = 'gateway-batch-api-key-SECRET';
const CODEC_TOKEN = 'gateway-codec-token-0123456789';
const UI_ORIGIN = 'http://127.0.0.1:8233';
const API_KEY = FIXTURE_CONNECTORS.apiKey;

let simulator: Simulator;
let worker: ServiceProcess;
let client: ProvisioningClient;
let gateway: FastifyInstance;
let url: string;
let storeDir: string;
const logLines: string[] = [];
const responses: string[] = [];

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  const dir = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'gw-batch-'));
  storeDir = join(dir, 'store');
  simulator = await startTestSimulator();
  const stack: TestStackOptions = {
    taskQueue: uniqueId('gw-batch'),
    simulatorUrl: simulator.url,
    // The gateway stores batches and the worker reads them: the same store.
    env: { BATCH_STORE_DIR: storeDir, CODEC_AUTH_TOKEN: CODEC_TOKEN, CODEC_CORS_ORIGINS: UI_ORIGIN },
  };
  const env = testEnv(stack);
  [worker, client] = await Promise.all([startWorkerProcess(stack), provisioningClient(stack)]);
  ({ app: gateway, url } = await startGateway(
    client,
    env,
    { level: 'info', stream: { write: (line: string) => logLines.push(line) } },
    { codec: codecOptionsFromEnv(env) },
  ));
});

afterAll(async () => {
  await gateway?.close();
  await worker?.kill();
  await client?.temporal.connection.close();
  await simulator?.close();
});

// Response bodies are shapes the assertions check; typing each one would add nothing.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(
  method: string,
  path: string,
  body?: string | object,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(url + path, {
    method,
    headers: withToken(typeof body === 'object' ? { 'content-type': 'application/json', ...headers } : headers),
    body: typeof body === 'object' ? JSON.stringify(body) : body,
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** A row that creates its own account and installs the ApiKey connector: it completes with no one's help. */
function apiKeyRow(accountId: string) {
  return { accountId, account: { create: true }, connector: { id: API_KEY.id }, authValue: SECRET };
}

async function finished(batchId: string): Promise<BatchProgress & { workflowStatus: string }> {
  return eventually(
    async () => {
      const { status, body } = await call('GET', `/batches/${batchId}`);
      expect(status).toBe(200);
      return body.workflowStatus === 'COMPLETED' ? body : undefined;
    },
    // Children report to their batch as they finish; a batch that hears nothing checks on them every minute.
    90_000,
    `batch ${batchId} to finish`,
  );
}

async function installsFor(accounts: string[]): Promise<number[]> {
  const stats = await simulatorStats(simulator.url);
  return accounts.map((a) =>
    stats.installs.filter((i) => i.accountId === a && i.name === API_KEY.name).reduce((n, i) => n + i.count, 0),
  );
}

// The batches below start without waiting for one another, then are watched to the end together.
const jsonAccounts = [uniqueId('gwb'), uniqueId('gwb'), uniqueId('gwb')];
const jsonRows = [
  apiKeyRow(jsonAccounts[0]!),
  { accountId: jsonAccounts[1], connector: {} },
  ...jsonAccounts.slice(1).map(apiKeyRow),
];
const csvAccounts = [uniqueId('gwc'), uniqueId('gwc')];
const csvBatchId = uniqueId('csv');
let jsonBatchId: string;

describe('POST /batches', () => {
  test('JSON rows: 202, the valid rows start, the bad one is reported with its line', async () => {
    const res = await call('POST', '/batches', { rows: jsonRows, concurrency: 5 });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ created: true, accepted: 3, total: 4, rejectedCount: 1 });
    expect(res.body.rejected).toEqual([{ line: 2, message: expect.stringMatching(/connector/) }]);
    jsonBatchId = res.body.batchId;
    expect(res.body.workflowId).toBe(batchWorkflowId(jsonBatchId));
    expect(res.headers.get('location')).toBe(`/batches/${jsonBatchId}`);
  });

  test('a CSV body (text/csv), with batchId and concurrency in the query string: 202', async () => {
    const csv = [
      'accountId,createAccount,connectorId,authValue',
      ...csvAccounts.map((a) => `${a},true,${API_KEY.id},${SECRET}`),
    ];
    const res = await call('POST', `/batches?batchId=${csvBatchId}&concurrency=2`, csv.join('\n') + '\n', {
      'content-type': 'text/csv',
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ batchId: csvBatchId, accepted: 2, rejected: [] });
  });

  test('GET /batches/{id} follows both to completion; each valid row installed once', async () => {
    const [json, csv] = await Promise.all([finished(jsonBatchId), finished(csvBatchId)]);
    expect(json).toMatchObject({ batchId: jsonBatchId, total: 4, started: 3, completed: 3, failed: 1 });
    expect(json.failures).toEqual([expect.objectContaining({ line: 2, type: 'InvalidRow' })]);
    expect(csv).toMatchObject({ total: 2, started: 2, completed: 2, failed: 0, state: 'completed' });
    expect(await installsFor([...jsonAccounts, ...csvAccounts])).toEqual([1, 1, 1, 1, 1]);
  });

  test('the same POST again answers 200 with the same batch, and installs nothing twice', async () => {
    const again = await call('POST', '/batches', { rows: jsonRows, concurrency: 5 });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ batchId: jsonBatchId, created: false, accepted: 3 });
    expect(await finished(jsonBatchId)).toMatchObject({ completed: 3, failed: 1 });
    expect(await installsFor(jsonAccounts)).toEqual([1, 1, 1]);
  });

  test('a finished batch cannot be cancelled (409); an unknown one is 404', async () => {
    const cancel = await call('POST', `/batches/${jsonBatchId}/cancel`, { reason: 'too late' });
    expect(cancel.status).toBe(409);
    expect(cancel.body.error).toBe('BatchFinished');
    expect((await call('POST', '/batches/no-such-batch/cancel')).status).toBe(404);
  });
});

describe('POST /batches refuses what cannot run', () => {
  test('a file with no valid row is refused (400) naming each line, and nothing starts', async () => {
    const jsonl = ['{"accountId": "x"}', 'not json', '{"accountId": "y", "connector": {"id": 1}, "colour": "red"}'];
    const res = await call('POST', '/batches', jsonl.join('\n'), { 'content-type': 'application/x-ndjson' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('InvalidBatch');
    expect(res.body.message).toMatch(/line 1: .*connector/);
    expect(res.body.message).toMatch(/line 2: not valid JSON/);
    expect(res.body.message).toMatch(/line 3: .*colour/);
    expect(res.body.fields.map((f: { path: string }) => f.path)).toEqual(['line 1', 'line 2', 'line 3']);
    // Only the two batches above were ever stored.
    // (The store keeps a namespace's batches under <namespace>/batches: the tests run in "default".)
    expect(readdirSync(join(storeDir, 'default', 'batches')).sort()).toEqual([jsonBatchId, csvBatchId].sort());
  });

  test('bad envelopes and types say what is accepted', async () => {
    const noRows = await call('POST', '/batches', { rowz: [] });
    expect(noRows.status).toBe(400);
    expect(noRows.body.fields.map((f: { path: string }) => f.path).sort()).toEqual(['rows', 'rowz']);
    const badConcurrency = await call('POST', '/batches', { rows: [apiKeyRow('a')], concurrency: 0 });
    expect(badConcurrency.body.fields).toEqual([{ path: 'concurrency', message: expect.stringMatching(/1 to/) }]);
    const text = await call('POST', '/batches', 'accountId\na', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.message).toMatch(/text\/csv/);
  });

  test('a body over 50 MB is refused with 413 and says how to proceed', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const size = 50 * 1024 * 1024 + 1;
      const req = request(`${url}/batches`, {
        method: 'POST',
        headers: withToken({ 'content-type': 'text/csv', 'content-length': String(size) }),
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      // The gateway answers as soon as it sees the length and may close before the body is all sent: a write
      // error is expected; only no answer at all fails.
      req.on('error', () => undefined);
      const timer = setTimeout(() => reject(new Error('no answer to an oversize body')), 15_000);
      req.on('close', () => clearTimeout(timer));
      req.end(Buffer.alloc(size, 0x61));
    });
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({
      error: 'PayloadTooLarge',
      message: expect.stringMatching(/50 MB.*split/),
    });
  });
});

test('GET /batches/{id} for an unknown batch is 404', async () => {
  const res = await call('GET', `/batches/${uniqueId('nope')}`);
  expect(res.status).toBe(404);
  expect(res.body.error).toBe('BatchNotFound');
});

test('the OpenAPI document lists the batch and codec routes and the body limit', async () => {
  const doc = (await call('GET', '/openapi.json')).body;
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining(['/batches', '/batches/{id}', '/batches/{id}/cancel', '/codec/encode', '/codec/decode']),
  );
  expect(doc.paths['/batches'].post.responses['413']).toBeDefined();
  expect(doc.paths['/batches'].post.description).toMatch(/50 MB/);
});

describe('the codec at /codec', () => {
  /** The JSON batch's workflow input exactly as Temporal stores it: encrypted by the client's codec. */
  async function storedInput(): Promise<{ metadata: Record<string, string>; data: string }> {
    const { history } = await client.temporal.workflowService.getWorkflowExecutionHistory({
      namespace: client.temporal.options.namespace,
      execution: { workflowId: batchWorkflowId(jsonBatchId) },
    });
    const payload = history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const b64 = (u: Uint8Array | null | undefined) => Buffer.from(u ?? []).toString('base64');
    return {
      metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
      data: b64(payload.data),
    };
  }

  test("decodes a payload the project's codec encrypted, for the UI's origin, only with the token", async () => {
    const encrypted = await storedInput();
    expect(Buffer.from(encrypted.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(encrypted.data, 'base64').toString()).not.toContain('batchId');

    // One secret, one purpose: CODEC_AUTH_TOKEN is the standalone codec server's; the gateway takes its own tokens.
    const unauthorised = await call(
      'POST',
      '/codec/decode',
      { payloads: [encrypted] },
      { origin: UI_ORIGIN, authorization: `Bearer ${CODEC_TOKEN}` },
    );
    expect(unauthorised.status).toBe(401);
    // Decoded payloads carry secrets: a read token may not decode.
    const readOnly = await call(
      'POST',
      '/codec/decode',
      { payloads: [encrypted] },
      { origin: UI_ORIGIN, authorization: `Bearer ${TEST_READ_TOKEN}` },
    );
    expect(readOnly.status).toBe(403);

    const preflight = await fetch(`${url}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);

    const decoded = await call(
      'POST',
      '/codec/decode',
      { payloads: [encrypted] },
      { origin: UI_ORIGIN, authorization: `Bearer ${TEST_GATEWAY_TOKEN}`, 'x-namespace': 'default' },
    );
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const [plain] = decoded.body.payloads;
    expect(Buffer.from(plain.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(plain.data, 'base64').toString())).toMatchObject({ batchId: jsonBatchId, rows: 3 });
  });
});

test("no response and no gateway log line ever showed a row's authValue", () => {
  expect(responses.join('\n')).not.toContain(SECRET);
  expect(logLines.join('\n')).not.toContain(SECRET);
  expect(logLines.length).toBeGreaterThan(0);
});
