/**
 * The popup flow's request and Cyclr URL: `oauth.targetOrigin` is validated as a bare origin (400 naming it), and
 * with callbackMessage the connectorauth URL sends Cyclr the app's origin, so Cyclr's message reaches the app.
 * Against the simulator over HTTP and the gateway in-process; no workflow runs.
 */
import type { FastifyInstance } from 'fastify';
import { createCyclrClient, type CyclrClient } from '../src/activities/cyclr/cyclr-client.js';
import { createProvisioningActivities } from '../src/activities/provisioning.js';
import type { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import { parseProvisioningRequest } from '../src/contract/request.js';
import { startGateway, withToken } from './support/gateway-stack.js';
import {
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  provisioningClient,
  startTestSimulator,
  testEnv,
  uniqueId,
} from './support/harness.js';
import { answerConsentPage, seedAccounts } from './support/simulator-admin.js';

const GATEWAY = 'https://gateway.example.test';
const base = {
  accountId: 'acme-1',
  connector: { name: 'HubSpot' },
  oauth: { username: 'jo@acme.test', returnUrl: 'https://app.example.com/integrations/done?tab=crm' },
};

let sim: Simulator;
let cyclr: CyclrClient;
let client: ProvisioningClient;
let gateway: FastifyInstance;
let gatewayUrl: string;
let accountId: string;

beforeAll(async () => {
  sim = await startTestSimulator();
  accountId = uniqueId('acct');
  await seedAccounts(sim.url, [accountId]);
  cyclr = createCyclrClient({
    apiUrl: sim.url,
    serviceDomain: sim.url,
    credentials: { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET },
  });
  const options = { taskQueue: uniqueId('consent-popup'), simulatorUrl: sim.url };
  client = await provisioningClient(options);
  ({ app: gateway, url: gatewayUrl } = await startGateway(client, testEnv(options)));
});

afterAll(async () => {
  cyclr?.close();
  await gateway?.close();
  await client?.temporal.connection.close();
  await sim?.close();
});

function activities() {
  const { linkSigningKeys } = loadConfig('gateway', testEnv({ taskQueue: 'q', simulatorUrl: sim.url }));
  return createProvisioningActivities({ cyclr, publicBaseUrl: GATEWAY, linkSigningKeys });
}

/** mintAuthUrl for the same provisioning, with the fields a case varies. */
function mint(fields: {
  accountConnectorId?: number;
  callbackMessage?: string;
  targetOrigin?: string;
  returnUrl?: string;
}) {
  return activities().mintAuthUrl({
    workflowId: 'provision:acme-1:HubSpot',
    accountId,
    accountConnectorId: 7,
    username: 'jo@acme.test',
    ...fields,
  });
}

function paramsOf(url: string): URLSearchParams {
  return new URL(url).searchParams;
}

test.each([['https://app.example.com'], ['http://127.0.0.1:9911'], ['https://app.example.com:8443']])(
  'an oauth.targetOrigin of %s is accepted with callbackMessage',
  (targetOrigin) => {
    const parsed = parseProvisioningRequest({
      ...base,
      oauth: { ...base.oauth, callbackMessage: 'done', targetOrigin },
    });
    expect(parsed.ok).toBe(true);
  },
);

test.each([
  ['https://app.example.com/integrations', 'a path'],
  ['https://app.example.com/', 'a trailing slash'],
  ['https://app.example.com?x=1', 'a query'],
  ['https://app.example.com#top', 'a fragment'],
  ['https://jo:secret@app.example.com', 'credentials'],
  ['app.example.com', 'no scheme'],
  ['ftp://app.example.com', 'another scheme'],
  ['*', 'a wildcard'],
])('an oauth.targetOrigin of %s (%s) is refused, naming the field and the form it must take', (targetOrigin) => {
  const parsed = parseProvisioningRequest({ ...base, oauth: { ...base.oauth, callbackMessage: 'done', targetOrigin } });
  expect(parsed.ok).toBe(false);
  if (parsed.ok) return;
  expect(parsed.errors).toEqual([
    {
      path: 'oauth.targetOrigin',
      message: expect.stringMatching(/^must be an origin such as https:\/\/app\.example\.com: .*no path/),
    },
  ]);
});

test('an oauth.targetOrigin without callbackMessage is refused: the redirect flow would silently ignore it', () => {
  const parsed = parseProvisioningRequest({
    ...base,
    oauth: { ...base.oauth, targetOrigin: 'https://app.example.com' },
  });
  expect(parsed.ok).toBe(false);
  if (parsed.ok) return;
  expect(parsed.errors).toEqual([
    { path: 'oauth.targetOrigin', message: expect.stringContaining('add callbackMessage, or remove targetOrigin') },
  ]);
});

test('the gateway answers a bad oauth.targetOrigin with a 400 naming the field', async () => {
  const res = await fetch(`${gatewayUrl}/provisionings`, {
    method: 'POST',
    headers: withToken({ 'content-type': 'application/json' }),
    body: JSON.stringify({
      ...base,
      oauth: { ...base.oauth, callbackMessage: 'done', targetOrigin: 'https://app.example.com/x' },
    }),
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: string; message: string; fields: { path: string }[] };
  expect(body.error).toBe('InvalidRequest');
  expect(body.fields.map((f) => f.path)).toEqual(['oauth.targetOrigin']);
  expect(body.message).toContain('oauth.targetOrigin: must be an origin');
});

test('with callbackMessage and targetOrigin, Cyclr is asked to post the message to the app origin named', async () => {
  const { url } = await mint({
    callbackMessage: 'hubspot-connected',
    targetOrigin: 'http://127.0.0.1:9911',
    returnUrl: base.oauth.returnUrl,
  });
  expect(paramsOf(url).get('targetOrigin')).toBe('http://127.0.0.1:9911');
  expect(paramsOf(url).get('callbackMessage')).toBe('hubspot-connected');
});

test('with callbackMessage and no targetOrigin, Cyclr is asked to post the message to the origin of returnUrl', async () => {
  const { url } = await mint({ callbackMessage: 'hubspot-connected', returnUrl: base.oauth.returnUrl });
  expect(paramsOf(url).get('targetOrigin')).toBe('https://app.example.com');
});

test('without callbackMessage the redirect flow is unchanged: Cyclr redirects to our signed callback', async () => {
  const { url } = await mint({ targetOrigin: 'https://ignored.example.com', returnUrl: base.oauth.returnUrl });
  expect(paramsOf(url).get('targetOrigin')).toMatch(
    new RegExp(`^${GATEWAY}/oauth/callback\\?state=[\\w-]+\\.[\\w-]+$`),
  );
  expect(paramsOf(url).has('callbackMessage')).toBe(false);
});

test('a run started before targetOrigin existed (neither it nor returnUrl passed) keeps posting to the gateway origin', async () => {
  const { url } = await mint({ callbackMessage: 'hubspot-connected' });
  expect(paramsOf(url).get('targetOrigin')).toBe(GATEWAY);
});

async function setAppearance(body: unknown): Promise<Response> {
  return fetch(`${sim.url}/_admin/appearance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test("the simulator's Deny shows the partner's Callback Error HTML, filled in and escaped, and neither redirects nor posts", async () => {
  const installed = await cyclr.installConnector(accountId, FIXTURE_CONNECTORS.oauth.id, { Name: uniqueId('deny') });
  const mintDenied = () =>
    mint({ accountConnectorId: installed.Id, callbackMessage: 'hubspot-connected', returnUrl: base.oauth.returnUrl });
  try {
    const custom = '<div id="e" data-error="{{error}}">{{ error_description }}</div><script>/* partner */</script>';
    expect((await setAppearance({ callbackErrorHtml: custom })).status).toBe(200);
    const denied = await answerConsentPage((await mintDenied()).url, 'deny');
    expect({ status: denied.answerStatus, location: denied.location }).toEqual({ status: 200, location: undefined });
    expect(denied.body).toContain(
      '<div id="e" data-error="access_denied">The user denied the authorisation request.</div><script>/* partner */</script>',
    );
    expect(denied.body).not.toContain('postMessage');

    expect((await setAppearance({ callbackErrorHtml: '' })).status).toBe(400);
    expect((await setAppearance({ callbackErrorHtml: null })).status).toBe(200);
    const byDefault = await answerConsentPage((await mintDenied()).url, 'deny');
    expect(byDefault.body).toContain('<dd id="error">access_denied</dd>');
    expect(byDefault.body).not.toContain('<script>');
  } finally {
    await setAppearance({ callbackErrorHtml: null });
  }
});
