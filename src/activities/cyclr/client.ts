/**
 * The Cyclr partner API client (got), per docs/cyclr-api.md. It never retries on its own except for one
 * token renewal after a 401: Temporal retries activities, guided by the failure types in errors.ts.
 */
import http from 'node:http';
import https from 'node:https';
import { ApplicationFailure } from '@temporalio/common';
import got, { type Got } from 'got';
import {
  ACCOUNT_CONNECTOR_NAME_IN_USE,
  CyclrErrorType,
  badResponseFailure,
  httpFailure,
  invalidConfiguration,
  invalidRequest,
  isAccountIdInUse,
  cyclrDetail,
  isBadRequestSaying,
  isNotFound,
  networkFailure,
  parseRetryAfter,
} from './errors.js';
import pLimit from 'p-limit';
import type { CyclrRequestEvent } from '../../observability/metrics.js';
import { RequestRate } from './request-rate.js';
import { MAX_PAGE_SIZE, isLastPage } from './paging.js';
import { ClientCredentialsToken, FixedToken, type TokenSource } from './token.js';
import type { CyclrAccount, CyclrAccountConnector, CyclrConnector, InstallBody, SignInToken } from './types.js';

export interface CyclrClientOptions {
  /** e.g. https://api.cyclr.com or the simulator's url; a trailing slash is fine. */
  apiUrl: string;
  /** Partner Service Domain for connectorauth URLs: a host or a full origin (https:// assumed without a scheme). */
  serviceDomain: string;
  credentials: { clientId: string; clientSecret: string } | { accessToken: string };
  /** Client-side limit on requests in flight, per client instance. Default 20. */
  maxConcurrentRequests?: number;
  /** Per HTTP request. Default 30 000. */
  requestTimeoutMs?: number;
  /** Catalog and account-connector paging. Default 100. */
  pageSize?: number;
  /** Requests per second for this process (shared by every client of the worker); default: no limit. */
  rate?: RequestRate;
  /** Metrics hook, called once per HTTP request (token fetches included). Must not throw; errors are ignored. */
  onRequest?: (e: CyclrRequestEvent) => void;
}

/** A property for install/update; `Id` defaults to 0, which Cyclr accepts with a correct Name. */
export interface InstallProperty {
  Name: string;
  Value: string;
  Id?: number;
}

/** InstallBody, with property Ids optional. */
export type InstallInput = Omit<InstallBody, 'Properties'> & { Properties?: InstallProperty[] };

export interface ConnectorRef {
  id?: number;
  name?: string;
  version?: string;
}

export interface CyclrClient {
  getConnector(id: number): Promise<CyclrConnector>;
  /** Case-insensitive exact Name match (and Version when given), across every page of the catalog. */
  findConnectors(name: string, version?: string): Promise<CyclrConnector[]>;
  /** Throws ConnectorNotFound or AmbiguousConnector (non-retryable). */
  resolveConnector(ref: ConnectorRef): Promise<CyclrConnector>;
  /** Creates the account, or returns the existing one when Cyclr says "ID already in use". */
  ensureAccount(input: { id: string; name: string; timezone?: string }): Promise<CyclrAccount>;
  getAccount(id: string): Promise<CyclrAccount>;
  /** Idempotent by Name within the account (Name defaults to the connector's Name). */
  installConnector(accountId: string, connectorId: number, body: InstallInput): Promise<CyclrAccountConnector>;
  findAccountConnectorByName(accountId: string, name: string): Promise<CyclrAccountConnector | undefined>;
  getAccountConnector(accountId: string, accountConnectorId: number): Promise<CyclrAccountConnector>;
  updateAccountConnector(
    accountId: string,
    accountConnectorId: number,
    patch: Partial<InstallInput>,
  ): Promise<CyclrAccountConnector>;
  /** 404 counts as success: already gone. */
  deleteAccountConnector(accountId: string, accountConnectorId: number): Promise<void>;
  /** Single-use, 5-minute token: mint it only when a browser is about to use it. */
  createSignInToken(accountId: string, username: string): Promise<{ token: string; expiresAt: string }>;
  connectorAuthUrl(input: {
    accountConnectorId: number;
    token: string;
    targetOrigin: string;
    callbackMessage?: string;
  }): string;
  /** Requests running and waiting in this client's limiter. */
  readonly load: { readonly inFlight: number; readonly waiting: number };
  /** Closes idle keep-alive sockets. */
  close(): void;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface Call {
  method: Method;
  /** Route pattern for errors and metrics, e.g. '/v1.0/connectors/{id}'. */
  route: string;
  /** The real path, every segment already encoded. */
  path: string;
  searchParams?: Record<string, string | number>;
  json?: unknown;
  /** Sent as X-Cyclr-Account on account-level calls. */
  accountId?: string;
  /** Secrets in this request (AuthValue, sensitive property values) to scrub from any echo. */
  secrets?: (string | undefined)[];
}

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

const DEFAULTS = { maxConcurrentRequests: 20, requestTimeoutMs: 30_000, pageSize: 100 };
// Guards against a server that ignores `page` and repeats itself forever.
const MAX_PAGES = 10_000;
// Property names whose values are credentials (e.g. a per-account OAuth app's ClientSecret).
const SENSITIVE_PROPERTY = /secret|password|token|key|credential/i;

export function createCyclrClient(options: CyclrClientOptions): CyclrClient {
  const config = validateOptions(options);
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true });
  const client: Got = got.extend({
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    timeout: { request: config.requestTimeoutMs },
    agent: { http: httpAgent, https: httpsAgent },
    responseType: 'text',
  });
  const limiter = pLimit(config.maxConcurrentRequests);
  const rate = options.rate ?? new RequestRate();

  const report = (endpoint: string, method: string, status: number | 'network-error', startedAt: number) => {
    if (!options.onRequest) return;
    try {
      options.onRequest({ endpoint, method, status, durationMs: Date.now() - startedAt });
    } catch {
      // A broken metrics hook must not fail a provisioning.
    }
  };

  const tokens: TokenSource =
    'accessToken' in config.credentials
      ? new FixedToken(config.credentials.accessToken)
      : new ClientCredentialsToken({
          http: client,
          apiUrl: config.apiUrl,
          clientId: config.credentials.clientId,
          clientSecret: config.credentials.clientSecret,
          timeoutMs: config.requestTimeoutMs,
          report,
        });

  const endpointOf = (call: Call) => `${call.method} ${call.route}`;

  async function sendOnce(call: Call, token: string): Promise<Reply> {
    const startedAt = Date.now();
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'content-type': 'application/json',
    };
    if (call.accountId !== undefined) headers['x-cyclr-account'] = call.accountId;
    try {
      const response = await client(`${config.apiUrl}${call.path}`, {
        method: call.method,
        headers,
        searchParams: call.searchParams,
        // Cyclr answers a bodyless POST/PUT with a 500: always send at least {}.
        body: call.method === 'POST' || call.method === 'PUT' ? JSON.stringify(call.json ?? {}) : undefined,
      });
      report(endpointOf(call), call.method, response.statusCode, startedAt);
      return { status: response.statusCode, body: response.body, headers: response.headers };
    } catch (err) {
      report(endpointOf(call), call.method, 'network-error', startedAt);
      throw networkFailure(endpointOf(call), err, config.requestTimeoutMs);
    }
  }

  /** One request under the limiter; on a 401 with a renewable token, renews and retries once. */
  async function send(call: Call): Promise<Reply> {
    return limiter(async () => {
      const token = await tokens.get();
      await rate.acquire();
      const sentAt = Date.now();
      const first = await sendOnce(call, token);
      if (first.status === 429) rate.throttled(parseRetryAfter(first.headers['retry-after']), sentAt);
      if (first.status !== 401 || !tokens.renewable) return first;
      tokens.invalidate(token);
      const renewed = await tokens.get();
      await rate.acquire();
      return sendOnce(call, renewed);
    });
  }

  async function request<T>(call: Call): Promise<{ data: T; headers: http.IncomingHttpHeaders }> {
    const reply = await send(call);
    if (reply.status < 200 || reply.status >= 300) {
      throw httpFailure({
        endpoint: endpointOf(call),
        status: reply.status,
        body: reply.body,
        headers: reply.headers,
        secrets: [...(call.secrets ?? []), ...tokens.secrets()],
        credentialHint: tokens.credentialHint,
        afterRenewal: tokens.renewable,
      });
    }
    if (!reply.body.trim()) return { data: undefined as T, headers: reply.headers };
    try {
      return { data: JSON.parse(reply.body) as T, headers: reply.headers };
    } catch {
      throw badResponseFailure(endpointOf(call), reply.status, 'a body that is not JSON');
    }
  }

  /** Pages page=1.. until a short or empty page, or the Total-Pages header says it was the last. */
  async function* pages<T>(call: Omit<Call, 'searchParams'>): AsyncGenerator<T[]> {
    const seen = new Set<string>();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { data, headers } = await request<unknown>({ ...call, searchParams: { page, pageSize: config.pageSize } });
      if (!Array.isArray(data)) throw badResponseFailure(endpointOf(call), 200, 'something other than a JSON array');
      const items = data as T[];
      // A server that ignores `page` would send page 1 forever: stop once a page brings nothing new.
      const keys = items.map((item) => JSON.stringify((item as { Id?: unknown })?.Id ?? item));
      if (items.length > 0 && keys.every((k) => seen.has(k))) return;
      keys.forEach((k) => seen.add(k));
      yield items;
      const last = isLastPage({
        page,
        itemCount: items.length,
        pageSize: config.pageSize,
        totalPagesHeader: headers['total-pages'],
      });
      if (last) return;
    }
  }

  const connectorPath = (id: number) => `/v1.0/connectors/${id}`;
  const accountConnectorPath = (id: number) => `/v1.0/account/connectors/${id}`;

  async function getConnector(id: number): Promise<CyclrConnector> {
    requirePositiveInt(id, 'connector.id');
    try {
      const { data } = await request<CyclrConnector>({
        method: 'GET',
        route: '/v1.0/connectors/{id}',
        path: connectorPath(id),
      });
      return expectObjectWithId(data, 'GET /v1.0/connectors/{id}');
    } catch (err) {
      if (isNotFound(err)) {
        throw ApplicationFailure.create({
          type: CyclrErrorType.ConnectorNotFound,
          message: `No Cyclr connector with id ${id}; check connector.id against GET /v1.0/connectors`,
          nonRetryable: true,
        });
      }
      throw err;
    }
  }

  async function listMatchingConnectors(name: string): Promise<CyclrConnector[]> {
    const wanted = name.trim().toLowerCase();
    const found: CyclrConnector[] = [];
    for await (const page of pages<CyclrConnector>({
      method: 'GET',
      route: '/v1.0/connectors',
      path: '/v1.0/connectors',
    })) {
      for (const c of page) if (typeof c?.Name === 'string' && c.Name.trim().toLowerCase() === wanted) found.push(c);
    }
    return found;
  }

  const sameVersion = (c: CyclrConnector, version: string) =>
    String(c.Version ?? '')
      .trim()
      .toLowerCase() === version.trim().toLowerCase();

  async function findConnectors(name: string, version?: string): Promise<CyclrConnector[]> {
    requireText(name, 'connector.name');
    const byName = await listMatchingConnectors(name);
    return version === undefined ? byName : byName.filter((c) => sameVersion(c, version));
  }

  async function resolveConnector(ref: ConnectorRef): Promise<CyclrConnector> {
    if (ref.id !== undefined) return getConnector(ref.id);
    if (ref.name === undefined || !ref.name.trim()) {
      throw invalidRequest('connector needs an "id" (number) or a "name" (string, with an optional "version")');
    }
    if (ref.version !== undefined) requireText(ref.version, 'connector.version');
    const byName = await findConnectors(ref.name);
    const matches = ref.version === undefined ? byName : byName.filter((c) => sameVersion(c, ref.version as string));
    const searched = `named "${ref.name}"${ref.version !== undefined ? ` with version "${ref.version}"` : ''}`;
    if (matches.length === 0) {
      const others = byName.length ? `; versions available: ${byName.map(describeConnector).join(', ')}` : '';
      throw ApplicationFailure.create({
        type: CyclrErrorType.ConnectorNotFound,
        message: `No Cyclr connector ${searched}${others}`,
        nonRetryable: true,
      });
    }
    if (matches.length > 1) {
      throw ApplicationFailure.create({
        type: CyclrErrorType.AmbiguousConnector,
        message: `${matches.length} Cyclr connectors are ${searched}: ${matches.map(describeConnector).join(', ')}; pass connector.version or connector.id to choose one`,
        nonRetryable: true,
      });
    }
    return matches[0];
  }

  async function getAccount(id: string): Promise<CyclrAccount> {
    requireText(id, 'accountId');
    const { data } = await request<CyclrAccount>({
      method: 'GET',
      route: '/v1.0/accounts/{id}',
      path: `/v1.0/accounts/${encodeURIComponent(id)}`,
    });
    return expectObject(data, 'GET /v1.0/accounts/{id}');
  }

  async function ensureAccount(input: { id: string; name: string; timezone?: string }): Promise<CyclrAccount> {
    requireText(input.id, 'accountId');
    requireText(input.name, 'account.name');
    if (input.timezone !== undefined) requireText(input.timezone, 'account.timezone');
    try {
      const { data } = await request<CyclrAccount>({
        method: 'POST',
        route: '/v1.0/accounts',
        path: '/v1.0/accounts',
        json: { Id: input.id, Name: input.name, ...(input.timezone ? { Timezone: input.timezone } : {}) },
      });
      return expectObject(data, 'POST /v1.0/accounts');
    } catch (err) {
      if (isAccountIdInUse(err)) return getAccount(input.id);
      throw err;
    }
  }

  async function findAccountConnectorByName(
    accountId: string,
    name: string,
  ): Promise<CyclrAccountConnector | undefined> {
    requireText(accountId, 'accountId');
    requireText(name, 'installName');
    // An exact match wins; a case-insensitive one is the fallback (Cyclr's own rule for "in use" is undocumented).
    let caseless: CyclrAccountConnector | undefined;
    for await (const page of pages<CyclrAccountConnector>({
      method: 'GET',
      route: '/v1.0/account/connectors',
      path: '/v1.0/account/connectors',
      accountId,
    })) {
      for (const ac of page) {
        if (typeof ac?.Name !== 'string') continue;
        if (ac.Name === name) return withoutSecrets(ac);
        if (!caseless && ac.Name.toLowerCase() === name.toLowerCase()) caseless = ac;
      }
    }
    return caseless && withoutSecrets(caseless);
  }

  async function installConnector(
    accountId: string,
    connectorId: number,
    body: InstallInput,
  ): Promise<CyclrAccountConnector> {
    requireText(accountId, 'accountId');
    requirePositiveInt(connectorId, 'connector.id');
    // Idempotency hangs on the Name, so always send one: Cyclr's default is the connector's Name.
    const name =
      body.Name !== undefined ? requireText(body.Name, 'installName') : (await getConnector(connectorId)).Name;
    const payload = toCyclrBody({ ...body, Name: name });
    try {
      // Install first: one request in the normal case. The Name is looked up only when Cyclr says it is taken.
      const { data } = await request<CyclrAccountConnector>({
        method: 'POST',
        route: '/v1.0/connectors/{id}/install',
        path: `${connectorPath(connectorId)}/install`,
        accountId,
        json: payload,
        secrets: secretsOf(payload),
      });
      return withoutSecrets(expectObjectWithId(data, 'POST /v1.0/connectors/{id}/install'));
    } catch (err) {
      if (isNotFound(err)) throw installNotFound(err, accountId, connectorId);
      // Taken: by an earlier attempt of ours whose answer was lost (adopt it), or by another connector (refuse).
      if (!isBadRequestSaying(err, ACCOUNT_CONNECTOR_NAME_IN_USE)) throw err;
      const found = await findAccountConnectorByName(accountId, name);
      if (!found) throw err;
      const holder = found.Connector;
      if (holder && typeof holder.Id === 'number' && holder.Id !== connectorId) {
        throw ApplicationFailure.create({
          type: CyclrErrorType.InstallNameTaken,
          message:
            `installName: "${name}" is already used in account ${accountId} by ${holder.Name ?? 'another connector'} ` +
            `(connector ${holder.Id}, account connector ${found.Id}), not by connector ${connectorId}; ` +
            'choose another installName, or remove that account connector first',
          nonRetryable: true,
        });
      }
      return found;
    }
  }

  async function getAccountConnector(accountId: string, accountConnectorId: number): Promise<CyclrAccountConnector> {
    requireText(accountId, 'accountId');
    requirePositiveInt(accountConnectorId, 'accountConnectorId');
    const { data } = await request<CyclrAccountConnector>({
      method: 'GET',
      route: '/v1.0/account/connectors/{id}',
      path: accountConnectorPath(accountConnectorId),
      accountId,
    });
    return withoutSecrets(expectObjectWithId(data, 'GET /v1.0/account/connectors/{id}'));
  }

  async function updateAccountConnector(
    accountId: string,
    accountConnectorId: number,
    patch: Partial<InstallInput>,
  ): Promise<CyclrAccountConnector> {
    requireText(accountId, 'accountId');
    requirePositiveInt(accountConnectorId, 'accountConnectorId');
    const payload = toCyclrBody(patch);
    const { data } = await request<CyclrAccountConnector>({
      method: 'PUT',
      route: '/v1.0/account/connectors/{id}',
      path: accountConnectorPath(accountConnectorId),
      accountId,
      json: payload,
      secrets: secretsOf(payload),
    });
    return withoutSecrets(expectObjectWithId(data, 'PUT /v1.0/account/connectors/{id}'));
  }

  async function deleteAccountConnector(accountId: string, accountConnectorId: number): Promise<void> {
    requireText(accountId, 'accountId');
    requirePositiveInt(accountConnectorId, 'accountConnectorId');
    try {
      await request<unknown>({
        method: 'DELETE',
        route: '/v1.0/account/connectors/{id}',
        path: accountConnectorPath(accountConnectorId),
        accountId,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async function createSignInToken(accountId: string, username: string): Promise<{ token: string; expiresAt: string }> {
    requireText(accountId, 'accountId');
    requireText(username, 'oauth.username');
    const { data } = await request<SignInToken>({
      method: 'POST',
      route: '/v1.0/accounts/{id}/signintoken',
      path: `/v1.0/accounts/${encodeURIComponent(accountId)}/signintoken`,
      json: { Username: username },
    });
    if (typeof data?.Token !== 'string' || !data.Token) {
      throw badResponseFailure('POST /v1.0/accounts/{id}/signintoken', 200, 'no Token');
    }
    return { token: data.Token, expiresAt: String(data.ExpiresAtUtc ?? '') };
  }

  function connectorAuthUrl(input: {
    accountConnectorId: number;
    token: string;
    targetOrigin: string;
    callbackMessage?: string;
  }): string {
    requirePositiveInt(input.accountConnectorId, 'accountConnectorId');
    if (typeof input.token !== 'string' || !input.token)
      throw invalidRequest('token must be a non-empty sign-in token');
    requireHttpUrl(input.targetOrigin, 'targetOrigin');
    const params: [string, string][] = [
      ['id', String(input.accountConnectorId)],
      ['token', input.token],
      ['targetOrigin', input.targetOrigin],
    ];
    if (input.callbackMessage !== undefined) params.push(['callbackMessage', input.callbackMessage]);
    // encodeURIComponent, not URLSearchParams: a space becomes %20, never a '+' that could be read back as a plus.
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    return `${config.serviceOrigin}/connectorauth/updateaccountconnectoroauth?${query}`;
  }

  return {
    getConnector,
    findConnectors,
    resolveConnector,
    ensureAccount,
    getAccount,
    installConnector,
    findAccountConnectorByName,
    getAccountConnector,
    updateAccountConnector,
    deleteAccountConnector,
    createSignInToken,
    connectorAuthUrl,
    load: {
      get inFlight() {
        return limiter.activeCount;
      },
      get waiting() {
        return limiter.pendingCount;
      },
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

// ---- helpers ----

interface ValidConfig {
  apiUrl: string;
  serviceOrigin: string;
  credentials: CyclrClientOptions['credentials'];
  maxConcurrentRequests: number;
  requestTimeoutMs: number;
  pageSize: number;
}

function validateOptions(options: CyclrClientOptions): ValidConfig {
  const apiUrl = String(options?.apiUrl ?? '').replace(/\/+$/, '');
  let parsedApi: URL | undefined;
  try {
    parsedApi = new URL(apiUrl);
  } catch {
    parsedApi = undefined;
  }
  if (!parsedApi || !/^https?:$/.test(parsedApi.protocol) || parsedApi.search || parsedApi.hash) {
    throw invalidConfiguration(
      `apiUrl (CYCLR_API_URL) must be an http(s) URL such as https://api.cyclr.com, got "${apiUrl}"`,
    );
  }
  const serviceOrigin = normaliseServiceDomain(options.serviceDomain);
  const creds = options.credentials as Record<string, unknown> | undefined;
  if (creds && 'accessToken' in creds) {
    if (typeof creds.accessToken !== 'string' || !creds.accessToken.trim()) {
      throw invalidConfiguration('credentials.accessToken (CYCLR_ACCESS_TOKEN) is empty; set it to a partner token');
    }
  } else if (!creds || typeof creds.clientId !== 'string' || !creds.clientId.trim()) {
    throw invalidConfiguration(
      'credentials need clientId and clientSecret (CYCLR_CLIENT_ID / CYCLR_CLIENT_SECRET) or accessToken (CYCLR_ACCESS_TOKEN)',
    );
  } else if (typeof creds.clientSecret !== 'string' || !creds.clientSecret) {
    throw invalidConfiguration(
      'credentials.clientSecret (CYCLR_CLIENT_SECRET) is empty; set it beside CYCLR_CLIENT_ID',
    );
  }
  const positiveInt = (value: number | undefined, field: string, fallback: number, max = Infinity) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1 || value > max) {
      const range = max === Infinity ? 'a positive integer' : `an integer from 1 to ${max}`;
      throw invalidConfiguration(`${field} must be ${range}, got ${String(value)}`);
    }
    return value;
  };
  return {
    apiUrl,
    serviceOrigin,
    credentials: options.credentials,
    maxConcurrentRequests: positiveInt(
      options.maxConcurrentRequests,
      'maxConcurrentRequests',
      DEFAULTS.maxConcurrentRequests,
    ),
    requestTimeoutMs: positiveInt(options.requestTimeoutMs, 'requestTimeoutMs', DEFAULTS.requestTimeoutMs),
    pageSize: positiveInt(options.pageSize, 'pageSize', DEFAULTS.pageSize, MAX_PAGE_SIZE),
  };
}

/** "acme-h.cyclr.com" or "https://acme-h.cyclr.com/" → "https://acme-h.cyclr.com". */
export function normaliseServiceDomain(value: string): string {
  const raw = String(value ?? '').trim();
  const fix = 'serviceDomain (CYCLR_SERVICE_DOMAIN) must be the Partner Service Domain, e.g. acme-h.cyclr.com';
  if (!raw) throw invalidConfiguration(`${fix}; it is empty`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalidConfiguration(`${fix}; got "${raw}"`);
  }
  if (!/^https?:$/.test(url.protocol) || url.pathname.replace(/\/+$/, '') || url.search || url.hash) {
    throw invalidConfiguration(`${fix} (a host or an origin, no path); got "${raw}"`);
  }
  return url.origin;
}

function requireText(value: string, field: string): string {
  if (typeof value !== 'string' || !value.trim()) throw invalidRequest(`${field} must be a non-empty string`);
  return value;
}

function requirePositiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw invalidRequest(`${field} must be a positive integer (a Cyclr id), got ${JSON.stringify(value)}`);
  }
}

function requireHttpUrl(value: string, field: string): void {
  let ok = false;
  try {
    ok = /^https?:$/.test(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok)
    throw invalidRequest(`${field} must be an absolute http(s) URL, e.g. https://app.example.com/oauth/callback`);
}

function expectObject<T>(data: T, endpoint: string): T {
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw badResponseFailure(endpoint, 200, 'no JSON object');
  return data;
}

function expectObjectWithId<T extends { Id: number }>(data: T, endpoint: string): T {
  expectObject(data, endpoint);
  if (typeof data.Id !== 'number') throw badResponseFailure(endpoint, 200, 'an object without a numeric Id');
  return data;
}

/** Cyclr echoes AuthValue back; nobody downstream needs it, and it must not reach workflow history. */
function withoutSecrets(ac: CyclrAccountConnector): CyclrAccountConnector {
  const { AuthValue: _authValue, ...rest } = ac;
  return rest;
}

/** A 404 from install: the connector was resolved just before, so it is the account that Cyclr does not know. */
function installNotFound(err: unknown, accountId: string, connectorId: number): ApplicationFailure {
  const said = cyclrDetail(err)?.cyclrMessage;
  if (said && /connector/i.test(said) && !/account\b(?! connector)/i.test(said)) {
    return ApplicationFailure.create({
      type: CyclrErrorType.ConnectorNotFound,
      message: `Cyclr has no connector ${connectorId} to install (${said}); check connector.id`,
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({
    type: CyclrErrorType.AccountNotFound,
    message: `accountId: Cyclr has no account "${accountId}"; check the id, or pass "account": { "create": true, "name": "..." }`,
    nonRetryable: true,
  });
}

function describeConnector(c: CyclrConnector): string {
  return `${c.Name} ${c.Version} (id ${c.Id})`;
}

function toCyclrBody(input: Partial<InstallInput>): Partial<InstallBody> {
  const out: Partial<InstallBody> = {};
  if (input.Name !== undefined) out.Name = requireText(input.Name, 'installName');
  if (input.Description !== undefined) out.Description = input.Description;
  if (input.AuthenticationId !== undefined)
    out.AuthenticationId = requireText(input.AuthenticationId, 'authenticationId');
  if (input.AuthValue !== undefined) out.AuthValue = input.AuthValue;
  if (input.Properties !== undefined) {
    if (!Array.isArray(input.Properties)) throw invalidRequest('properties must be an array of { name, value }');
    out.Properties = input.Properties.map((p, i) => {
      if (typeof p?.Name !== 'string' || !p.Name)
        throw invalidRequest(`properties[${i}].name must be a non-empty string`);
      if (typeof p.Value !== 'string') throw invalidRequest(`properties[${i}].value must be a string`);
      return { Name: p.Name, Value: p.Value, Id: p.Id ?? 0 };
    });
  }
  return out;
}

function secretsOf(body: Partial<InstallBody>): string[] {
  const out: string[] = [];
  if (body.AuthValue) out.push(body.AuthValue);
  for (const p of body.Properties ?? []) if (SENSITIVE_PROPERTY.test(p.Name) && p.Value) out.push(p.Value);
  return out;
}
