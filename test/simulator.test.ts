/**
 * The Cyclr simulator over plain HTTP, as a client (or a browser) sees it: the contract in docs/cyclr-api.md, including
 * Cyclr's awkward parts, plus the fault injection and stats the other tests and the benchmark rely on.
 */
import { CATALOG_SIZE, FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startSimulator, type Simulator } from '../dev/simulator/server.js';
import type { CyclrConnector } from '../src/activities/cyclr/types.js';

let sim: Simulator;
let token: string;
let accountSeq = 0;

beforeAll(async () => {
  sim = await startSimulator();
  token = await grant(sim.url);
});

afterAll(async () => {
  await sim?.close();
});

afterEach(() => {
  sim.setFaults({});
});

function form(fields: Record<string, string>) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}

async function grant(url: string, clientId = 'sim-client', clientSecret = 'sim-secret'): Promise<string> {
  const res = await fetch(
    `${url}/oauth/token`,
    form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

interface CallOptions {
  method?: string;
  body?: unknown;
  /** Raw body text; overrides `body`. */
  raw?: string;
  account?: string;
  bearer?: string | null;
  url?: string;
}

async function call(path: string, o: CallOptions = {}) {
  const headers: Record<string, string> = { accept: 'application/json' };
  const bearer = o.bearer === undefined ? token : o.bearer;
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  if (o.account) headers['x-cyclr-account'] = o.account;
  const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  if (o.raw !== undefined || o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${o.url ?? sim.url}${path}`, {
    method: o.method ?? 'GET',
    headers,
    body,
    redirect: 'manual',
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // HTML pages
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, headers: res.headers, text, json: json as any };
}

async function newAccount(prefix = 'acct'): Promise<string> {
  accountSeq += 1;
  const id = `${prefix}-${accountSeq}-${Date.now()}`;
  const res = await call('/v1.0/accounts', { method: 'POST', body: { Id: id, Name: `Account ${id}` } });
  expect(res.status).toBe(200);
  return id;
}

async function install(account: string, connector: number | string, body: unknown = {}) {
  return call(`/v1.0/connectors/${encodeURIComponent(String(connector))}/install`, {
    method: 'POST',
    account,
    body,
  });
}

async function signInToken(account: string, url = sim.url, bearer = token): Promise<string> {
  const res = await call(`/v1.0/accounts/${account}/signintoken`, {
    method: 'POST',
    body: { Username: 'user@example.com' },
    url,
    bearer,
  });
  expect(res.status).toBe(200);
  return res.json.Token;
}

function authUrl(acId: number, signIn: string, targetOrigin: string, callbackMessage?: string, base = sim.url) {
  const q = new URLSearchParams({ id: String(acId), token: signIn, targetOrigin });
  if (callbackMessage !== undefined) q.set('callbackMessage', callbackMessage);
  return `${base}/connectorauth/updateaccountconnectoroauth?${q}`;
}

async function openConsent(url: string) {
  const res = await fetch(url, { redirect: 'manual' });
  const html = await res.text();
  return { status: res.status, html, nonce: /name="nonce" value="([^"]+)"/.exec(html)?.[1] };
}

async function answer(decision: 'approve' | 'deny', nonce: string) {
  const res = await fetch(`${sim.url}/connectorauth/${decision}`, { ...form({ nonce }), redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

describe('partner token', () => {
  test('grants a bearer token with the documented fields, and several tokens stay valid at once', async () => {
    const res = await fetch(
      `${sim.url}/oauth/token`,
      form({ grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 1209599, clientId: 'sim-client' });
    expect(typeof body.access_token).toBe('string');
    expect(new Date(body['.expires'] as string).getTime() - new Date(body['.issued'] as string).getTime()).toBe(
      1209599_000,
    );
    const second = await grant(sim.url);
    expect((await call('/v1.0/connectors', { bearer: body.access_token as string })).status).toBe(200);
    expect((await call('/v1.0/connectors', { bearer: second })).status).toBe(200);
  });

  test('refuses bad credentials, other grants, credentials in the query string and JSON bodies', async () => {
    const bad = await fetch(
      `${sim.url}/oauth/token`,
      form({ grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'wrong' }),
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_client' });

    const password = await fetch(
      `${sim.url}/oauth/token`,
      form({ grant_type: 'password', client_id: 'sim-client', client_secret: 'sim-secret' }),
    );
    expect(password.status).toBe(400);
    expect(await password.json()).toEqual({ error: 'unsupported_grant_type' });

    const inQuery = await fetch(
      `${sim.url}/oauth/token?client_id=sim-client&client_secret=sim-secret`,
      form({ grant_type: 'client_credentials' }),
    );
    expect(inQuery.status).toBe(400);
    const inQueryBody = (await inQuery.json()) as { error: string; error_description: string };
    expect(inQueryBody.error).toBe('invalid_request');
    expect(inQueryBody.error_description).not.toContain('sim-secret');

    const json = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' }),
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');
  });

  test('an expired token gets 401, and revoking all tokens forces a new grant', async () => {
    const short = await startSimulator({ tokenLifetimeSeconds: 1 });
    try {
      const t = await grant(short.url);
      expect((await call('/v1.0/connectors', { url: short.url, bearer: t })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      const expired = await call('/v1.0/connectors', { url: short.url, bearer: t });
      expect(expired.status).toBe(401);
      expect(expired.json).toEqual({ Message: 'Authorization has been denied for this request.' });
    } finally {
      await short.close();
    }

    const revoked = await grant(sim.url);
    const res = await fetch(`${sim.url}/_admin/revoke-tokens`, { method: 'POST' });
    expect(((await res.json()) as { revoked: number }).revoked).toBeGreaterThanOrEqual(1);
    expect((await call('/v1.0/connectors', { bearer: revoked })).status).toBe(401);
    token = await grant(sim.url);
    expect((await call('/v1.0/connectors')).status).toBe(200);
  });
});

describe('bearer and X-Cyclr-Account', () => {
  test('API calls without a valid bearer token are denied', async () => {
    for (const bearer of [null, 'not-a-token']) {
      const res = await call('/v1.0/connectors', { bearer });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ Message: 'Authorization has been denied for this request.' });
    }
    expect((await call('/v1.0/accounts', { method: 'POST', bearer: null, body: { Name: 'x' } })).status).toBe(401);
  });

  test('account-level calls need X-Cyclr-Account naming an existing account; the catalog does not', async () => {
    const missing = await call('/v1.0/account/connectors');
    expect(missing.status).toBe(400);
    expect(missing.json.Message).toContain('X-Cyclr-Account');
    const unknown = await call('/v1.0/account/connectors', { account: 'no-such-account' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ Message: 'Account not found.' });
    const noHeaderInstall = await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.apiKey.id}/install`, {
      method: 'POST',
      body: {},
    });
    expect(noHeaderInstall.status).toBe(400);

    const account = await newAccount();
    expect((await call('/v1.0/connectors')).status).toBe(200);
    expect((await call('/v1.0/connectors', { account })).status).toBe(200);
  });

  test('an account-restricted token works only for its own account', async () => {
    const mine = await newAccount();
    const other = await newAccount();
    const res = await fetch(
      `${sim.url}/oauth/token`,
      form({
        grant_type: 'client_credentials',
        client_id: 'sim-client',
        client_secret: 'sim-secret',
        scope: `account:${mine}`,
      }),
    );
    const restricted = ((await res.json()) as { access_token: string }).access_token;
    expect((await call('/v1.0/account/connectors', { account: mine, bearer: restricted })).status).toBe(200);
    expect((await call('/v1.0/account/connectors', { account: other, bearer: restricted })).status).toBe(401);
    expect((await call('/v1.0/accounts', { bearer: restricted })).status).toBe(401);
  });
});

describe('connector catalog', () => {
  async function allPages(pageSize?: number): Promise<{ pages: CyclrConnector[][]; all: CyclrConnector[] }> {
    const pages: CyclrConnector[][] = [];
    for (let page = 1; ; page++) {
      const q = pageSize ? `page=${page}&pageSize=${pageSize}` : `page=${page}`;
      const res = await call(`/v1.0/connectors?${q}&orderBy=Name&sortOrderAsc=true`);
      expect(res.status).toBe(200);
      expect(res.headers.get('total-pages')).toBeNull();
      pages.push(res.json);
      if (res.json.length < (pageSize ?? 25)) break;
    }
    return { pages, all: pages.flat() };
  }

  test('pages through the whole catalog, ending on a short page, with every auth type present', async () => {
    const byDefault = await allPages();
    expect(byDefault.pages.map((p) => p.length)).toEqual([25, 25, 25, 25, 25, 2]);
    const { pages, all } = await allPages(50);
    expect(pages.map((p) => p.length)).toEqual([50, 50, 27]);
    expect(all.length).toBe(CATALOG_SIZE);
    expect(CATALOG_SIZE).toBeGreaterThanOrEqual(120);
    expect(new Set(all.map((c) => c.Id)).size).toBe(all.length);
    const names = all.map((c) => c.Name);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'en')));

    const methods = all.flatMap((c) => c.Authentication);
    expect(new Set(methods.map((m) => m.AuthType))).toEqual(
      new Set(['ApiKey', 'Basic', 'OAuth1', 'OAuth2', 'None', 'AuthFields']),
    );
    expect(new Set(methods.filter((m) => m.AuthType === 'OAuth2').map((m) => m.OAuth2Type))).toEqual(
      new Set(['AuthorisationCode', 'ClientCredentials', 'PasswordCredentials']),
    );
    expect(methods.filter((m) => m.AuthType !== 'OAuth2').every((m) => m.OAuth2Type === 'Unknown')).toBe(true);
    expect(all.some((c) => c.Parameters.some((p) => p.IsAccountConnectorProperty && !p.IsOptional))).toBe(true);
  });

  test('caps pageSize at 100, reverses with sortOrderAsc=false, filters by query and category', async () => {
    expect((await call('/v1.0/connectors?pageSize=500')).json).toHaveLength(100);
    const desc = (await call('/v1.0/connectors?pageSize=3&sortOrderAsc=false')).json as CyclrConnector[];
    const asc = (await call('/v1.0/connectors?pageSize=100&page=2')).json as CyclrConnector[];
    expect(desc[0].Name).toBe(asc[asc.length - 1].Name);
    const found = (await call('/v1.0/connectors?query=hub')).json as CyclrConnector[];
    expect(found.map((c) => c.Name)).toContain('HubSpot');
    expect(found.every((c) => c.Name.toLowerCase().includes('hub'))).toBe(true);
    const crms = (await call('/v1.0/connectors?category=CRMs&pageSize=100')).json as CyclrConnector[];
    expect(crms.length).toBeGreaterThan(5);
    expect(crms.every((c) => c.Categories?.includes('CRMs'))).toBe(true);
    const badPage = await call('/v1.0/connectors?page=0');
    expect(badPage.status).toBe(400);
    expect(badPage.json.Message).toContain('page');
  });

  test('sends Total-Pages and Total-Records only when switched on', async () => {
    expect((await call('/v1.0/connectors?pageSize=50')).headers.get('total-pages')).toBeNull();
    await fetch(`${sim.url}/_admin/settings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ paginationHeaders: true }),
    });
    try {
      const res = await call('/v1.0/connectors?pageSize=50');
      expect(res.headers.get('total-pages')).toBe('3');
      expect(res.headers.get('total-records')).toBe(String(CATALOG_SIZE));
    } finally {
      sim.setPaginationHeaders(false);
    }
  });

  test('looks connectors up by id (object), by name and by name and version (arrays)', async () => {
    const byId = await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.oauth.id}`);
    expect(byId.json).toMatchObject({ Id: FIXTURE_CONNECTORS.oauth.id, Name: 'HubSpot', AuthType: 'OAuth2' });
    expect((await call('/v1.0/connectors/999999')).status).toBe(404);

    const both = (await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.ambiguousName}`)).json as CyclrConnector[];
    expect(both.map((c) => c.Version).sort()).toEqual(['v3', 'v4']);
    const v4 = (await call('/v1.0/connectors/Salesforce/v4')).json as CyclrConnector[];
    expect(v4).toHaveLength(1);
    expect(v4[0].Id).toBe(FIXTURE_CONNECTORS.salesforceV4.id);
    expect((await call('/v1.0/connectors/No%20Such%20Thing')).json).toEqual([]);

    const xero = (await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.twoMethods.id}`)).json as CyclrConnector;
    expect(xero.Authentication.map((a) => [a.Id, a.AuthType, a.OAuth2Type])).toEqual([
      [FIXTURE_CONNECTORS.twoMethods.oauth2AuthenticationId, 'OAuth2', 'AuthorisationCode'],
      [FIXTURE_CONNECTORS.twoMethods.apiKeyAuthenticationId, 'ApiKey', 'Unknown'],
    ]);
    expect(xero.Authentication[0].Id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('install and account connectors', () => {
  test('installs with the connector Name by default, authenticates an ApiKey install and refuses a second one', async () => {
    const account = await newAccount();
    const first = await install(account, FIXTURE_CONNECTORS.apiKey.id, { AuthValue: 'key-123' });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({
      Name: FIXTURE_CONNECTORS.apiKey.name,
      Authenticated: true,
      AuthValue: 'key-123',
      Connector: { Id: FIXTURE_CONNECTORS.apiKey.id, Name: FIXTURE_CONNECTORS.apiKey.name },
    });
    expect(typeof first.json.Id).toBe('number');

    const again = await install(account, FIXTURE_CONNECTORS.apiKey.id, {});
    expect(again.status).toBe(400);
    expect(again.json).toEqual({ Message: `Account connector name ${FIXTURE_CONNECTORS.apiKey.name} is in use.` });
    expect(again.json.Message.startsWith('Account connector name ')).toBe(true);

    const renamed = await install(account, FIXTURE_CONNECTORS.apiKey.id, { Name: 'Acme CRM (EU)' });
    expect(renamed.status).toBe(200);
    expect(renamed.json.Authenticated).toBe(false);
    expect(sim.installCount(account, FIXTURE_CONNECTORS.apiKey.name)).toBe(1);
  });

  test('an absent or null body is a 500, as on Cyclr', async () => {
    const account = await newAccount();
    const noBody = await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.apiKey.id}/install`, { method: 'POST', account });
    expect(noBody.status).toBe(500);
    expect(noBody.json).toEqual({ Message: 'An error has occurred.' });
    const nullBody = await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.apiKey.id}/install`, {
      method: 'POST',
      account,
      raw: 'null',
    });
    expect(nullBody.status).toBe(500);
    expect((await call('/v1.0/account/connectors', { account })).json).toEqual([]);
  });

  test('validates properties, authentication ids, drafts and ambiguous names with Cyclr messages', async () => {
    const account = await newAccount();
    const unknownProp = await install(account, FIXTURE_CONNECTORS.apiKey.id, {
      Properties: [{ Name: 'Colour', Value: 'blue', Id: 0 }],
    });
    expect(unknownProp.status).toBe(400);
    expect(unknownProp.json).toEqual({ Message: "There is not a connector property that matches name 'Colour'." });

    const methodParam = await install(account, FIXTURE_CONNECTORS.requiredProperty.id, {
      Properties: [{ Name: 'DealStage', Value: 'won', Id: 0 }],
    });
    expect(methodParam.json).toEqual({
      Message: "Connector property name 'DealStage' is not an account connector property.",
    });

    const badAuth = await install(account, FIXTURE_CONNECTORS.twoMethods.id, {
      AuthenticationId: '00000000-0000-4000-a000-000000000000',
    });
    expect(badAuth.status).toBe(400);
    expect(badAuth.json.Message).toContain('AuthenticationId');

    const draft = await install(account, FIXTURE_CONNECTORS.draft.id, {});
    expect(draft.json).toEqual({
      Message: `Connector ${FIXTURE_CONNECTORS.draft.id} is a draft and cannot be installed.`,
    });

    const ambiguous = await install(account, 'Salesforce', {});
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.json.Message).toContain('Salesforce');
    const byName = await install(account, 'Mailchimp', { AuthValue: 'k' });
    expect(byName.status).toBe(200);
    expect(byName.json.Connector.Id).toBe(FIXTURE_CONNECTORS.mailchimp.id);

    expect((await install(account, 424242, {})).status).toBe(404);
    expect((await call('/v1.0/account/connectors', { account })).json).toHaveLength(1);
  });

  test('Authenticated at install follows the auth type, AuthValue and required properties', async () => {
    const account = await newAccount();
    const authOf = async (id: number, body: object) => {
      const res = await install(account, id, body);
      expect(res.status).toBe(200);
      return res.json.Authenticated as boolean;
    };
    expect(await authOf(FIXTURE_CONNECTORS.none.id, {})).toBe(true);
    expect(await authOf(FIXTURE_CONNECTORS.basic.id, { AuthValue: Buffer.from('u:p').toString('base64') })).toBe(true);
    expect(await authOf(FIXTURE_CONNECTORS.oauth.id, {})).toBe(false);
    expect(await authOf(FIXTURE_CONNECTORS.oauth1.id, { Name: 'tw', AuthValue: '{"AccessToken":"a"}' })).toBe(true);
    // Two methods and no AuthenticationId: the first (OAuth2), so an API key alone does not authenticate it...
    const xeroDefault = await install(account, FIXTURE_CONNECTORS.twoMethods.id, {});
    expect(xeroDefault.json.AuthenticationId).toBe(FIXTURE_CONNECTORS.twoMethods.oauth2AuthenticationId);
    expect(xeroDefault.json.Authenticated).toBe(false);
    // ...while choosing the ApiKey method does.
    expect(
      await authOf(FIXTURE_CONNECTORS.twoMethods.id, {
        Name: 'Xero (key)',
        AuthenticationId: FIXTURE_CONNECTORS.twoMethods.apiKeyAuthenticationId,
        AuthValue: 'k',
      }),
    ).toBe(true);
    expect(await authOf(FIXTURE_CONNECTORS.requiredProperty.id, { AuthValue: 'k' })).toBe(false);
    expect(
      await authOf(FIXTURE_CONNECTORS.requiredProperty.id, {
        Name: 'Pipedrive 2',
        AuthValue: 'k',
        Properties: [{ Name: 'CompanyDomain', Value: 'acme', Id: 0 }],
      }),
    ).toBe(true);
  });

  test('lists, reads, updates, de-authenticates and deletes account connectors, scoped to their account', async () => {
    const account = await newAccount();
    const other = await newAccount();
    const ac = (await install(account, FIXTURE_CONNECTORS.mailchimp.id, {})).json;
    expect(ac.Authenticated).toBe(false);
    for (let i = 0; i < 3; i++) await install(account, FIXTURE_CONNECTORS.none.id, { Name: `Hook ${i}` });

    expect((await call('/v1.0/account/connectors', { account })).json).toHaveLength(4);
    const page2 = (await call('/v1.0/account/connectors?page=2&pageSize=3', { account })).json;
    expect(page2).toHaveLength(1);

    expect((await call(`/v1.0/account/connectors/${ac.Id}`, { account: other })).status).toBe(404);
    expect((await call('/v1.0/account/connectors/987654', { account })).status).toBe(404);

    const updated = await call(`/v1.0/account/connectors/${ac.Id}`, {
      method: 'PUT',
      account,
      body: { AuthValue: 'key' },
    });
    expect(updated.json).toMatchObject({ Id: ac.Id, Authenticated: true });
    const described = await call(`/v1.0/account/connectors/${ac.Id}`, {
      method: 'PUT',
      account,
      body: { Description: 'note' },
    });
    expect(described.json).toMatchObject({ Description: 'note', Authenticated: true });

    const deauth = await call(`/v1.0/account/connectors/${ac.Id}/deauthenticate`, { method: 'PUT', account, body: {} });
    expect(deauth.json).toEqual({ Message: "Connector 'Mailchimp' successfully de-authenticated." });
    expect((await call(`/v1.0/account/connectors/${ac.Id}`, { account })).json.Authenticated).toBe(false);

    expect(
      (await call('/v1.0/account/connectors/987654/deauthenticate', { method: 'PUT', account, body: {} })).status,
    ).toBe(404);

    expect((await call(`/v1.0/account/connectors/${ac.Id}`, { method: 'DELETE', account: other })).status).toBe(404);
    const deleted = await call(`/v1.0/account/connectors/${ac.Id}`, { method: 'DELETE', account });
    expect(deleted.status).toBe(200);
    expect(deleted.text).toBe(''); // Web API's Ok(): no body
    expect((await call(`/v1.0/account/connectors/${ac.Id}`, { method: 'DELETE', account })).status).toBe(404);
    expect(
      (await call(`/v1.0/account/connectors/${ac.Id}/deauthenticate`, { method: 'PUT', account, body: {} })).status,
    ).toBe(404);
    expect((await call('/v1.0/account/connectors', { account })).json).toHaveLength(3);

    // What happened, as a test asks it: one uninstall and one de-authentication of that connector.
    const stats = sim.stats();
    expect(stats.uninstalls.filter((u) => u.accountId === account)).toEqual([
      { accountId: account, accountConnectorId: ac.Id, count: 1 },
    ]);
    expect(stats.deauthentications.filter((u) => u.accountId === account)).toEqual([
      { accountId: account, accountConnectorId: ac.Id, count: 1 },
    ]);
  });

  test('a lapse (the customer revoked access at the third party) leaves the connector installed but not authenticated', async () => {
    const account = await newAccount();
    const ac = (await install(account, FIXTURE_CONNECTORS.apiKey.id, { AuthValue: 'key' })).json;
    expect(ac.Authenticated).toBe(true);
    expect((await fetch(`${sim.url}/_admin/account-connectors/${ac.Id}/lapse`, { method: 'POST' })).status).toBe(200);
    const after = (await call(`/v1.0/account/connectors/${ac.Id}`, { account })).json;
    expect(after).toMatchObject({ Id: ac.Id, Authenticated: false });
    expect((await fetch(`${sim.url}/_admin/account-connectors/987654/lapse`, { method: 'POST' })).status).toBe(404);
  });
});

describe('accounts', () => {
  test('creates accounts, refuses a missing Name and a duplicate Id, and 404s unknown ids', async () => {
    const noName = await call('/v1.0/accounts', { method: 'POST', body: { Id: 'x' } });
    expect(noName.status).toBe(400);
    expect(noName.json.Message).toContain('Name is required');

    const id = `tenant-${Date.now()}`;
    const created = await call('/v1.0/accounts', {
      method: 'POST',
      body: { Id: id, Name: 'Tenant', Timezone: 'Europe/London', StepDataErroredRetentionHours: 9999 },
    });
    expect(created.json).toMatchObject({
      Id: id,
      Name: 'Tenant',
      Timezone: 'Europe/London',
      StepDataErroredRetentionHours: 744,
    });
    const dup = await call('/v1.0/accounts', { method: 'POST', body: { Id: id, Name: 'Again' } });
    expect(dup.status).toBe(400);
    expect(dup.json).toEqual({ Message: 'ID already in use' });

    const generated = await call('/v1.0/accounts', { method: 'POST', body: { Name: 'No id' } });
    expect(generated.json.Id).toMatch(/^[0-9a-f-]{36}$/);

    expect((await call(`/v1.0/accounts/${id}`, { method: 'PUT', body: { Description: 'd' } })).json.Description).toBe(
      'd',
    );
    expect((await call(`/v1.0/accounts/${id}`)).json.Name).toBe('Tenant');
    expect((await call('/v1.0/accounts?pageSize=100')).json.map((a: { Id: string }) => a.Id)).toContain(id);
    expect((await call('/v1.0/accounts/nope')).status).toBe(404);
    expect((await call(`/v1.0/accounts/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await call(`/v1.0/accounts/${id}`)).status).toBe(404);
    const badTz = await call('/v1.0/accounts', { method: 'POST', body: { Name: 'x', Timezone: 'Mars/Olympus' } });
    expect(badTz.status).toBe(400);
    expect(badTz.json.Message).toContain('Timezone');
  });

  test('accounts can be seeded through options and the admin API', async () => {
    const seeded = await startSimulator({ accounts: ['seed-a'] });
    try {
      const t = await grant(seeded.url);
      expect((await call('/v1.0/accounts/seed-a', { url: seeded.url, bearer: t })).status).toBe(200);
      const res = await fetch(`${seeded.url}/_admin/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accounts: ['seed-b', { Id: 'seed-c', Name: 'Seed C' }] }),
      });
      expect(res.status).toBe(200);
      expect((await call('/v1.0/accounts/seed-c', { url: seeded.url, bearer: t })).json.Name).toBe('Seed C');
    } finally {
      await seeded.close();
    }
  });
});

describe('sign-in tokens and the connectorauth page', () => {
  async function oauthInstall() {
    const account = await newAccount();
    const ac = (await install(account, FIXTURE_CONNECTORS.oauth.id, {})).json;
    return { account, acId: ac.Id as number };
  }

  test('sign-in tokens carry URL-unsafe characters, create the user, and 404 for unknown accounts', async () => {
    const account = await newAccount();
    const res = await call(`/v1.0/accounts/${account}/signintoken`, {
      method: 'POST',
      body: { Username: 'pat@example.com' },
    });
    expect(res.status).toBe(200);
    expect(res.json.Token).toMatch(/\+/);
    expect(res.json.Token).toMatch(/\//);
    expect(res.json.Token).toMatch(/=/);
    const expiresIn = new Date(res.json.ExpiresAtUtc).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(4 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(5 * 60_000);
    expect((await call(`/v1.0/accounts/${account}/users`)).json).toEqual(['pat@example.com']);
    expect((await call('/v1.0/accounts/nope/signintoken', { method: 'POST', body: { Username: 'x' } })).status).toBe(
      404,
    );
    const wrongCase = await call(`/v1.0/accounts/${account}/signintoken`, { method: 'POST', body: { UserName: 'x' } });
    expect(wrongCase.status).toBe(400);
    expect(wrongCase.json.Message).toContain('Username');
  });

  test('a sign-in token opens the consent page once; reuse and an un-encoded token get 403', async () => {
    const { account, acId } = await oauthInstall();
    const signIn = await signInToken(account);
    const url = authUrl(acId, signIn, 'https://app.example.com/done');
    const first = await openConsent(url);
    expect(first.status).toBe(200);
    expect(first.html).toContain('id="approve"');
    expect(first.html).toContain('id="deny"');
    expect(first.html).toContain('HubSpot');
    expect(first.html).not.toContain(signIn);
    const reused = await openConsent(url);
    expect(reused.status).toBe(403);
    expect(reused.html).toContain('403 – Forbidden: Access is denied.');

    // A client that forgets to URL-encode: '+' arrives as a space and the token is unknown.
    const raw = await signInToken(account);
    const unencoded = `${sim.url}/connectorauth/updateaccountconnectoroauth?id=${acId}&token=${raw}&targetOrigin=https://app.example.com/`;
    expect((await openConsent(unencoded)).status).toBe(403);

    // A token for another account cannot open this account connector.
    const otherAccount = await newAccount();
    const foreign = await signInToken(otherAccount);
    expect((await openConsent(authUrl(acId, foreign, 'https://app.example.com/'))).status).toBe(403);
  });

  test('an expired sign-in token gets 403', async () => {
    const short = await startSimulator({ signInTokenLifetimeMs: 150, accounts: ['short-acct'] });
    try {
      const t = await grant(short.url);
      const ac = (
        await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.oauth.id}/install`, {
          method: 'POST',
          url: short.url,
          bearer: t,
          account: 'short-acct',
          body: {},
        })
      ).json;
      const signIn = await signInToken('short-acct', short.url, t);
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(authUrl(ac.Id, signIn, 'https://app.example.com/', undefined, short.url));
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('Access is denied.');
    } finally {
      await short.close();
    }
  });

  test('Approve marks the account connector authenticated and redirects to targetOrigin', async () => {
    const { account, acId } = await oauthInstall();
    const page = await openConsent(authUrl(acId, await signInToken(account), 'https://app.example.com/back?x=1'));
    const approved = await answer('approve', page.nonce!);
    expect(approved.status).toBe(302);
    expect(approved.location).toBe('https://app.example.com/back?x=1');
    expect((await call(`/v1.0/account/connectors/${acId}`, { account })).json.Authenticated).toBe(true);
    // The form is single-use too.
    expect((await answer('approve', page.nonce!)).status).toBe(403);
  });

  test('Deny shows the Connector Callback Error page, does not redirect and leaves it unauthenticated', async () => {
    const { account, acId } = await oauthInstall();
    const page = await openConsent(authUrl(acId, await signInToken(account), 'https://app.example.com/back'));
    const denied = await answer('deny', page.nonce!);
    expect(denied.status).toBe(200);
    expect(denied.location).toBeNull();
    expect(denied.html).toContain('Connector Callback Error');
    expect(denied.html).toContain('access_denied');
    expect((await call(`/v1.0/account/connectors/${acId}`, { account })).json.Authenticated).toBe(false);
  });

  test('with callbackMessage, Approve returns a page posting the message to the opener (else the parent) for targetOrigin', async () => {
    const { account, acId } = await oauthInstall();
    const message = 'done</script><b>';
    const page = await openConsent(authUrl(acId, await signInToken(account), 'https://app.example.com', message));
    const approved = await answer('approve', page.nonce!);
    expect(approved.status).toBe(200);
    expect(approved.location).toBeNull();
    expect(approved.html).toContain('(window.opener || window.parent).postMessage(message, targetOrigin)');
    expect(approved.html).toContain('"https://app.example.com"');
    expect(approved.html).toContain('"done\\u003c/script\\u003e\\u003cb\\u003e"');
    expect((await call(`/v1.0/account/connectors/${acId}`, { account })).json.Authenticated).toBe(true);
  });

  test('a ClientCredentials connector skips the consent screen once its properties are set', async () => {
    const account = await newAccount();
    const bare = (await install(account, FIXTURE_CONNECTORS.clientCredentials.id, {})).json;
    const refused = await openConsent(authUrl(bare.Id, await signInToken(account), 'https://app.example.com/'));
    expect(refused.html).toContain('Connector Callback Error');

    const ready = (
      await install(account, FIXTURE_CONNECTORS.clientCredentials.id, {
        Name: 'Sugar 2',
        Properties: [
          { Name: 'ClientId', Value: 'id', Id: 0 },
          { Name: 'ClientSecret', Value: 'secret', Id: 0 },
        ],
      })
    ).json;
    expect(ready.Authenticated).toBe(false);
    const res = await fetch(authUrl(ready.Id, await signInToken(account), 'https://app.example.com/cc'), {
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://app.example.com/cc');
    expect((await call(`/v1.0/account/connectors/${ready.Id}`, { account })).json.Authenticated).toBe(true);
  });

  test('admin can mark an account connector authenticated without any callback', async () => {
    const { account, acId } = await oauthInstall();
    const res = await fetch(`${sim.url}/_admin/account-connectors/${acId}/authenticate`, { method: 'POST' });
    expect(((await res.json()) as { Authenticated: boolean; AccountId: string }).AccountId).toBe(account);
    expect((await call(`/v1.0/account/connectors/${acId}`, { account })).json.Authenticated).toBe(true);
    expect((await fetch(`${sim.url}/_admin/account-connectors/999999`)).status).toBe(404);
  });
});

describe('faults and stats', () => {
  async function postFaults(body: unknown) {
    return fetch(`${sim.url}/_admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  test('latency delays only the faulted group', async () => {
    expect((await postFaults({ connectors: { latencyMs: 300 } })).status).toBe(200);
    const t0 = Date.now();
    await call('/v1.0/connectors?pageSize=1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const t1 = Date.now();
    await call('/v1.0/accounts?pageSize=1');
    expect(Date.now() - t1).toBeLessThan(250);
    expect(sim.stats().faultsInjected.latency).toBeGreaterThanOrEqual(1);
  });

  test('errorRate answers 5xx and rateLimitRate answers 429 with Retry-After, without committing', async () => {
    const account = await newAccount();
    await postFaults({ install: { errorRate: 1 } });
    const failed = await install(account, FIXTURE_CONNECTORS.none.id, {});
    expect([500, 502, 503]).toContain(failed.status);
    await postFaults({ '*': { rateLimitRate: 1, retryAfterSeconds: 7 } });
    const limited = await install(account, FIXTURE_CONNECTORS.none.id, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await postFaults({});
    expect(sim.installCount(account, FIXTURE_CONNECTORS.none.name)).toBe(0);
    expect((await install(account, FIXTURE_CONNECTORS.none.id, {})).status).toBe(200);
    const stats = sim.stats();
    expect(stats.faultsInjected['5xx']).toBeGreaterThanOrEqual(1);
    expect(stats.faultsInjected['429']).toBeGreaterThanOrEqual(1);
  });

  test('drop-after-commit installs, then closes the socket: the client sees an error, stats count one install', async () => {
    const account = await newAccount();
    await postFaults({ install: { dropAfterCommitRate: 1 } });
    await expect(install(account, FIXTURE_CONNECTORS.apiKey.id, { AuthValue: 'k' })).rejects.toThrow();
    await postFaults({});
    const stats = (await (await fetch(`${sim.url}/_admin/stats`)).json()) as {
      installs: { accountId: string; name: string; count: number }[];
      faultsInjected: Record<string, number>;
      requests: Record<string, { byStatus: Record<string, number> }>;
    };
    expect(stats.installs.filter((i) => i.accountId === account)).toEqual([
      { accountId: account, name: FIXTURE_CONNECTORS.apiKey.name, count: 1 },
    ]);
    expect(stats.faultsInjected.drop).toBeGreaterThanOrEqual(1);
    expect(stats.requests['POST /v1.0/connectors/:idOrName/install'].byStatus.dropped).toBeGreaterThanOrEqual(1);
    // The change happened: a retry meets "in use" and the listing shows it.
    expect((await install(account, FIXTURE_CONNECTORS.apiKey.id, {})).json.Message).toContain('is in use.');
    expect((await call('/v1.0/account/connectors', { account })).json).toHaveLength(1);
  });

  test('a seed makes the fault sequence reproducible', async () => {
    const run = async () => {
      await postFaults({ seed: 42, connectors: { errorRate: 0.5 } });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++)
        statuses.push((await call(`/v1.0/connectors/${FIXTURE_CONNECTORS.apiKey.id}`)).status);
      return statuses;
    };
    const a = await run();
    expect(new Set(a).size).toBeGreaterThan(1);
    expect(await run()).toEqual(a);
  });

  test('a bad fault config is refused with the field named', async () => {
    const res = await postFaults({ instal: { errorRate: 1 } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { Message: string }).Message).toContain('instal');
    const rate = await postFaults({ install: { errorRate: 2 } });
    expect(((await rate.json()) as { Message: string }).Message).toContain('install.errorRate');
  });

  test('stats count requests per route and status, and the peak requests per second', async () => {
    await fetch(`${sim.url}/_admin/reset-stats`, { method: 'POST' });
    await Promise.all(Array.from({ length: 30 }, () => call(`/v1.0/connectors/${FIXTURE_CONNECTORS.oauth.id}`)));
    await call('/v1.0/connectors/999999');
    const stats = (await (await fetch(`${sim.url}/_admin/stats`)).json()) as {
      requests: Record<string, { total: number; byStatus: Record<string, number> }>;
      maxRequestsPerSecond: number;
    };
    expect(stats.requests['GET /v1.0/connectors/:idOrName']).toEqual({ total: 31, byStatus: { '200': 30, '404': 1 } });
    expect(stats.maxRequestsPerSecond).toBeGreaterThanOrEqual(30);
    expect(Object.keys(stats.requests).some((k) => k.includes('_admin'))).toBe(false);
  });
});
