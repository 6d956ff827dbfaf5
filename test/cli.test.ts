/**
 * The `provisioner` CLI as support staff use it: a real process (bin/provisioner.js) against the dev server, a
 * worker and the simulator, judged by its output and exit code.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvisioningClient } from '../src/client.js';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import { eventually, startTestStack, testEnv, uniqueId, type TestStack } from './support/harness.js';
import { approveSilently, seedAccounts } from './support/simulator-admin.js';

let stack: TestStack;
let simulator: Simulator;
let client: ProvisioningClient;

beforeAll(async () => {
  stack = await startTestStack('cli');
  ({ simulator, client } = stack);
});

afterAll(() => stack?.stop());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `provisioner ...` with stdin not a terminal, as in CI or a script. */
function provisioner(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['bin/provisioner.js', ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...testEnv(stack.options) }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

async function newAccount(): Promise<string> {
  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  return accountId;
}

async function startOAuth(accountId: string, installName?: string): Promise<string> {
  const args = ['start', '--account', accountId, '--connector-name', FIXTURE_CONNECTORS.oauth.name];
  if (installName) args.push('--install-name', installName);
  const run = await provisioner(
    ...args,
    '--username',
    'jo@example.test',
    '--return-url',
    'https://app.example.test/done',
  );
  expect(run).toMatchObject({ code: 0 });
  const id = /started: (\S+)/.exec(run.stdout)?.[1];
  expect(id).toBeDefined();
  await eventually(async () => ((await client.status(id!)).stage === 'awaiting-consent' ? true : undefined));
  return id!;
}

/** Visibility is eventually consistent: wait until the list shows what the test expects. */
async function listJson(...filters: string[]): Promise<{ workflowId: string; stage: string; status: string }[]> {
  const run = await provisioner('list', ...filters, '--json');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as { workflowId: string; stage: string; status: string }[];
}

test('start, status with its timeline, link and complete on one provisioning', async () => {
  const accountId = await newAccount();
  const id = await startOAuth(accountId);

  const again = await provisioner(
    'start',
    '--account',
    accountId,
    '--connector-name',
    FIXTURE_CONNECTORS.oauth.name,
    '--username',
    'jo@example.test',
    '--return-url',
    'https://app.example.test/done',
  );
  expect(again.stdout).toContain(`already running: ${id}`);

  const status = await provisioner('status', id);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain('stage:      awaiting-consent');
  // The timeline: one line per stage with when, how long since the start, and how long it stayed there.
  const timeline = status.stdout.split('timeline:\n')[1]!.split('\n');
  expect(timeline[0]).toMatch(/^\s+AT\s+SINCE START\s+STAGE\s+TIME IN STAGE$/);
  expect(timeline[1]).toMatch(/^\s+\d{4}-\d\d-\d\dT\S+Z\s+\+0ms\s+resolving-connector\s+\d+(ms|s)$/);
  expect(timeline[2]).toMatch(/^\s+\S+Z\s+\+\d+(ms|s)\s+installing\s+\d+(ms|s)$/);
  expect(timeline[3]).toMatch(/^\s+\S+Z\s+\+\d+(ms|s)\s+awaiting-consent\s+\d+(ms|s) so far$/);
  const statusJson = JSON.parse((await provisioner('status', id, '--json')).stdout) as {
    history: { stage: string }[];
    accountConnectorId: number;
  };
  expect(statusJson.history.map((h) => h.stage)).toEqual(['resolving-connector', 'installing', 'awaiting-consent']);

  const link = await provisioner('link', id);
  expect(link.code).toBe(0);
  expect(link.stdout).toMatch(/http:\/\/127\.0\.0\.1:9\/connect\/\S+/);
  expect(link.stdout).toContain('earlier links no longer work');

  // (auth-url is tried in the bulk link test: a click starts checks every 2 s, which would notice the approval
  // below before "complete" could, as they are meant to.)

  // The customer approved at Cyclr but the redirect got lost: support marks it complete, it verifies and finishes.
  await approveSilently(simulator.url, statusJson.accountConnectorId);
  const complete = await provisioner('complete', id);
  expect({ code: complete.code, stderr: complete.stderr }).toEqual({ code: 0, stderr: '' });
  expect(complete.stdout).toContain(`signalled ${id}`);
  expect((await client.result(id)).authenticated).toBe(true);

  // Acting on a finished provisioning is a clear error, not a silent no-op.
  const late = await provisioner('cancel', id);
  expect(late.code).toBe(1);
  expect(late.stderr).toMatch(/ProvisioningFinished.*already finished \(completed\)/);
});

test('list filters by stage, account, connector and age, as a table or JSON', async () => {
  const accountId = await newAccount();
  const id = await startOAuth(accountId);
  const rows = await eventually(async () => {
    const found = await listJson('--account', accountId, '--stage', 'awaiting-consent');
    return found.length === 1 ? found : undefined;
  });
  expect(rows[0]).toMatchObject({
    workflowId: id,
    stage: 'awaiting-consent',
    status: 'running',
    accountId,
    connector: FIXTURE_CONNECTORS.oauth.name,
  });

  const table = await provisioner('list', '--account', accountId, '--connector', FIXTURE_CONNECTORS.oauth.name);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^WORKFLOW ID\s+STAGE\s+ACCOUNT\s+CONNECTOR\s+AGE\s+STATUS$/m);
  expect(table.stdout).toMatch(
    new RegExp(
      `^${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+awaiting-consent\\s+${accountId}\\s+HubSpot\\s+\\S+\\s+running$`,
      'm',
    ),
  );

  expect(await listJson('--account', accountId, '--stage', 'completed')).toEqual([]);
  expect(await listJson('--account', accountId, '--older-than', '1h')).toEqual([]);
  const none = await provisioner('list', '--account', accountId, '--older-than', '1h');
  expect(none.stdout).toContain('no provisionings match');
  await client.cancel(id, 'test over');
});

test('bulk cancel: --dry-run shows what it would touch, no terminal and no --yes refuses, --yes acts', async () => {
  const accountId = await newAccount();
  const ids = [await startOAuth(accountId, 'Crm-One'), await startOAuth(accountId, 'Crm-Two')].sort();
  await eventually(async () =>
    (await listJson('--account', accountId, '--stage', 'awaiting-consent')).length === 2 ? true : undefined,
  );

  const dry = await provisioner('cancel', '--account', accountId, '--stage', 'awaiting-consent', '--dry-run');
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('would cancel 2:');
  for (const id of ids) expect(dry.stdout).toContain(id);
  for (const id of ids) expect((await client.status(id)).stage).toBe('awaiting-consent');

  const refused = await provisioner('cancel', '--account', accountId, '--stage', 'awaiting-consent');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('2 provisioning(s) match; not a terminal, so nothing was done');
  expect(refused.stderr).toContain('--yes');
  for (const id of ids) expect((await client.status(id)).stage).toBe('awaiting-consent');

  const done = await provisioner(
    'cancel',
    '--account',
    accountId,
    '--stage',
    'awaiting-consent',
    '--yes',
    '--reason',
    'customer left',
    '--json',
  );
  expect(done.code).toBe(0);
  const summary = JSON.parse(done.stdout) as { done: number; failed: number; results: { workflowId: string }[] };
  expect(summary).toMatchObject({ done: 2, failed: 0 });
  expect(summary.results.map((r) => r.workflowId).sort()).toEqual(ids);
  for (const id of ids) {
    await eventually(async () => {
      const s = await client.status(id);
      return s.stage === 'cancelled' ? s : undefined;
    });
  }

  // The history names who cancelled (Temporal's identity of the signal): the person at the terminal, via the CLI.
  const history = await client.temporal.workflow.getHandle(ids[0]!).fetchHistory();
  const signalled = history.events!.map((e) => e.workflowExecutionSignaledEventAttributes).find(Boolean);
  expect(signalled).toMatchObject({ signalName: 'cancel', identity: expect.stringMatching(/^\S+ via the CLI \(\d+@/) });

  // The worker logs a cancel on request as one INFO line with the reason, not as a WARN with a stack trace.
  const logged = await eventually(async () => {
    const lines = stack.worker
      .output()
      .split('\n')
      .filter((l) => l.includes(`"workflowId":"${ids[0]}"`));
    return lines.some((l) => l.includes('Workflow ended')) ? lines : undefined;
  });
  expect(logged.filter((l) => /Workflow failed|"stack"/.test(l))).toEqual([]);
  expect(JSON.parse(logged.find((l) => l.includes('Workflow ended'))!)).toMatchObject({
    level: 'info',
    msg: 'Workflow ended: cancelled on request',
    reason: 'customer left',
  });

  // Its link was revoked when it ended, so status no longer shows one.
  const cancelled = await provisioner('status', ids[0]!);
  expect(cancelled.stdout).toContain('stage:      cancelled');
  expect(cancelled.stdout).not.toContain('link:');
  expect(JSON.parse((await provisioner('status', ids[0]!, '--json')).stdout)).not.toHaveProperty('consentLink');
  // A second cancel says how it ended in the words of its stage (Temporal calls every such end "failed").
  const again = await provisioner('cancel', ids[0]!);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(
    `error (ProvisioningFinished): provisioning "${ids[0]}" has already finished (cancelled)`,
  );
});

test('batch-cancel of a finished batch, or of no batch, says so in words', async () => {
  const accountId = await newAccount();
  const file = join(PROJECT_ROOT, '.tmp', 'test', `${uniqueId('cli-batch')}.jsonl`);
  const row = { accountId, connector: { id: FIXTURE_CONNECTORS.apiKey.id }, authValue: 'k-1' };
  writeFileSync(file, `${JSON.stringify(row)}\n`);
  const batch = await provisioner('batch', file, '--follow', '--json');
  expect(batch.code).toBe(0);
  const { batchId } = JSON.parse(batch.stdout) as { batchId: string };

  const late = await provisioner('batch-cancel', batchId);
  expect(late).toMatchObject({ code: 1, stdout: '' });
  expect(late.stderr).toBe(
    `error (BatchFinished): batch "${batchId}" has already finished (completed); nothing to cancel\n`,
  );
  const unknown = await provisioner('batch-cancel', 'no-such-batch');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('error (BatchNotFound): no batch "no-such-batch"');
});

test('bulk link issues a fresh link for each match; auth-url a Cyclr URL', async () => {
  const accountId = await newAccount();
  const id = await startOAuth(accountId);
  await eventually(async () => ((await listJson('--account', accountId)).length === 1 ? true : undefined));
  const run = await provisioner('link', '--account', accountId, '--stage', 'awaiting-consent', '--yes');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain(id);
  expect(run.stdout).toMatch(/\/connect\/\S+/);
  expect(run.stdout).toContain('issue new links for: 1 done, 0 failed');

  const authUrl = JSON.parse((await provisioner('auth-url', id, '--json')).stdout) as {
    url: string;
    expiresAt: string;
  };
  expect(authUrl.url.startsWith(simulator.url)).toBe(true);
  await client.cancel(id, 'test over');
});

test('clear errors and exit codes: unknown id, bad flags, bad values, missing id', async () => {
  const unknown = await provisioner('status', 'provision:nobody:Nothing');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('no provisioning "provision:nobody:Nothing"');

  // A mistyped flag names the flag, the command's flags and its usage, not Node's parseArgs advice.
  const badFlag = await provisioner('list', '--stag', 'installing');
  expect(badFlag.code).toBe(2);
  expect(badFlag.stderr).toContain('error: unknown option --stag; the options are --json, --help, --stage <value>');
  expect(badFlag.stderr).toContain('\nusage: provisioner list ');
  expect(badFlag.stderr).not.toContain('positional argument');
  const noValue = await provisioner('cancel', 'provision:a:B', '--reason');
  expect(noValue.code).toBe(2);
  expect(noValue.stderr).toContain('error: --reason needs a value, e.g. --reason <value>\nusage: provisioner cancel ');
  const valueOnSwitch = await provisioner('status', 'provision:a:B', '--json=yes');
  expect(valueOnSwitch.code).toBe(2);
  expect(valueOnSwitch.stderr).toContain('error: --json takes no value (it is on when present)');

  const badStage = await provisioner('list', '--stage', 'waiting');
  expect(badStage.code).toBe(2);
  expect(badStage.stderr).toContain('--stage: "waiting" is not a stage; use one of resolving-connector');

  const badAge = await provisioner('cancel', '--older-than', '2 days', '--dry-run');
  expect(badAge.code).toBe(2);
  expect(badAge.stderr).toContain('--older-than: "2 days" is not an age');

  const noTarget = await provisioner('cancel');
  expect(noTarget.code).toBe(2);
  expect(noTarget.stderr).toContain('cancel needs a provisioning id, or filters');

  const unknownCommand = await provisioner('frobnicate');
  expect(unknownCommand.code).toBe(2);
  expect(unknownCommand.stderr).toContain('unknown command "frobnicate"');
});

test('reconnect and remove: the help lists them; a support person reconnects, then offboards, and a repeat says so', async () => {
  const help = await provisioner('--help');
  expect(help.stdout).toMatch(/^\s+reconnect <id> \[--force\]/m);
  expect(help.stdout).toMatch(/^\s+remove <id>/m);
  expect((await provisioner('reconnect', '--help')).stdout).toContain('--force de-authenticates first');

  const accountId = await newAccount();
  const id = await startOAuth(accountId);
  const { accountConnectorId } = await client.status(id);
  await approveSilently(simulator.url, accountConnectorId!);
  expect((await provisioner('complete', id)).code).toBe(0);
  await client.result(id);

  const reconnect = await provisioner('reconnect', id);
  expect(reconnect).toMatchObject({ code: 0 });
  expect(reconnect.stdout).toContain('still authenticated at Cyclr: nothing to reconnect');
  expect(reconnect.stdout).toContain('reconnects: 1');

  const forced = JSON.parse((await provisioner('reconnect', id, '--force', '--json')).stdout) as {
    created: boolean;
    stage: string;
    reconnects: number;
    consentLink?: string;
  };
  expect(forced).toMatchObject({ created: true, stage: 'awaiting-consent', reconnects: 2 });
  expect(forced.consentLink).toMatch(/\/connect\//);

  // Offboarding a provisioning that is waiting again: cancelled first, then removed.
  const removed = await provisioner('remove', id);
  expect(removed).toMatchObject({ code: 0 });
  expect(removed.stdout).toMatch(/^removed\n/);
  expect(removed.stdout).toContain('stage:      removed');
  const again = await provisioner('remove', id, '--json');
  expect(JSON.parse(again.stdout)).toMatchObject({ removedByThisCall: false, status: { stage: 'removed' } });

  const refused = await provisioner('reconnect', id);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/ProvisioningRemoved.*start it again/);
  expect((await provisioner('remove')).stderr).toContain('remove needs a provisioning id');
});

test('bulk remove by filter: --dry-run lists completed ones too, --yes removes them, and a repeat finds nothing', async () => {
  const accountId = await newAccount();
  const ids: string[] = [];
  for (const name of ['one', 'two']) {
    const run = await provisioner(
      'start',
      '--account',
      accountId,
      '--connector-id',
      String(FIXTURE_CONNECTORS.apiKey.id),
      '--install-name',
      name,
      '--auth-value',
      'k-123',
    );
    expect(run.code).toBe(0);
    ids.push(/started: (\S+)/.exec(run.stdout)![1]!);
  }
  for (const id of ids) await client.result(id);
  await eventually(async () =>
    (await listJson('--account', accountId, '--stage', 'completed')).length === 2 ? true : undefined,
  );

  const dry = JSON.parse((await provisioner('remove', '--account', accountId, '--dry-run', '--json')).stdout) as {
    matched: { workflowId: string }[];
  };
  expect(dry.matched.map((m) => m.workflowId).sort()).toEqual([...ids].sort());
  expect((await client.status(ids[0]!)).stage).toBe('completed'); // a dry run changes nothing

  const done = await provisioner('remove', '--account', accountId, '--yes');
  expect(done).toMatchObject({ code: 0 });
  expect(done.stdout).toContain('remove: 2 done, 0 failed');
  for (const id of ids) expect((await client.status(id)).stage).toBe('removed');
  await eventually(async () =>
    (await listJson('--account', accountId, '--stage', 'removed')).length === 2 ? true : undefined,
  );
  expect((await provisioner('remove', '--account', accountId, '--dry-run')).stdout).toContain('nothing matches');
});

test('bulk remove by a file of ids: --dry-run lists them, --yes removes each, an unknown id is reported as failed', async () => {
  const accountId = await newAccount();
  const ids: string[] = [];
  for (const name of ['first', 'second']) {
    const { workflowId } = await client.start({
      accountId,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      installName: name,
      authValue: 'k-123',
    });
    await client.result(workflowId);
    ids.push(workflowId);
  }
  const unknown = `provision:${accountId}:never-started`;
  const file = join(PROJECT_ROOT, '.tmp', 'test', `${uniqueId('offboard')}.txt`);
  writeFileSync(file, `# offboarding ${accountId}\n${ids[0]}\n\n${ids[1]}\n${ids[0]}\n${unknown}\n`);

  const dry = await provisioner('remove', '--ids', file, '--dry-run', '--json');
  expect(JSON.parse(dry.stdout)).toEqual({ dryRun: true, file, matched: [ids[0], ids[1], unknown] });
  expect((await client.status(ids[0]!)).stage).toBe('completed'); // a dry run changes nothing
  expect((await provisioner('remove', '--ids', file)).stderr).toContain('3 provisioning(s) match; not a terminal');

  const done = await provisioner('remove', '--ids', file, '--yes');
  expect(done.code).toBe(1);
  expect(done.stdout).toContain(`FAILED ${unknown}: ProvisioningNotFound`);
  expect(done.stdout).toContain('remove: 2 done, 1 failed');
  for (const id of ids) expect((await client.status(id)).stage).toBe('removed');

  // A line that is not an id is a usage error naming the line; nothing is done.
  writeFileSync(file, `${ids[0]}\n${accountId}\n`);
  const bad = await provisioner('remove', '--ids', file, '--yes');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain(`line 2 of ${file} is not a provisioning id`);
  expect((await provisioner('remove', '--ids', file, '--account', accountId)).stderr).toContain(
    'give --ids FILE alone',
  );
});
