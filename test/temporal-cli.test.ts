/**
 * The official `temporal` CLI against our payloads, through the gateway's codec endpoint: what support staff type.
 * A real dev server, a real worker process, the simulator, and the gateway serving /codec with its bearer tokens.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { codecOptionsFromEnv } from '../src/codec/server.js';
import { ensureTemporalCli } from '../dev/local-stack/temporal-cli.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startGatewayStack, TEST_GATEWAY_TOKEN, TEST_READ_TOKEN, type GatewayStack } from './support/gateway-stack.js';
import { eventually, temporalAddress, testEnv, uniqueId } from './support/harness.js';

const run = promisify(execFile);
let stack: GatewayStack;
let cli: string;
let workflowId: string;
/** Only in the encrypted workflow input: seen in `workflow show` only if the codec decrypted it. */
const username = `${uniqueId('jo')}@cli.example.test`;

beforeAll(async () => {
  cli = ensureTemporalCli();
  const probe = testEnv({ taskQueue: 'unused', simulatorUrl: 'http://127.0.0.1:9' });
  stack = await startGatewayStack('temporal-cli', {}, { codec: codecOptionsFromEnv(probe) });
  const accountId = await stack.newAccount();
  const res = await stack.call('/provisionings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username, returnUrl: 'https://app.example.test/done' },
    }),
  });
  expect(res.status).toBe(202);
  workflowId = ((await res.json()) as { workflowId: string }).workflowId;
  await eventually(async () =>
    (await stack.client.status(workflowId)).stage === 'awaiting-consent' ? true : undefined,
  );
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `temporal workflow <args>` at the test server; with `token`, through the gateway's codec with that token. */
async function temporal(args: string[], token?: string): Promise<CliResult> {
  const codec = token
    ? ['--codec-endpoint', `${stack.gatewayUrl}/codec`, '--codec-auth', `Bearer ${token}`]
    : ['--codec-endpoint', `${stack.gatewayUrl}/codec`];
  try {
    const { stdout, stderr } = await run(
      cli,
      ['workflow', ...args, '--address', temporalAddress(), '--namespace', 'default', ...codec],
      { timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('workflow query --name status through the codec shows the stage and our consent link', async () => {
  const res = await temporal(
    ['query', '--workflow-id', workflowId, '--name', 'status', '-o', 'json'],
    TEST_GATEWAY_TOKEN,
  );
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const { queryResult } = JSON.parse(res.stdout) as { queryResult: [{ stage: string; consentLink: string }] };
  expect(queryResult[0].stage).toBe('awaiting-consent');
  expect(queryResult[0].consentLink.startsWith(`${stack.gatewayUrl}/connect/`)).toBe(true);
});

test("the codec takes protobuf JSON's {} (an empty payload list) and answers with no payloads", async () => {
  for (const action of ['encode', 'decode']) {
    const res = await stack.call(`/codec/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect([action, res.status, await res.json()]).toEqual([action, 200, { payloads: [] }]);
  }
});

test('without the codec token the CLI is refused by the codec and shows nothing decrypted', async () => {
  const res = await temporal(['query', '--workflow-id', workflowId, '--name', 'status', '-o', 'json']);
  expect(res.code).not.toBe(0);
  expect(`${res.stdout}${res.stderr}`).toMatch(/401|Unauthorized/);
  expect(res.stdout).not.toContain('awaiting-consent');
});

test('workflow update execute --name issueAuthUrl with no input returns a fresh Cyclr URL', async () => {
  const res = await temporal(
    ['update', 'execute', '--workflow-id', workflowId, '--name', 'issueAuthUrl', '-o', 'json'],
    TEST_GATEWAY_TOKEN,
  );
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const out = JSON.parse(res.stdout) as { result: { url: string; expiresAt: string } };
  expect(out.result.url).toMatch(/connectorauth/);
  expect(Date.parse(out.result.expiresAt)).toBeGreaterThan(Date.now());
});

/** The workflow's start input as `workflow show -o json` printed it: its encoding and its data, both decoded. */
function startInput(stdout: string): { encoding: string; data: string } {
  const { events } = JSON.parse(stdout) as {
    events: {
      workflowExecutionStartedEventAttributes?: {
        input: { payloads: { metadata: { encoding: string }; data: string }[] };
      };
    }[];
  };
  const [payload] = events[0]!.workflowExecutionStartedEventAttributes!.input.payloads;
  const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return { encoding: text(payload!.metadata.encoding), data: text(payload!.data) };
}

test('workflow show through the codec shows the decrypted input; with a wrong token it stays encrypted', async () => {
  const decoded = await temporal(['show', '--workflow-id', workflowId, '-o', 'json'], TEST_GATEWAY_TOKEN);
  expect(decoded.code).toBe(0);
  const plain = startInput(decoded.stdout);
  expect(plain.encoding).toBe('json/plain');
  expect(JSON.parse(plain.data)).toMatchObject({ oauth: { username } });

  // A wrong token, and a read token (decoded payloads carry secrets such as authValue): nothing in the clear.
  for (const token of ['not-a-gateway-token-0123456789', TEST_READ_TOKEN]) {
    const refused = await temporal(['show', '--workflow-id', workflowId, '-o', 'json'], token);
    expect(`${refused.stdout}${refused.stderr}`).not.toContain(username);
    if (refused.code === 0) expect(startInput(refused.stdout).encoding).toBe('binary/encrypted');
  }
});
