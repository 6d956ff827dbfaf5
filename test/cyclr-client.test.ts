/**
 * The Cyclr client against the Cyclr simulator (the one stand-in): resolution, paging, tokens, idempotent install,
 * error classification, secrecy and the client-side concurrency limit.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createCyclrClient, type CyclrClient, type CyclrClientOptions } from '../src/activities/cyclr/cyclr-client.js';
import type { CyclrRequestEvent } from '../src/observability/metrics.js';
import { httpFailure, isNotFound, parseRetryAfter } from '../src/activities/cyclr/errors.js';
import { scrub } from '../src/observability/redact.js';
import { isLastPage } from '../src/activities/cyclr/paging.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startSimulator, type Simulator } from '../dev/simulator/server.js';
import type { StatsSnapshot } from '../dev/simulator/stats.js';

const CLIENT_ID = 'test-client';
const CLIENT_SECRET = 'cl13nt-s3cret-NEVER-SHOWN';
const AUTH_VALUE = 'api-key-S3CRET-authvalue';

let sim: Simulator;
const clients: CyclrClient[] = [];
let accountSeq = 0;

beforeAll(async () => {
  sim = await startSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});

afterAll(async () => {
  await sim?.close();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await admin('faults', {});
  await admin('settings', { paginationHeaders: false });
});

function client(overrides: Partial<CyclrClientOptions> = {}): CyclrClient {
  const c = createCyclrClient({
    apiUrl: sim.url,
    serviceDomain: sim.url,
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    ...overrides,
  });
  clients.push(c);
  return c;
}

/** The simulator's admin API over HTTP, as a benchmark or another process would use it. */
async function admin<T = unknown>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.url}/_admin/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function stats(): Promise<StatsSnapshot> {
  return admin('stats');
}

const requestsTo = (s: Awaited<ReturnType<typeof stats>>, route: string) => s.requests[route]?.total ?? 0;

async function newAccount(): Promise<string> {
  const id = `acct-${process.pid}-${++accountSeq}`;
  await admin('accounts', { accounts: [id] });
  return id;
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ApplicationFailure);
  return caught as ApplicationFailure;
}

/** A live partner token, fetched the way any Cyclr client would. */
async function fetchAccessToken(): Promise<string> {
  const res = await fetch(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('connector resolution', () => {
  test('by id, by name (case-insensitive) and by name + version', async () => {
    const c = client();
    expect((await c.resolveConnector({ id: FIXTURE_CONNECTORS.oauth.id })).Name).toBe('HubSpot');
    expect((await c.resolveConnector({ name: 'hubspot' })).Id).toBe(FIXTURE_CONNECTORS.oauth.id);
    expect((await c.resolveConnector({ name: 'SALESFORCE', version: 'V4' })).Id).toBe(
      FIXTURE_CONNECTORS.salesforceV4.id,
    );
    expect((await c.findConnectors('salesforce')).map((x) => x.Id).sort()).toEqual([1004, 1005]);
  });

  test('two connectors with one name: AmbiguousConnector lists each and says how to choose', async () => {
    const err = await failureOf(client().resolveConnector({ name: FIXTURE_CONNECTORS.ambiguousName }));
    expect(err.type).toBe('AmbiguousConnector');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('Salesforce v3 (id 1004)');
    expect(err.message).toContain('Salesforce v4 (id 1005)');
    expect(err.message).toMatch(/version.*id/);
  });

  test('no match: ConnectorNotFound says what was searched', async () => {
    const c = client();
    const byName = await failureOf(c.resolveConnector({ name: 'No Such Connector' }));
    expect(byName.type).toBe('ConnectorNotFound');
    expect(byName.nonRetryable).toBe(true);
    expect(byName.message).toContain('"No Such Connector"');

    const byVersion = await failureOf(c.resolveConnector({ name: 'HubSpot', version: 'v9' }));
    expect(byVersion.type).toBe('ConnectorNotFound');
    expect(byVersion.message).toContain('"v9"');
    expect(byVersion.message).toContain('HubSpot v2 (id 1002)'); // what does exist

    const byId = await failureOf(c.resolveConnector({ id: 999_999 }));
    expect(byId.type).toBe('ConnectorNotFound');
    expect(byId.nonRetryable).toBe(true);
    expect(byId.message).toContain('999999');
  });

  test('neither id nor name is a clear InvalidRequest', async () => {
    const err = await failureOf(client().resolveConnector({}));
    expect(err.type).toBe('InvalidRequest');
    expect(err.message).toMatch(/"id".*"name"/);
  });
});

describe('catalog paging', () => {
  test('walks every page and stops at the short last page', async () => {
    const c = client({ pageSize: 25 });
    await admin('reset-stats', {});
    // The catalog sorts by Name; the last connectors alphabetically sit on the last page.
    const found = await c.findConnectors('zuora');
    expect(found).toHaveLength(1);
    // 127 connectors / 25 = 5 full pages + a short 6th; no 7th request.
    expect(requestsTo(await stats(), 'GET /v1.0/connectors')).toBe(6);
  });

  test('with Total-Pages sent, the client still reads every page and asks for none past the last', async () => {
    await admin('settings', { paginationHeaders: true });
    const c = client({ pageSize: 50 });
    await admin('reset-stats', {});
    expect(await c.findConnectors('Zuora')).toHaveLength(1);
    expect(requestsTo(await stats(), 'GET /v1.0/connectors')).toBe(3);
  });

  test('the stop rule: a short page ends the list, and so does Total-Pages after a full page', () => {
    // The simulator's catalog size (127, prime) always ends on a short page, so the header's own effect is shown here.
    expect(isLastPage({ page: 2, itemCount: 10, pageSize: 10, totalPagesHeader: '2' })).toBe(true);
    expect(isLastPage({ page: 1, itemCount: 10, pageSize: 10, totalPagesHeader: '2' })).toBe(false);
    expect(isLastPage({ page: 2, itemCount: 10, pageSize: 10 })).toBe(false);
    expect(isLastPage({ page: 2, itemCount: 3, pageSize: 10, totalPagesHeader: '9' })).toBe(true);
    expect(isLastPage({ page: 1, itemCount: 0, pageSize: 10 })).toBe(true);
    expect(isLastPage({ page: 1, itemCount: 10, pageSize: 10, totalPagesHeader: 'lots' })).toBe(false);
  });
});

describe('partner token', () => {
  test('concurrent first calls share one token fetch (form body, not query string)', async () => {
    const c = client();
    await admin('reset-stats', {});
    await Promise.all(Array.from({ length: 8 }, () => c.getConnector(FIXTURE_CONNECTORS.apiKey.id)));
    const s = await stats();
    // The simulator answers 400 to credentials in the query string; a 200 here means they went in the body.
    expect(s.requests['POST /oauth/token']).toEqual({ total: 1, byStatus: { '200': 1 } });
  });

  test('a revoked token is renewed on 401 and the call retried once', async () => {
    const c = client();
    await c.getConnector(FIXTURE_CONNECTORS.apiKey.id);
    await admin('revoke-tokens', {});
    await admin('reset-stats', {});
    expect((await c.getConnector(FIXTURE_CONNECTORS.oauth.id)).Name).toBe('HubSpot');
    const s = await stats();
    expect(s.requests['POST /oauth/token'].total).toBe(1);
    expect(s.requests['GET /v1.0/connectors/:idOrName'].byStatus).toEqual({ '401': 1, '200': 1 });
  });

  test('renews before expiry once less than 10% of the lifetime remains', async () => {
    const short = await startSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenLifetimeSeconds: 2 });
    try {
      const c = client({ apiUrl: short.url, serviceDomain: short.url });
      await c.getConnector(1001);
      await c.getConnector(1001); // still fresh: cached
      expect(short.stats().requests['POST /oauth/token'].total).toBe(1);
      await new Promise((r) => setTimeout(r, 1_850)); // past 90% of 2 s, before expiry
      await c.getConnector(1001);
      const s = short.stats();
      expect(s.requests['POST /oauth/token'].total).toBe(2);
      expect(s.requests['GET /v1.0/connectors/:idOrName'].byStatus).toEqual({ '200': 3 }); // renewed, never refused
    } finally {
      await short.close();
    }
  });

  test('a 401 that survives one renewal is non-retryable CyclrUnauthorized (no third try)', async () => {
    // Tokens that are dead on arrival: the token endpoint accepts the credentials, the API refuses every token.
    const dead = await startSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenLifetimeSeconds: 0 });
    try {
      const c = client({ apiUrl: dead.url, serviceDomain: dead.url });
      const err = await failureOf(c.getConnector(1001));
      expect(err.type).toBe('CyclrUnauthorized');
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toContain('even with a fresh token');
      expect(err.message).toContain('CYCLR_CLIENT_ID / CYCLR_CLIENT_SECRET');
      const s = dead.stats();
      expect(s.requests['POST /oauth/token'].total).toBe(2);
      expect(s.requests['GET /v1.0/connectors/:idOrName'].byStatus).toEqual({ '401': 2 });
    } finally {
      await dead.close();
    }
  });

  test('bad client credentials: non-retryable CyclrUnauthorized naming the env vars, secret never shown', async () => {
    const c = client({ credentials: { clientId: CLIENT_ID, clientSecret: 'wrong-S3CRET-value' } });
    const err = await failureOf(c.getConnector(1001));
    expect(err.type).toBe('CyclrUnauthorized');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('CYCLR_CLIENT_ID / CYCLR_CLIENT_SECRET');
    expect(err.message).toContain('invalid_client');
    expect(err.message).not.toContain('wrong-S3CRET-value');
    expect(JSON.stringify(err)).not.toContain('wrong-S3CRET-value');
  });

  test('a fixed access token is used as-is; once refused, CyclrUnauthorized names CYCLR_ACCESS_TOKEN', async () => {
    const token = await fetchAccessToken();
    const c = client({ credentials: { accessToken: token } });
    await admin('reset-stats', {});
    expect((await c.getConnector(1001)).Id).toBe(1001);
    await admin('revoke-tokens', {});
    const err = await failureOf(c.getConnector(1001));
    expect(err.type).toBe('CyclrUnauthorized');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('CYCLR_ACCESS_TOKEN');
    expect(err.message).not.toContain(token);
    expect(JSON.stringify(err)).not.toContain(token);
    const s = await stats();
    expect(s.requests['POST /oauth/token']).toBeUndefined(); // nothing to renew with
    expect(s.requests['GET /v1.0/connectors/:idOrName'].byStatus).toEqual({ '200': 1, '401': 1 });
  });
});

describe('accounts', () => {
  test('ensureAccount twice: created, then "ID already in use" returns the existing account', async () => {
    const c = client();
    const id = `ensure-${process.pid}-${Date.now()}`;
    await admin('reset-stats', {});
    const first = await c.ensureAccount({ id, name: 'First Name', timezone: 'Europe/London' });
    const second = await c.ensureAccount({ id, name: 'Second Name' });
    expect(first).toMatchObject({ Id: id, Name: 'First Name', Timezone: 'Europe/London' });
    expect(second).toMatchObject({ Id: id, Name: 'First Name' });
    const s = await stats();
    expect(s.requests['POST /v1.0/accounts'].byStatus).toEqual({ '200': 1, '400': 1 });
    expect(s.requests['GET /v1.0/accounts/:accountId'].total).toBe(1);
  });

  test('a dropped create is retryable, and the retry finds the account the first attempt made', async () => {
    const c = client();
    const id = `dropped-${process.pid}-${Date.now()}`;
    await admin('faults', { accounts: { dropAfterCommitRate: 1 } });
    const err = await failureOf(c.ensureAccount({ id, name: 'Dropped' }));
    expect(err.type).toBe('CyclrNetworkError');
    expect(err.nonRetryable).toBe(false);
    await admin('faults', {});
    expect(await c.ensureAccount({ id, name: 'Dropped' })).toMatchObject({ Id: id, Name: 'Dropped' });
  });

  test('getAccount of an unknown id is CyclrNotFound', async () => {
    const err = await failureOf(client().getAccount('no-such-account'));
    expect(err.type).toBe('CyclrNotFound');
    expect(isNotFound(err)).toBe(true);
    expect(err.message).toContain('GET /v1.0/accounts/{id}');
    expect(err.message).toContain('Account not found');
    expect(err.message).not.toContain('no-such-account'); // route patterns, not URLs
  });
});

describe('install', () => {
  test('installs with properties and AuthValue; a second install returns the same account connector', async () => {
    const c = client();
    const account = await newAccount();
    const { id } = FIXTURE_CONNECTORS.requiredProperty;
    const body = {
      Name: 'Pipedrive main',
      AuthValue: AUTH_VALUE,
      Properties: [{ Name: 'CompanyDomain', Value: 'acme' }],
    };
    const first = await c.installConnector(account, id, body);
    const second = await c.installConnector(account, id, body);
    expect(first).toMatchObject({ Name: 'Pipedrive main', Authenticated: true });
    expect(first.Properties).toEqual([expect.objectContaining({ Name: 'CompanyDomain', Value: 'acme' })]);
    expect(second.Id).toBe(first.Id);
    expect(JSON.stringify(first)).not.toContain(AUTH_VALUE); // Cyclr echoes AuthValue; the client drops it
    expect(sim.installCount(account, 'Pipedrive main')).toBe(1);
  });

  test('without a Name, the connector Name is used (so a repeat still finds it); an empty body is still a body', async () => {
    const c = client();
    const account = await newAccount();
    const first = await c.installConnector(account, FIXTURE_CONNECTORS.none.id, {});
    const again = await c.installConnector(account, FIXTURE_CONNECTORS.none.id, {});
    expect(first).toMatchObject({ Name: 'Webhook', Authenticated: true });
    expect(again.Id).toBe(first.Id);
    expect(sim.installCount(account, 'Webhook')).toBe(1);
  });

  test('dropped after commit: retryable CyclrNetworkError, then the retry returns the one that exists', async () => {
    const c = client();
    const account = await newAccount();
    await admin('faults', { install: { dropAfterCommitRate: 1 } });
    const err = await failureOf(
      c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, { Name: 'crm', AuthValue: AUTH_VALUE }),
    );
    expect(err.type).toBe('CyclrNetworkError');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).not.toContain(AUTH_VALUE);
    await admin('faults', {});
    const retried = await c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, {
      Name: 'crm',
      AuthValue: AUTH_VALUE,
    });
    expect(retried.Name).toBe('crm');
    const s = await stats();
    expect(s.installs.filter((i) => i.accountId === account)).toEqual([{ accountId: account, name: 'crm', count: 1 }]);
    expect(await c.findAccountConnectorByName(account, 'crm')).toMatchObject({ Id: retried.Id });
  });

  test('"name is in use" (a concurrent install won the race) returns the winner', async () => {
    const c = client();
    const account = await newAccount();
    // Both lookups find nothing before either install commits; the second install then hits "is in use".
    await admin('faults', { install: { latencyMs: 500 } });
    await admin('reset-stats', {});
    const [a, b] = await Promise.all([
      c.installConnector(account, FIXTURE_CONNECTORS.mailchimp.id, { Name: 'Mailchimp' }),
      c.installConnector(account, FIXTURE_CONNECTORS.mailchimp.id, { Name: 'Mailchimp' }),
    ]);
    expect(b.Id).toBe(a.Id);
    const s = await stats();
    expect(s.requests['POST /v1.0/connectors/:idOrName/install'].byStatus).toEqual({ '200': 1, '400': 1 });
    expect(sim.installCount(account, 'Mailchimp')).toBe(1);
  });

  test('one request per install in the normal case: the Name is looked up only when Cyclr says it is in use', async () => {
    const c = client();
    const account = await newAccount();
    await admin('reset-stats', {});
    await c.installConnector(account, FIXTURE_CONNECTORS.none.id, { Name: 'first' });
    let s = await stats();
    expect(s.requests['POST /v1.0/connectors/:idOrName/install']?.total).toBe(1);
    expect(s.requests['GET /v1.0/account/connectors']).toBeUndefined();
    await c.installConnector(account, FIXTURE_CONNECTORS.none.id, { Name: 'first' }); // a repeat: in use, adopted
    s = await stats();
    expect(s.requests['GET /v1.0/account/connectors']?.total).toBe(1);
    expect(sim.installCount(account, 'first')).toBe(1);
  });

  test('a Name in use by a different connector is refused with InstallNameTaken, never adopted', async () => {
    const c = client();
    const account = await newAccount();
    const mine = await c.installConnector(account, FIXTURE_CONNECTORS.none.id, { Name: 'crm' });
    const err = await failureOf(
      c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, { Name: 'crm', AuthValue: AUTH_VALUE }),
    );
    expect(err.type).toBe('InstallNameTaken');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      new RegExp(
        `installName: "crm" is already used in account ${account} by .*account connector ${mine.Id}.*choose another installName`,
      ),
    );
    expect(err.message).not.toContain(AUTH_VALUE);
    expect(sim.installCount(account, 'crm')).toBe(1);
  });

  test('finds account connectors by name across pages', async () => {
    const c = client({ pageSize: 2 });
    const account = await newAccount();
    for (const name of ['one', 'two', 'three', 'four', 'five']) {
      await c.installConnector(account, FIXTURE_CONNECTORS.none.id, { Name: name });
    }
    expect((await c.findAccountConnectorByName(account, 'five'))?.Name).toBe('five');
    expect((await c.findAccountConnectorByName(account, 'FOUR'))?.Name).toBe('four');
    expect(await c.findAccountConnectorByName(account, 'six')).toBeUndefined();
  });

  test('Cyclr rejections are non-retryable CyclrBadRequest carrying its Message', async () => {
    const c = client();
    const account = await newAccount();
    const err = await failureOf(c.installConnector(account, FIXTURE_CONNECTORS.draft.id, { Name: 'draft' }));
    expect(err.type).toBe('CyclrBadRequest');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('POST /v1.0/connectors/{id}/install');
    expect(err.message).toContain('Connector 1015 is a draft and cannot be installed.');
  });
});

describe('account connectors', () => {
  test('get, update (AuthValue after install), delete, and delete again', async () => {
    const c = client();
    const account = await newAccount();
    const ac = await c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, { Name: 'later-key' });
    expect(ac.Authenticated).toBe(false);
    const updated = await c.updateAccountConnector(account, ac.Id, { AuthValue: AUTH_VALUE });
    expect(updated.Authenticated).toBe(true);
    expect((await c.getAccountConnector(account, ac.Id)).Authenticated).toBe(true);
    expect(await c.deleteAccountConnector(account, ac.Id)).toEqual({ alreadyGone: false });
    expect(await c.deleteAccountConnector(account, ac.Id)).toEqual({ alreadyGone: true });
    const gone = await failureOf(c.getAccountConnector(account, ac.Id));
    expect(gone.type).toBe('CyclrNotFound');
  });

  test('lists every account connector of an account across pages, without AuthValue', async () => {
    const c = client({ pageSize: 10 });
    const account = await newAccount();
    const ids: number[] = [];
    for (let i = 0; i < 27; i++) {
      ids.push(
        (await c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, { Name: `k${i}`, AuthValue: AUTH_VALUE })).Id,
      );
    }
    const before = await stats();
    const list = await c.listAccountConnectors(account);
    expect(list.map((ac) => ac.Id).sort()).toEqual(ids.sort());
    expect(list.every((ac) => ac.Authenticated && !('AuthValue' in ac))).toBe(true);
    expect(JSON.stringify(list)).not.toContain(AUTH_VALUE);
    // Three pages of 10: three requests for the whole account.
    const after = await stats();
    const listed = (s: typeof before) => s.requests['GET /v1.0/account/connectors']?.total ?? 0;
    expect(listed(after) - listed(before)).toBe(3);
    expect(await c.listAccountConnectors(await newAccount())).toEqual([]);
  });

  test('deauthenticate drops the credentials (Authenticated false); an unknown one is CyclrNotFound', async () => {
    const c = client();
    const account = await newAccount();
    const ac = await c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, { Name: 'k', AuthValue: AUTH_VALUE });
    expect(ac.Authenticated).toBe(true);
    await c.deauthenticateAccountConnector(account, ac.Id);
    expect((await c.getAccountConnector(account, ac.Id)).Authenticated).toBe(false);
    const missing = await failureOf(c.deauthenticateAccountConnector(account, 999_999));
    expect(missing.type).toBe('CyclrNotFound');
    expect(missing.message).toContain('PUT /v1.0/account/connectors/{id}/deauthenticate');
  });

  test('an uninstall whose answer is lost is retried as one removal: the retry sees 404, already gone', async () => {
    const c = client();
    const account = await newAccount();
    const ac = await c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, { Name: 'drop', AuthValue: AUTH_VALUE });
    await admin('faults', { accountConnectors: { dropAfterCommitRate: 1 } });
    const dropped = await failureOf(c.deleteAccountConnector(account, ac.Id));
    expect(dropped.type).toBe('CyclrNetworkError');
    await admin('faults', {});
    expect(await c.deleteAccountConnector(account, ac.Id)).toEqual({ alreadyGone: true });
    const s = await stats();
    expect(s.uninstalls.filter((u) => u.accountId === account)).toEqual([
      { accountId: account, accountConnectorId: ac.Id, count: 1 },
    ]);
  });
});

describe('sign-in tokens and the connectorauth URL', () => {
  test('the token (with + / =) survives URL-encoding and the simulator accepts the link', async () => {
    const c = client();
    const account = await newAccount();
    const ac = await c.installConnector(account, FIXTURE_CONNECTORS.oauth.id, {});
    const { token, expiresAt } = await c.createSignInToken(account, 'user@example.com');
    expect(token).toMatch(/[+/=]/);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const targetOrigin = 'https://app.example.com/oauth/callback?state=a+b&x=1';
    const url = c.connectorAuthUrl({
      accountConnectorId: ac.Id,
      token,
      targetOrigin,
      callbackMessage: 'done & dusted',
    });
    expect(url.startsWith(`${sim.url}/connectorauth/updateaccountconnectoroauth?id=${ac.Id}&token=`)).toBe(true);
    const query = url.split('?')[1];
    expect(query).not.toMatch(/[+/ ]/); // every reserved character encoded
    expect(query).toContain('callbackMessage=done%20%26%20dusted');
    const parsed = new URL(url).searchParams;
    expect(parsed.get('token')).toBe(token);
    expect(parsed.get('targetOrigin')).toBe(targetOrigin);
    // Cyclr's side decodes it to the same single-use token: the consent page opens.
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('HubSpot');
  });

  test('the service domain may be a bare host (https assumed) or an origin', () => {
    const bare = client({ serviceDomain: 'acme-h.cyclr.com' });
    expect(bare.connectorAuthUrl({ accountConnectorId: 7, token: 'a+b/c=', targetOrigin: 'https://x.example' })).toBe(
      'https://acme-h.cyclr.com/connectorauth/updateaccountconnectoroauth?id=7&token=a%2Bb%2Fc%3D&targetOrigin=https%3A%2F%2Fx.example',
    );
    const origin = client({ serviceDomain: 'https://acme-h.cyclr.com/' });
    expect(origin.connectorAuthUrl({ accountConnectorId: 7, token: 't', targetOrigin: 'https://x.example' })).toMatch(
      /^https:\/\/acme-h\.cyclr\.com\/connectorauth\//,
    );
  });
});

describe('transient failures', () => {
  test('429 is retryable CyclrRateLimited with nextRetryDelay from Retry-After', async () => {
    await admin('faults', { connectors: { rateLimitRate: 1, retryAfterSeconds: 7 } });
    const err = await failureOf(client().getConnector(1001));
    expect(err.type).toBe('CyclrRateLimited');
    expect(err.nonRetryable).toBe(false);
    expect(err.nextRetryDelay).toBe(7_000);
  });

  test('Retry-After as an HTTP date or seconds', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('garbage', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  test('5xx is retryable CyclrUnavailable', async () => {
    await admin('faults', { connectors: { errorRate: 1 } });
    const err = await failureOf(client().findConnectors('HubSpot'));
    expect(err.type).toBe('CyclrUnavailable');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain('GET /v1.0/connectors');
  });

  test('a timeout and a refused connection are retryable CyclrNetworkError', async () => {
    await admin('faults', { connectors: { latencyMs: 1_000 } });
    const slow = await failureOf(client({ requestTimeoutMs: 150 }).getConnector(1001));
    expect(slow.type).toBe('CyclrNetworkError');
    expect(slow.nonRetryable).toBe(false);
    expect(slow.message).toContain('timed out after 150 ms');

    const closed = await startSimulator();
    const deadUrl = closed.url;
    await closed.close();
    const refused = await failureOf(client({ apiUrl: deadUrl }).getConnector(1001));
    expect(refused.type).toBe('CyclrNetworkError');
    expect(refused.nonRetryable).toBe(false);
    expect(refused.message).toContain('POST /oauth/token');
  });
});

describe('client-side concurrency limit', () => {
  test('never more than maxConcurrentRequests in flight, served first come first served', async () => {
    const events: (CyclrRequestEvent & { endedAt: number })[] = [];
    const c = client({
      maxConcurrentRequests: 3,
      onRequest: (e) => events.push({ ...e, endedAt: Date.now() }),
    });
    await c.getConnector(1001); // token fetched outside the measurement
    events.length = 0;
    await admin('faults', { connectors: { latencyMs: 200 } });
    const order: number[] = [];
    const started = Date.now();
    await Promise.all(Array.from({ length: 9 }, (_, i) => c.getConnector(1001).then(() => order.push(i))));
    const elapsed = Date.now() - started;

    // Overlap of the measured request intervals: the peak number in flight at any instant. Each interval is trimmed
    // by 2 ms at both ends to absorb millisecond rounding; a fourth request in flight would overlap by ~200 ms.
    const edges = events.flatMap((e) => [
      { t: e.endedAt - e.durationMs + 2, d: +1 },
      { t: e.endedAt - 2, d: -1 },
    ]);
    edges.sort((a, b) => a.t - b.t || a.d - b.d);
    let inFlight = 0;
    let peak = 0;
    for (const e of edges) peak = Math.max(peak, (inFlight += e.d));
    expect(events).toHaveLength(9);
    expect(peak).toBe(3);
    expect(elapsed).toBeGreaterThanOrEqual(3 * 200 - 30); // three waves of 200 ms
    // FIFO: each wave of three finishes before any call of the next wave.
    expect(order.slice(0, 3).sort()).toEqual([0, 1, 2]);
    expect(order.slice(3, 6).sort()).toEqual([3, 4, 5]);
    expect(c.load).toEqual({ inFlight: 0, waiting: 0 });
  });
});

describe('secrets never leak', () => {
  test('no error kind carries the client secret, access token, AuthValue or sign-in token', async () => {
    const accessToken = await fetchAccessToken();
    const c = client();
    const account = await newAccount();
    const ac = await c.installConnector(account, FIXTURE_CONNECTORS.oauth.id, { Name: 'oauth' });
    const { token: signInToken } = await c.createSignInToken(account, 'someone');
    const secrets = [CLIENT_SECRET, accessToken, AUTH_VALUE, signInToken];
    const failures: ApplicationFailure[] = [];
    const withAuth = {
      Name: 'x',
      AuthValue: AUTH_VALUE,
      Properties: [
        { Name: 'ClientId', Value: 'id' },
        { Name: 'ClientSecret', Value: AUTH_VALUE },
      ],
    };

    failures.push(await failureOf(c.installConnector(account, FIXTURE_CONNECTORS.draft.id, withAuth))); // 400
    failures.push(await failureOf(c.updateAccountConnector(account, 987_654, { AuthValue: AUTH_VALUE }))); // 404
    failures.push(
      await failureOf(
        client({ credentials: { clientId: CLIENT_ID, clientSecret: `${CLIENT_SECRET}x` } }).getConnector(1),
      ),
    );
    await admin('revoke-tokens', {});
    failures.push(await failureOf(client({ credentials: { accessToken } }).getConnector(1001))); // 401
    await admin('faults', { install: { rateLimitRate: 1 } });
    failures.push(await failureOf(c.installConnector(account, FIXTURE_CONNECTORS.clientCredentials.id, withAuth))); // 429
    await admin('faults', { install: { errorRate: 1 } });
    failures.push(await failureOf(c.installConnector(account, FIXTURE_CONNECTORS.clientCredentials.id, withAuth))); // 5xx
    await admin('faults', { install: { dropAfterCommitRate: 1 } });
    failures.push(await failureOf(c.installConnector(account, FIXTURE_CONNECTORS.clientCredentials.id, withAuth))); // dropped
    await admin('faults', {});
    failures.push(await failureOf(c.resolveConnector({ name: 'nothing' })));
    failures.push(await failureOf(c.getAccountConnector(account, ac.Id + 10_000)));

    // What the simulator cannot be made to send (403/409/422, a body echoing secrets) goes through the same classifier.
    const echo = JSON.stringify({
      Message: `Rejected AuthValue=${AUTH_VALUE} with Bearer ${accessToken} and token ${encodeURIComponent(signInToken)}`,
      ModelState: { client_secret: [`'${CLIENT_SECRET}' is wrong`] },
    });
    for (const status of [400, 401, 403, 409, 422, 429, 503]) {
      failures.push(
        httpFailure({
          endpoint: 'PUT /v1.0/account/connectors/{id}',
          status,
          body: echo,
          headers: {},
          secrets: [CLIENT_SECRET, accessToken, AUTH_VALUE, signInToken],
          credentialHint: 'client-credentials',
          afterRenewal: true,
        }),
      );
    }

    expect(new Set(failures.map((f) => f.type))).toEqual(
      new Set([
        'CyclrBadRequest',
        'CyclrNotFound',
        'CyclrUnauthorized',
        'CyclrForbidden',
        'CyclrConflict',
        'CyclrUnprocessable',
        'CyclrRateLimited',
        'CyclrUnavailable',
        'CyclrNetworkError',
        'ConnectorNotFound',
      ]),
    );
    for (const f of failures) {
      const serialised = JSON.stringify(f);
      for (const secret of secrets) {
        expect(f.message).not.toContain(secret);
        expect(serialised).not.toContain(secret);
        expect(f.stack ?? '').not.toContain(secret);
      }
    }
  });

  test('onRequest reports route patterns only', async () => {
    const endpoints = new Set<string>();
    const c = client({ onRequest: (e) => endpoints.add(e.endpoint) });
    const account = await newAccount();
    const ac = await c.installConnector(account, FIXTURE_CONNECTORS.apiKey.id, { Name: 'p', AuthValue: AUTH_VALUE });
    await c.getAccountConnector(account, ac.Id);
    await c.createSignInToken(account, 'u');
    expect([...endpoints].sort()).toEqual([
      'GET /v1.0/account/connectors/{id}',
      'POST /oauth/token',
      'POST /v1.0/accounts/{id}/signintoken',
      'POST /v1.0/connectors/{id}/install',
    ]);
  });

  test('scrub removes known secrets, their URL-encoded forms and secret-named fields', () => {
    expect(scrub('key=abc+/= and abc%2B%2F%3D and "AuthValue":"zzz" and Bearer qqq', ['abc+/='])).toBe(
      'key=[redacted] and [redacted] and "AuthValue":[redacted] and Bearer [redacted]',
    );
  });
});

describe('configuration', () => {
  test('bad options name the field and the fix', () => {
    const base = {
      apiUrl: 'https://api.cyclr.com',
      serviceDomain: 'acme-h.cyclr.com',
      credentials: { accessToken: 't' },
    };
    const message = (o: Partial<CyclrClientOptions>) => {
      try {
        createCyclrClient({ ...base, ...o } as CyclrClientOptions).close();
      } catch (err) {
        expect((err as ApplicationFailure).type).toBe('InvalidConfiguration');
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(message({ apiUrl: 'api.cyclr.com' })).toMatch(/CYCLR_API_URL.*https:\/\/api\.cyclr\.com/);
    expect(message({ serviceDomain: 'https://acme-h.cyclr.com/some/path' })).toContain('CYCLR_SERVICE_DOMAIN');
    expect(message({ credentials: { clientId: 'id', clientSecret: '' } })).toContain('CYCLR_CLIENT_SECRET');
    expect(message({ credentials: { accessToken: ' ' } })).toContain('CYCLR_ACCESS_TOKEN');
    expect(message({ pageSize: 500 })).toContain('pageSize must be an integer from 1 to 100');
    expect(message({ maxConcurrentRequests: 0 })).toContain('maxConcurrentRequests');
    expect(message({})).toBe('no error');
  });
});
