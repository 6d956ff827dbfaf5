/**
 * Bad input, as users meet it: through the client library, the HTTP gateway and the CLI. Each gets one clear
 * message naming the field or cause and the fix; no process crashes; nothing is left installed that nobody tracks.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidRequestError, ProvisioningError, type ProvisioningClient } from '../src/client.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { provisioningWorkflowId } from '../src/contract/ids.js';
import { startGatewayStack, withToken, type GatewayStack } from './support/gateway-stack.js';
import { eventually, provisioningClient, startWorkerProcess, testEnv, uniqueId } from './support/harness.js';
import { runCli } from './support/reliability-cli.js';
import { installCount, requestTotal, setFaults, simulatorStats } from './support/simulator-admin.js';

const storeDir = mkdtempSync(join(tmpdir(), 'bad-input-batches-'));
let stack: GatewayStack;
let client: ProvisioningClient;
let cliEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startGatewayStack('bad-input', { BATCH_STORE_DIR: storeDir });
  client = stack.client;
  cliEnv = testEnv({ ...stack.options, env: { BATCH_STORE_DIR: storeDir } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  rmSync(storeDir, { recursive: true, force: true });
});

const apiKey = FIXTURE_CONNECTORS.apiKey;
const oauth = { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' };

/** The error `start` throws, asserting it names `path` with a message matching `message`, and that nothing started. */
async function rejectedStart(
  input: Record<string, unknown>,
  path: string,
  message: RegExp,
): Promise<InvalidRequestError> {
  const err = await client.start(input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidRequestError);
  const invalid = err as InvalidRequestError;
  expect(invalid.fields).toEqual(
    expect.arrayContaining([expect.objectContaining({ path, message: expect.stringMatching(message) })]),
  );
  // One line a person can act on, naming the field.
  expect(invalid.message).not.toContain('\n');
  expect(invalid.message).toContain(`${path}: `);
  return invalid;
}

async function failureOf(workflowId: string, c: ProvisioningClient = client): Promise<ProvisioningError> {
  const err = await c.result(workflowId).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProvisioningError);
  return err as ProvisioningError;
}

async function installsIn(accountId: string): Promise<number> {
  const stats = await simulatorStats(stack.simulator.url);
  return stats.installs.filter((i) => i.accountId === accountId).reduce((n, i) => n + i.count, 0);
}

async function stageOf(workflowId: string, stage: string) {
  return eventually(
    async () => {
      const s = await client.status(workflowId);
      return s.stage === stage ? s : undefined;
    },
    30_000,
    `stage ${stage}`,
  );
}

describe('the client library refuses a bad request before anything starts', () => {
  test('missing accountId', async () => {
    await rejectedStart({ connector: { id: apiKey.id } }, 'accountId', /is required/);
  });

  test('malformed accountId (spaces and slashes)', async () => {
    await rejectedStart(
      { accountId: 'acme 1/eu', connector: { id: apiKey.id } },
      'accountId',
      /must not contain spaces, ":", "\/"/,
    );
  });

  test('connector given both by id and by name', async () => {
    await rejectedStart(
      { accountId: 'a1', connector: { id: apiKey.id, name: apiKey.name } },
      'connector',
      /by id or by name, not both/,
    );
  });

  test('connector given by neither id nor name', async () => {
    await rejectedStart(
      { accountId: 'a1', connector: {} },
      'connector',
      /\{ "id": 123 \} or \{ "name": "Salesforce" \}/,
    );
  });

  test('an unknown field (a typo) is named, with the hint that fields are camelCase', async () => {
    await rejectedStart(
      { accountId: 'a1', connector: { id: apiKey.id }, auth_value: 'k' },
      'auth_value',
      /unknown field "auth_value".*camelCase/,
    );
  });

  test('wrong types: connector.id as a string, properties as an object', async () => {
    const err = await rejectedStart(
      { accountId: 'a1', connector: { id: '1001' }, properties: { Region: 'eu' } },
      'connector.id',
      /must be number, not string/,
    );
    expect(err.fields).toEqual(expect.arrayContaining([{ path: 'properties', message: 'must be array, not object' }]));
  });

  test('a returnUrl that is not http(s)', async () => {
    await rejectedStart(
      {
        accountId: 'a1',
        connector: { id: FIXTURE_CONNECTORS.oauth.id },
        oauth: { ...oauth, returnUrl: 'javascript:alert(1)' },
      },
      'oauth.returnUrl',
      /http:\/\/ or https:\/\//,
    );
  });

  test('a duration that does not parse names the field and shows the format', async () => {
    await rejectedStart(
      { accountId: 'a1', connector: { id: FIXTURE_CONNECTORS.oauth.id }, oauth, timeouts: { consent: 'two weeks' } },
      'timeouts.consent',
      /"two weeks" is not a duration; write e\.g\. "14d"/,
    );
  });

  test('a checkEveryMax below checkEvery (given, or the default 10m) names the field and the fix', async () => {
    await rejectedStart(
      {
        accountId: 'a1',
        connector: { id: FIXTURE_CONNECTORS.oauth.id },
        oauth,
        timeouts: { checkEvery: '1h', checkEveryMax: '30m' },
      },
      'timeouts.checkEveryMax',
      /^must be at least checkEvery \(1h\); raise checkEveryMax or lower checkEvery$/,
    );
    await rejectedStart(
      { accountId: 'a1', connector: { id: FIXTURE_CONNECTORS.oauth.id }, oauth, timeouts: { checkEveryMax: '5m' } },
      'timeouts.checkEveryMax',
      /^must be at least checkEvery \(10m\)/,
    );
  });

  test('a request that is not a JSON object at all', async () => {
    await rejectedStart(
      [{ accountId: 'a1' }] as unknown as Record<string, unknown>,
      '(request)',
      /must be a JSON object/,
    );
  });

  test('nothing was started by any refused request', async () => {
    await expect(
      client.status(provisioningWorkflowId({ accountId: 'a1', connector: { id: apiKey.id } })),
    ).rejects.toMatchObject({
      type: 'ProvisioningNotFound',
    });
  });
});

describe('requests that are well formed but wrong fail at once, by type, and install nothing', () => {
  test('unknown connector: ConnectorNotFound names what was asked for', async () => {
    const accountId = await stack.newAccount();
    const { workflowId } = await client.start({ accountId, connector: { name: 'No Such Connector' }, authValue: 'k' });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('ConnectorNotFound');
    expect(err.message).toMatch(/No Cyclr connector named "No Such Connector"/);
    expect(await installsIn(accountId)).toBe(0);
  });

  test('ambiguous name: AmbiguousConnector lists the versions and says to pass version or id', async () => {
    const accountId = await stack.newAccount();
    const { workflowId } = await client.start({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.ambiguousName },
      oauth,
    });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('AmbiguousConnector');
    expect(err.message).toMatch(/v3.*v4/);
    expect(err.message).toMatch(/pass connector\.version or connector\.id/);
    expect(await installsIn(accountId)).toBe(0);
  });

  test('an OAuth connector without an oauth block: InvalidRequest naming oauth and its fields', async () => {
    const accountId = await stack.newAccount();
    const { workflowId } = await client.start({ accountId, connector: { id: FIXTURE_CONNECTORS.oauth.id } });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('InvalidRequest');
    expect(err.message).toMatch(/^oauth: .*needs the customer's consent; add \{ "username"/);
    expect(await installsIn(accountId)).toBe(0);
  });

  test('an account that does not exist (without create): AccountNotFound says how to create it', async () => {
    const accountId = uniqueId('missing');
    const { workflowId } = await client.start({ accountId, connector: { id: apiKey.id }, authValue: 'k' });
    const err = await failureOf(workflowId);
    expect(err.type).toBe('AccountNotFound');
    expect(err.message).toMatch(new RegExp(`accountId: Cyclr has no account "${accountId}".*"create": true`));
    expect(await installsIn(accountId)).toBe(0);
  });

  test('wrong Cyclr credentials: CyclrUnauthorized names CYCLR_CLIENT_ID/SECRET, never the secret; the worker keeps serving', async () => {
    const badSecret = 'wrong-client-secret-7c1d9e2f-never-print';
    const options = {
      taskQueue: uniqueId('bad-creds'),
      simulatorUrl: stack.simulator.url,
      env: { CYCLR_CLIENT_SECRET: badSecret },
    };
    let worker: ServiceProcess | undefined;
    const badClient = await provisioningClient(options);
    try {
      worker = await startWorkerProcess(options);
      for (let i = 0; i < 2; i++) {
        const accountId = await stack.newAccount();
        const { workflowId } = await badClient.start({ accountId, connector: { id: apiKey.id }, authValue: 'k' });
        const err = await failureOf(workflowId, badClient);
        expect(err.type).toBe('CyclrUnauthorized');
        expect(err.message).toMatch(/CYCLR_CLIENT_ID/);
        expect(err.message).toMatch(/CYCLR_CLIENT_SECRET/);
        expect(err.message).not.toContain(badSecret);
        expect(JSON.stringify(await badClient.status(workflowId))).not.toContain(badSecret);
        expect(await installsIn(accountId)).toBe(0);
      }
      // Failing twice did not take the worker down, and it printed no secret.
      expect(worker.process.exitCode).toBeNull();
      expect(worker.output()).not.toContain(badSecret);
    } finally {
      await worker?.kill();
      await badClient.temporal.connection.close();
    }
  });
});

describe('steering a provisioning that does not exist, has finished, or is not waiting', () => {
  test('a signal to a provisioning that does not exist: ProvisioningNotFound with the id format', async () => {
    const err = await client.completeConsent('provision:nobody:Nothing').then(
      () => undefined,
      (e: unknown) => e as ProvisioningError,
    );
    expect(err).toMatchObject({ type: 'ProvisioningNotFound' });
    expect(err!.message).toMatch(
      /no provisioning "provision:nobody:Nothing"; ids look like provision:\{accountId\}:\{installName\}/,
    );
  });

  test('a signal and an update to a finished provisioning: ProvisioningFinished, start a new one', async () => {
    const accountId = await stack.newAccount();
    const { workflowId } = await client.start({ accountId, connector: { id: apiKey.id }, authValue: 'k' });
    await client.result(workflowId);
    await expect(client.cancel(workflowId, 'late')).rejects.toMatchObject({
      type: 'ProvisioningFinished',
      message: expect.stringMatching(/has already finished \(completed\); start a new one instead/),
    });
    await expect(client.issueAuthUrl(workflowId)).rejects.toMatchObject({ type: 'ProvisioningFinished' });
    // The finished provisioning's install stays, tracked by its result.
    expect(installCount(await simulatorStats(stack.simulator.url), accountId, apiKey.name)).toBe(1);
  });

  test('issueAuthUrl before the provisioning awaits consent: NotAwaitingConsent names the stage', async () => {
    const accountId = await stack.newAccount();
    await setFaults(stack.simulator.url, { install: { latencyMs: 5000 } });
    try {
      const { workflowId } = await client.start({ accountId, connector: { id: FIXTURE_CONNECTORS.oauth.id }, oauth });
      await stageOf(workflowId, 'installing');
      await expect(client.issueAuthUrl(workflowId)).rejects.toMatchObject({
        type: 'NotAwaitingConsent',
        message: 'cannot issue an auth URL: the provisioning is "installing", not "awaiting-consent"',
      });
      await setFaults(stack.simulator.url, {});
      // Refusing the update did not disturb it: it goes on to wait, and a cancel removes what it installed.
      const waiting = await stageOf(workflowId, 'awaiting-consent');
      await client.cancel(workflowId, 'test done');
      await failureOf(workflowId);
      expect(
        (await fetch(`${stack.simulator.url}/_admin/account-connectors/${waiting.accountConnectorId}`)).status,
      ).toBe(404);
    } finally {
      await setFaults(stack.simulator.url, {});
    }
  });
});

describe('the HTTP gateway', () => {
  const post = (path: string, body: string, contentType = 'application/json') =>
    fetch(`${stack.gatewayUrl}${path}`, { method: 'POST', headers: withToken({ 'content-type': contentType }), body });

  test('a body that is not valid JSON: 400 saying so', async () => {
    const res = await post('/provisionings', '{"accountId": "a1", "connector": ');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'InvalidRequest', message: 'the body is not valid JSON' });
  });

  test('a body that is not JSON at all: 415 naming the content type to send', async () => {
    const res = await post('/provisionings', 'accountId=a1', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(415);
    expect(((await res.json()) as { message: string }).message).toMatch(/Content-Type: application\/json/);
  });

  test('connector by both id and name, and a ftp returnUrl: 400 with every field named', async () => {
    const res = await post(
      '/provisionings',
      JSON.stringify({
        accountId: 'a1',
        connector: { id: 1002, name: 'HubSpot' },
        oauth: { ...oauth, returnUrl: 'ftp://files.example.test' },
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; fields: { path: string; message: string }[] };
    expect(body.error).toBe('InvalidRequest');
    expect(body.fields).toEqual(
      expect.arrayContaining([
        { path: 'connector', message: 'give the connector by id or by name, not both' },
        { path: 'oauth.returnUrl', message: 'must be an http:// or https:// URL' },
      ]),
    );
  });

  test('timeouts.checkEveryMax that is not a duration, or below checkEvery: 400 naming it', async () => {
    const body = (checkEveryMax: string) =>
      JSON.stringify({
        accountId: 'a1',
        connector: { id: FIXTURE_CONNECTORS.oauth.id },
        oauth,
        timeouts: { checkEvery: '20m', checkEveryMax },
      });
    for (const [value, message] of [
      ['six hours', '"six hours" is not a duration; write e.g. "14d", "2h", "10m" or "30s"'],
      ['15m', 'must be at least checkEvery (20m); raise checkEveryMax or lower checkEvery'],
    ] as const) {
      const res = await post('/provisionings', body(value));
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { error: string; fields: { path: string; message: string }[] };
      expect(answer).toMatchObject({ error: 'InvalidRequest', fields: [{ path: 'timeouts.checkEveryMax', message }] });
    }
  });

  test('a malformed CSV batch over HTTP: 400 InvalidBatch saying what is wrong, nothing started', async () => {
    const res = await post('/batches', `accountId,connectorId\nacct-1,"${apiKey.id}\n`, 'text/csv');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('InvalidBatch');
    expect(body.message).toMatch(/malformed CSV/);
  });

  test('a CSV batch whose rows have the wrong column count: 400 naming each line', async () => {
    const res = await post('/batches', `accountId,connectorId,authValue\nacct-1,${apiKey.id},k,extra\n`, 'text/csv');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; fields: { path: string; message: string }[] };
    expect(body.error).toBe('InvalidBatch');
    expect(body.fields).toEqual([{ path: 'line 2', message: 'has 4 columns; the header has 3' }]);
  });

  test('a JSON batch with no rows: 400 naming the field', async () => {
    const res = await post('/batches', JSON.stringify({ rows: [], concurrency: 0 }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { fields: { path: string; message: string }[] };
    expect(body.fields.map((f) => f.path).sort()).toEqual(['concurrency', 'rows']);
  });

  test('an unknown provisioning id: 404 with the id format', async () => {
    const res = await stack.call(`/provisionings/${encodeURIComponent('provision:nobody:Nothing')}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'ProvisioningNotFound' });
  });

  test('a tampered consent link is refused, mints no sign-in token, and the real link still works', async () => {
    const accountId = await stack.newAccount();
    const { workflowId } = await client.start({ accountId, connector: { id: FIXTURE_CONNECTORS.oauth.id }, oauth });
    const { consentLink } = await stageOf(workflowId, 'awaiting-consent');
    const link = consentLink!;
    // A character inside the signature (the last one of base64url may only carry padding bits that decode the same).
    const at = link.length - 5;
    const tampered = link.slice(0, at) + (link[at] === 'A' ? 'B' : 'A') + link.slice(at + 1);
    const tokensBefore = requestTotal(await simulatorStats(stack.simulator.url), /signintoken/i);

    const refused = await fetch(tampered, { redirect: 'manual' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/altered or was not issued by us.*ask for a new one/s);
    expect(requestTotal(await simulatorStats(stack.simulator.url), /signintoken/i)).toBe(tokensBefore);

    const real = await fetch(link, { redirect: 'manual' });
    expect(real.status).toBe(302);
    expect(real.headers.get('location')).toMatch(/\/connectorauth\//);
    await client.cancel(workflowId, 'test done');
  });

  test('cancelling a finished provisioning over HTTP: 409 ProvisioningFinished', async () => {
    const accountId = await stack.newAccount();
    const { workflowId } = await client.start({ accountId, connector: { id: apiKey.id }, authValue: 'k' });
    await client.result(workflowId);
    const res = await post(
      `/provisionings/${encodeURIComponent(workflowId)}/cancel`,
      JSON.stringify({ reason: 'late' }),
    );
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'ProvisioningFinished' });
  });
});

describe('the CLI', () => {
  const dir = () => mkdtempSync(join(storeDir, 'files-'));

  test('start without --account: usage error naming the flag, exit 2', async () => {
    const run = await runCli(['start', '--connector-id', String(apiKey.id)], cliEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/start needs --account ID/);
  });

  test('start with a duration that does not parse: the field and the format, exit 2', async () => {
    const run = await runCli(
      [
        'start',
        '--account',
        'a1',
        '--connector-id',
        String(FIXTURE_CONNECTORS.oauth.id),
        '--username',
        'u',
        '--return-url',
        'https://x.test/',
        '--consent',
        'a fortnight',
      ],
      cliEnv,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/timeouts\.consent: "a fortnight" is not a duration/);
  });

  test('an unknown flag is named, exit 2', async () => {
    const run = await runCli(['start', '--acount', 'a1'], cliEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--acount/);
  });

  test('status of a provisioning that does not exist: ProvisioningNotFound, exit 1', async () => {
    const run = await runCli(['status', 'provision:nobody:Nothing'], cliEnv);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ProvisioningNotFound.*provision:nobody:Nothing/);
  });

  test('a malformed CSV batch file (an unterminated quote) is refused and starts nothing', async () => {
    const file = join(dir(), 'broken.csv');
    writeFileSync(file, `accountId,connectorId,authValue\nacct-1,${apiKey.id},"unterminated\n`);
    const run = await runCli(['batch', file], cliEnv);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/malformed CSV/);
    expect(run.stderr).not.toMatch(/started batch/);
  });

  test('an oversize batch file is refused before it is read, with the limit and the fix', async () => {
    const file = join(dir(), 'huge.csv');
    writeFileSync(file, '');
    truncateSync(file, 513 * 1024 * 1024); // sparse: costs no disk
    const run = await runCli(['batch', file], cliEnv);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/limit is 512 MB: split it into several batches/);
  });

  test('a CSV row with the wrong column count is rejected by line; the good row still runs', async () => {
    const accountId = await stack.newAccount();
    const file = join(dir(), 'rows.csv');
    writeFileSync(
      file,
      `accountId,connectorId,authValue\n${accountId},${apiKey.id},key-1\nacct-x,${apiKey.id},key-2,extra\n`,
    );
    const run = await runCli(['batch', file, '--follow'], cliEnv, 120_000);
    expect(run.stderr).toMatch(/line 3: has 4 columns; the header has 3/);
    expect(run.code).toBe(1);
    expect(installCount(await simulatorStats(stack.simulator.url), accountId, apiKey.name)).toBe(1);
    expect(installCount(await simulatorStats(stack.simulator.url), 'acct-x', apiKey.name)).toBe(0);
  });
});

test('after all of it, the gateway and the worker still serve', async () => {
  expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
  expect(stack.worker.process.exitCode).toBeNull();
  const accountId = await stack.newAccount();
  const { workflowId } = await client.start({ accountId, connector: { id: apiKey.id }, authValue: 'k' });
  expect((await client.result(workflowId)).authenticated).toBe(true);
});
