/**
 * provisionBatch end to end: a real Temporal dev server, a real worker process (killed and restarted in one test),
 * the Cyclr simulator, and the `provisioner batch` CLI.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProvisioningClient } from '../src/client.js';
import { batchProgress, cancelBatch, submitBatch } from '../src/batch/batch-client.js';
import { BatchFileError, parseBatchText } from '../src/batch/parse-file.js';
import { BatchStore } from '../src/batch/store.js';
import { loadConfig } from '../src/config.js';
import { startService } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import { rowsProgressUpdate, type BatchProgress } from '../src/contract/batch-messages.js';
import { batchWorkflowId } from '../src/contract/ids.js';
import { eventually, startTestStack, testEnv, uniqueId, type TestStack } from './support/harness.js';
import { startGateway, withToken } from './support/gateway-stack.js';
import { setFaults, simulatorStats } from './support/simulator-admin.js';

let stack: TestStack;
let simulator: Simulator;
let client: ProvisioningClient;
let store: BatchStore;
let dir: string;

const API_KEY = FIXTURE_CONNECTORS.apiKey;
const OAUTH = FIXTURE_CONNECTORS.oauth;
const SECRET = 'batch-api-key-SECRET-value';

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  dir = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'batch-'));
  stack = await startTestStack('batch', {
    env: { BATCH_STORE_DIR: join(dir, 'store'), CYCLR_MAX_CONCURRENT_REQUESTS: '100' },
  });
  ({ simulator, client } = stack);
  store = BatchStore.fromConfig({ ...loadConfig('client', testEnv(stack.options)), batchStoreDir: join(dir, 'store') });
});

afterAll(() => stack?.stop());

/** A JSONL file of `count` ApiKey rows, each creating its own account. */
function apiKeyBatchFile(name: string, count: number): { ids: string[]; file: string } {
  const prefix = uniqueId(name);
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const file = join(dir, `${prefix}.jsonl`);
  const row = (accountId: string) =>
    JSON.stringify({ accountId, account: { create: true }, connector: { id: API_KEY.id }, authValue: SECRET });
  writeFileSync(file, ids.map(row).join('\n'));
  return { ids, file };
}

/** Installs the simulator committed per (account, Name) for the given accounts. */
async function installsFor(accounts: Set<string>): Promise<number[]> {
  const stats = await simulatorStats(simulator.url);
  return stats.installs.filter((i) => accounts.has(i.accountId)).map((i) => i.count);
}

function csv(rows: string[][]): string {
  return (
    rows.map((r) => r.map((f) => (/[",\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')).join('\n') + '\n'
  );
}

const HEADER = [
  'accountId',
  'createAccount',
  'accountName',
  'connectorId',
  'connectorName',
  'authValue',
  'username',
  'returnUrl',
];

/** ApiKey rows that create their own account, so no seeding is needed. */
function apiKeyRow(accountId: string): string[] {
  return [accountId, 'true', `Customer, "${accountId}"`, String(API_KEY.id), '', SECRET, '', ''];
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startService({ name: 'cli', script: 'src/cli/main.ts', args, env: testEnv(stack.options) });
  let stdout = '';
  let stderr = '';
  cli.process.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  cli.process.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => cli.process.on('exit', (code) => resolve({ code, stdout, stderr })));
}

async function finalProgress(batchId: string, timeoutMs = 90_000): Promise<BatchProgress> {
  const handle = client.temporal.workflow.getHandle(batchWorkflowId(batchId));
  let timer: NodeJS.Timeout | undefined;
  try {
    return (await Promise.race([
      handle.result(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`batch ${batchId} did not finish`)), timeoutMs);
      }),
    ])) as BatchProgress;
  } finally {
    clearTimeout(timer);
  }
}

describe('a 300-row file with 7 bad rows', () => {
  const prefix = uniqueId('b300');
  const accounts = new Set<string>();
  let file: string;
  let batchId: string;
  const badLines = new Map<number, RegExp>();

  beforeAll(() => {
    const rows: string[][] = [HEADER];
    const line = () => rows.length + 1; // the line the next row lands on
    for (let i = 0; i < 300; i++) {
      const accountId = `${prefix}-${i}`;
      if (i % 43 === 7 && badLines.size < 7) {
        const bad: [string[], RegExp][] = [
          [
            [accountId, 'true', '', String(API_KEY.id), API_KEY.name, SECRET, '', ''],
            /connector: give the connector by id or by name, not both/,
          ],
          [['', 'true', '', String(API_KEY.id), '', SECRET, '', ''], /accountId: is required/],
          [
            [accountId, 'true', '', String(OAUTH.id), '', '', 'jo@example.test', 'not-a-url'],
            /oauth.returnUrl: must be an absolute URL/,
          ],
          [[accountId, 'maybe', '', String(API_KEY.id), '', SECRET, '', ''], /createAccount: must be true or false/],
          [[accountId, 'true', '', 'abc', '', SECRET, '', ''], /connectorId: must be a whole number/],
          [[accountId, 'true', String(API_KEY.id)], /has 3 columns; the header has 8/],
          // A duplicate of the first row: same account and install name.
          [
            [`${prefix}-0`, 'true', '', String(API_KEY.id), '', SECRET, '', ''],
            /same account and install name as line 2/,
          ],
        ];
        const [row, reason] = bad[badLines.size]!;
        badLines.set(line(), reason);
        rows.push(row);
        continue;
      }
      accounts.add(accountId);
      // Three OAuth rows wait for their customers' consent; the rest are ApiKey installs that need no one.
      rows.push(
        i % 100 === 60
          ? [accountId, 'true', '', '', OAUTH.name, '', 'jo@example.test', 'https://app.example.test/done']
          : apiKeyRow(accountId),
      );
    }
    expect(rows.length).toBe(301);
    expect(badLines.size).toBe(7);
    file = join(dir, `${prefix}.csv`);
    writeFileSync(file, csv(rows));
  });

  test('provisions 293, reports the 7 with their lines, and writes a failures file (CLI, --follow)', async () => {
    const failuresFile = join(dir, 'failures.jsonl');
    const run = await runCli(['batch', file, '--concurrency', '40', '--follow', '--failures', failuresFile]);
    expect(run.code).toBe(1); // some rows failed
    for (const [line, reason] of badLines) expect(run.stderr).toMatch(new RegExp(`line ${line}: ${reason.source}`));
    expect(run.stdout).toMatch(/completed\s+290/);
    expect(run.stdout).toMatch(/awaiting consent\s+3/);
    expect(run.stdout).toMatch(/failed\s+7/);
    expect(run.stderr + run.stdout).not.toContain(SECRET);
    batchId = run.stderr.match(/batch (b-[0-9a-f]+)/)![1]!;

    const failures = readFileSync(failuresFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(failures.map((f) => f.line).sort((a: number, b: number) => a - b)).toEqual([...badLines.keys()]);
    for (const f of failures) expect(f.message).toMatch(badLines.get(f.line)!);

    const progress = await finalProgress(batchId);
    expect(progress).toMatchObject({
      total: 300,
      started: 293,
      completed: 290,
      awaitingConsent: 3,
      failed: 7,
      state: 'completed',
    });
    const installs = await installsFor(accounts);
    expect(installs).toHaveLength(293);
    expect(installs.every((n) => n === 1)).toBe(true);
  });

  test('running the same batch again installs nothing twice: 293 installs, not 586', async () => {
    expect(batchId).toBeDefined();
    const again = await submitBatch(client.temporal, client.taskQueue, store, { file, concurrency: 40 });
    expect(again.batchId).toBe(batchId); // the id comes from the content
    const progress = await finalProgress(batchId);
    expect(progress).toMatchObject({ total: 300, started: 293, completed: 290, awaitingConsent: 3, failed: 7 });
    const installs = await installsFor(accounts);
    expect(installs).toHaveLength(293);
    expect(installs.every((n) => n === 1)).toBe(true);

    const status = await runCli(['batch-status', batchId, '--json']);
    const shown = JSON.parse(status.stdout);
    expect(shown.progress).toMatchObject({ completed: 290, failed: 7, awaitingConsent: 3 });
    expect(shown.failures).toHaveLength(7);
    expect(status.code).toBe(1);
  });

  test('every row answers by its id, with a workflow of its own or without: status, GET /provisionings/{id}, list --batch', async () => {
    expect(batchId).toBeDefined();
    // Row 0 completed at install, in bulk: no workflow of its own, its outcome recorded under its id.
    const bulkId = `provision:${prefix}-0:connector-${API_KEY.id}`;
    await expect(client.temporal.workflow.getHandle(bulkId).describe()).rejects.toThrow(/not found/i);
    const withStore = new ProvisioningClient(client.temporal, client.taskQueue, { batchStore: store });
    const status = await withStore.status(bulkId);
    expect(status).toMatchObject({ stage: 'completed', accountId: `${prefix}-0`, batchId });
    expect(status.accountConnectorId).toEqual(expect.any(Number));
    expect(status.history.map((h) => h.stage)).toEqual(['installing', 'completed']);
    expect(JSON.stringify(status)).not.toContain(SECRET);

    const cli = await runCli(['status', bulkId, '--json']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ stage: 'completed', accountConnectorId: status.accountConnectorId });

    const gateway = await startGateway(withStore, testEnv(stack.options));
    const res = await fetch(`${gateway.url}/provisionings/${encodeURIComponent(bulkId)}`, { headers: withToken() });
    await gateway.app.close();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ workflowId: bulkId, status: { stage: 'completed', batchId } });

    // A consent row runs as a child: it answers from its workflow, and both kinds are listed for the batch.
    const consentId = `provision:${prefix}-60:${OAUTH.name}`;
    await expect(withStore.status(consentId)).resolves.toMatchObject({ stage: 'awaiting-consent' });
    const list = await runCli(['list', '--batch', batchId, '--limit', '1000', '--json']);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as { workflowId: string; stage: string }[];
    expect(new Set(listed.map((l) => l.workflowId)).size).toBe(293);
    expect(listed.filter((l) => l.stage === 'completed')).toHaveLength(290);
    expect(listed.filter((l) => l.stage === 'awaiting-consent').map((l) => l.workflowId)).toContain(consentId);
    const onlyCompleted = JSON.parse(
      (await runCli(['list', '--batch', batchId, '--stage', 'completed', '--json', '--limit', '1000'])).stdout,
    );
    expect(onlyCompleted).toHaveLength(290);
  });
});

test('the worker is killed (SIGKILL) twice mid-batch and restarted; the batch finishes with no duplicate install', async () => {
  const { ids, file } = apiKeyBatchFile('kill', 150);
  // Slow installs, so kills land while many are in flight (and some installs committed but unanswered).
  await setFaults(simulator.url, { install: { latencyMs: 150 } });
  try {
    const { batchId } = await submitBatch(client.temporal, client.taskQueue, store, {
      file,
      concurrency: 30,
      continueAsNewAfter: 60,
      reconcileEvery: '5s',
    });
    for (const after of [30, 90]) {
      await eventually(
        async () => {
          const p = (await batchProgress(client.temporal, batchId)).progress;
          return p.completed >= after ? p : undefined;
        },
        60_000,
        `${after} completed`,
      );
      await stack.restartWorker('SIGKILL');
    }
    const progress = await finalProgress(batchId, 120_000);
    expect(progress).toMatchObject({ total: 150, started: 150, completed: 150, failed: 0, awaitingConsent: 0 });
    const installs = await installsFor(new Set(ids));
    expect(installs).toHaveLength(150);
    expect(installs.every((n) => n === 1)).toBe(true);
  } finally {
    await setFaults(simulator.url, {});
  }
});

test('a batch that continues-as-new keeps its counts; a connector that cannot be resolved fails its rows unstarted', async () => {
  const prefix = uniqueId('can');
  const rows = Array.from({ length: 120 }, (_, i) => ({
    accountId: `${prefix}-${i}`,
    account: { create: true },
    // Rows 10 and 20 name a connector Cyclr does not have: resolved once, failed without starting.
    connector: i === 10 || i === 20 ? { name: 'No Such Connector' } : { name: API_KEY.name },
    authValue: SECRET,
  }));
  const file = join(dir, `${prefix}.jsonl`);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const before = await simulatorStats(simulator.url);
  const { batchId, workflowId } = await submitBatch(client.temporal, client.taskQueue, store, {
    file,
    concurrency: 15,
    continueAsNewAfter: 25,
  });
  const progress = await finalProgress(batchId);
  expect(progress).toMatchObject({ total: 120, started: 118, completed: 118, failed: 2, awaitingConsent: 0 });
  expect(progress.failures.map((f) => [f.line, f.type])).toEqual([
    [11, 'ConnectorNotFound'],
    [21, 'ConnectorNotFound'],
  ]);
  // It did continue as new: the first run is not the last.
  const description = await client.temporal.workflow.getHandle(workflowId).describe();
  expect(description.runId).not.toBe(await firstRunId(workflowId));
  // One catalog lookup per distinct connector per run, not one per row.
  const after = await simulatorStats(simulator.url);
  const catalogCalls =
    (after.requests['GET /v1.0/connectors']?.total ?? 0) - (before.requests['GET /v1.0/connectors']?.total ?? 0);
  expect(catalogCalls).toBeLessThan(30);
});

async function firstRunId(workflowId: string): Promise<string> {
  for await (const w of client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    if (w.status.name === 'CONTINUED_AS_NEW') return w.runId;
  }
  return 'none';
}

test('cancel stops new starts; those already started keep going to the end', async () => {
  // A window of 2 over 200 rows: 2 slices of 25 rows run at once and 6 wait their turn, left untaken by the cancel.
  const { ids, file } = apiKeyBatchFile('cancel', 200);
  await setFaults(simulator.url, { install: { latencyMs: 300 } });
  try {
    const { batchId } = await submitBatch(client.temporal, client.taskQueue, store, { file, concurrency: 2 });
    await eventually(async () =>
      (await batchProgress(client.temporal, batchId)).progress.started >= 5 ? true : undefined,
    );
    // A report from rows no activity is running (one the server delivers after its activity ended) counts nothing.
    const stale = { fromRow: 175, completed: 25, failed: 0, inFlight: 0, failures: [] };
    await expect(
      client.temporal.workflow.getHandle(batchWorkflowId(batchId)).executeUpdate(rowsProgressUpdate, { args: [stale] }),
    ).rejects.toMatchObject({ cause: { type: 'StaleReport', message: 'no rows activity from this row is running' } });
    await cancelBatch(client.temporal, batchId, 'stop for the test');
    const progress = await finalProgress(batchId);
    expect(progress.state).toBe('cancelled');
    expect(progress.started).toBeLessThan(40);
    expect(progress.completed).toBe(progress.started); // started ones finished, not cut off
    expect(progress.notStarted).toBe(200 - progress.started);
    const installs = await installsFor(new Set(ids));
    expect(installs).toHaveLength(progress.started);
  } finally {
    await setFaults(simulator.url, {});
  }
});

describe('a window wider than a worker allows', () => {
  test('says which setting holds it lower, and on which worker the rows ran (CLI, --follow)', async () => {
    // The stack's worker runs with CYCLR_MAX_CONCURRENT_REQUESTS=100; 120 rows make 5 slices of 200 each.
    const { ids, file } = apiKeyBatchFile('capped', 120);
    const run = await runCli(['batch', file, '--concurrency', '1000', '--follow']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/note: CYCLR_MAX_CONCURRENT_REQUESTS=100 on worker \S+ holds its Cyclr requests/);
    expect(run.stdout).toMatch(/limited by CYCLR_MAX_CONCURRENT_REQUESTS=100: /);
    const perWorker = [...run.stdout.matchAll(/rows on (\S+): (\d+)/g)].map((m) => Number(m[2]));
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(run.stdout).toMatch(/completed\s+120/);
  });
});

describe('reading batch files', () => {
  test('a quoted CSV field may hold commas, quotes and newlines; line numbers follow the file', () => {
    const text =
      'accountId,connectorId,authValue,description\n' + 'a1,1001,"k,1","two\nlines"\n' + 'a2,1001,"say ""hi""",\n';
    const parsed = parseBatchText(text, 'csv');
    expect(parsed.rows.map((r) => r.line)).toEqual([2, 4]);
    expect(parsed.rows[0]!.request).toMatchObject({ authValue: 'k,1', description: 'two\nlines' });
    expect(parsed.rows[1]!.request.authValue).toBe('say "hi"');
  });

  test('a broken file is one clear error; a bad JSONL line is a bad row that does not echo its content', () => {
    expect(() => parseBatchText('accountId,conectorId\na,1\n', 'csv')).toThrow(
      /unknown column "conectorId".*columns are accountId/,
    );
    expect(() => parseBatchText('accountId,connectorId\n"a,1\n', 'csv')).toThrow(BatchFileError);
    expect(() => parseBatchText('', 'jsonl')).toThrow(/no rows/);
    const parsed = parseBatchText(
      `{"accountId":"a","connector":{"id":1},"authValue":"${SECRET}"\n\n{"accountId":"b","connector":{"id":1}}\n`,
      'jsonl',
    );
    expect(parsed.rejected).toEqual([
      { line: 1, type: 'InvalidRow', message: 'not valid JSON: each line must be one JSON object' },
    ]);
    expect(parsed.rows.map((r) => r.line)).toEqual([3]);
  });
});
