/**
 * Hostile requests over HTTP, as someone who found the gateway would send them: no token, a token in the URL, other
 * schemes, read tokens on writes, forged, expired, replayed and cross-workflow link tokens and callback states,
 * oversize and malformed bodies, CRLF and path tricks in ids. Each is refused with the right status and a clear
 * message, and afterwards nothing changed at Cyclr (the simulator's installs, deletes and sign-in tokens).
 */
import { execFile } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookActivities } from '../src/activities/webhooks.js';
import { codecOptionsFromEnv } from '../src/codec/server.js';
import { loadConfig, type ConfigError, type Key } from '../src/config.js';
import type { ProvisioningEvent } from '../src/contract/webhook-events.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { signToken } from '../src/signing/signed-token.js';
import type { ProvisioningStatus } from '../src/contract/messages.js';
import {
  startGateway,
  startGatewayStack,
  TEST_GATEWAY_TOKEN,
  TEST_READ_TOKEN,
  withToken,
  type GatewayStack,
} from './support/gateway-stack.js';
import { eventually, TEST_LINK_KEY, testEnv } from './support/harness.js';
import { requestTotal, simulatorStats, type SimulatorStats } from './support/simulator-admin.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/** A production environment's secrets, each its own. */
const productionSecrets = {
  LINK_SIGNING_KEY: 'k1:production-link-signing-key-0123456789',
  PAYLOAD_ENCRYPTION_KEY: 'p1:production-payload-key-0123456789',
  NOTIFY_SIGNING_SECRET: `whsec_${Buffer.from('production-notify-secret-0123456789').toString('base64')}`,
  GATEWAY_API_TOKENS: 'production-gateway-token-0123456789',
  PUBLIC_BASE_URL: 'https://provisioning.example.test',
};
/** What a worker needs besides its keys. */
const productionCyclr = {
  CYCLR_API_URL: 'https://api.example.test',
  CYCLR_SERVICE_DOMAIN: 'x.example.test',
  CYCLR_ACCESS_TOKEN: 'production-cyclr-access-token',
};

let stack: GatewayStack;
let keys: Key[];

interface Waiting {
  workflowId: string;
  link: string;
  token: string;
}
let target: Waiting;
let other: Waiting;
let ended: Waiting;
let baseline: Counts;

interface Counts {
  installs: number;
  deletes: number;
  signInTokens: number;
}

const counts = (stats: SimulatorStats): Counts => ({
  installs: stats.installs.reduce((n, i) => n + i.count, 0) + requestTotal(stats, /install/i),
  deletes: requestTotal(stats, /^DELETE /),
  signInTokens: requestTotal(stats, /signintoken/i),
});

async function statusOf(workflowId: string): Promise<ProvisioningStatus> {
  return stack.client.status(workflowId);
}

async function awaitingConsent(): Promise<Waiting> {
  const accountId = await stack.newAccount();
  const res = await stack.call('/provisionings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
    }),
  });
  expect(res.status).toBe(202);
  const { workflowId } = (await res.json()) as { workflowId: string };
  const status = await eventually(async () => {
    const s = await statusOf(workflowId);
    return s.stage === 'awaiting-consent' ? s : undefined;
  });
  const link = status.consentLink!;
  return { workflowId, link, token: link.slice(link.lastIndexOf('/connect/') + '/connect/'.length) };
}

beforeAll(async () => {
  const probe = testEnv({ taskQueue: 'unused', simulatorUrl: 'http://127.0.0.1:9' });
  stack = await startGatewayStack('abuse', {}, { codec: codecOptionsFromEnv(probe) });
  keys = loadConfig('gateway', { NODE_ENV: 'development', LINK_SIGNING_KEY: TEST_LINK_KEY }).linkSigningKeys;
  [target, other, ended] = await Promise.all([awaitingConsent(), awaitingConsent(), awaitingConsent()]);
  // One that has ended, for replays after the end; cancelled (and its connector removed) before the baseline.
  await stack.call(`/provisionings/${encodeURIComponent(ended.workflowId)}/cancel`, { method: 'POST' });
  await eventually(async () => ((await statusOf(ended.workflowId)).stage === 'cancelled' ? true : undefined));
  // Its connector's removal may land just after the stage changes: the baseline includes it.
  baseline = await eventually(async () => {
    const c = counts(await simulatorStats(stack.simulator.url));
    return c.deletes >= 1 ? c : undefined;
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${stack.gatewayUrl}${path}`, { redirect: 'manual', ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** A request whose path goes out exactly as written (fetch would resolve "..", encode CR LF, ...). */
function raw(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${stack.gatewayUrl}/`, { path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode!, headers: h, text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const json = { 'content-type': 'application/json' };
const id = (w: Waiting) => encodeURIComponent(w.workflowId);
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
const retarget = (token: string, wf: string) =>
  `${Buffer.from(JSON.stringify({ ...claimsOf(token), wf })).toString('base64url')}.${token.split('.')[1]}`;
const attackerKeys: Key[] = [{ id: 'k1', secret: 'an-attacker-guessed-this-secret' }];
const validRequest = () => ({
  accountId: 'acct-abuse-new',
  connector: { name: FIXTURE_CONNECTORS.oauth.name },
  oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
});

/** What the person reads: an API error's `message`, or a page's text. */
function messageOf(text: string): string {
  try {
    return String((JSON.parse(text) as { message?: unknown }).message);
  } catch {
    return text;
  }
}

interface Case {
  name: string;
  send: () => Promise<Answer>;
  status: number;
  message: RegExp;
}

/** The hostile requests, built once the provisionings they aim at exist. */
function cases(): Case[] {
  const needsToken = /needs "Authorization: Bearer <token>"/;
  return [
    // --- No token, or not one of ours ---
    {
      name: 'start a provisioning without a token',
      send: () => send('/provisionings', { method: 'POST', headers: json, body: JSON.stringify(validRequest()) }),
      status: 401,
      message: needsToken,
    },
    {
      name: "read a customer's status (and its consent link) without a token",
      send: () => send(`/provisionings/${id(target)}`),
      status: 401,
      message: needsToken,
    },
    {
      name: "cancel a customer's provisioning without a token",
      send: () => send(`/provisionings/${id(target)}/cancel`, { method: 'POST' }),
      status: 401,
      message: needsToken,
    },
    {
      name: 're-issue a consent link without a token',
      send: () => send(`/provisionings/${id(target)}/consent-link`, { method: 'POST' }),
      status: 401,
      message: needsToken,
    },
    {
      name: 'submit a batch without a token',
      send: () => send('/batches', { method: 'POST', headers: json, body: JSON.stringify({ rows: [validRequest()] }) }),
      status: 401,
      message: needsToken,
    },
    {
      name: 'decrypt payloads at /codec without a token',
      send: () => send('/codec/decode', { method: 'POST', headers: json, body: '{"payloads":[]}' }),
      status: 401,
      message: needsToken,
    },
    {
      name: 'the write token in the query string (access_token)',
      send: () => send(`/provisionings/${id(target)}?access_token=${TEST_GATEWAY_TOKEN}`),
      status: 400,
      message: /token in the URL is refused.*Authorization: Bearer/,
    },
    {
      name: 'the write token as the value of any query parameter',
      send: () => send(`/provisionings/${id(target)}/cancel?x=${TEST_GATEWAY_TOKEN}`, { method: 'POST' }),
      status: 400,
      message: /token in the URL is refused/,
    },
    {
      name: 'the token under the Basic scheme',
      send: () =>
        send(`/provisionings/${id(target)}`, {
          headers: { authorization: `Basic ${Buffer.from(`${TEST_GATEWAY_TOKEN}:`).toString('base64')}` },
        }),
      status: 401,
      message: /must be "Bearer <token>"/,
    },
    {
      name: 'the token under a made-up "Token" scheme',
      send: () => send(`/provisionings/${id(target)}`, { headers: { authorization: `Token ${TEST_GATEWAY_TOKEN}` } }),
      status: 401,
      message: /must be "Bearer <token>"/,
    },
    {
      name: 'two tokens in one Bearer header',
      send: () =>
        send(`/provisionings/${id(target)}`, {
          headers: { authorization: `Bearer ${TEST_READ_TOKEN} ${TEST_GATEWAY_TOKEN}` },
        }),
      status: 401,
      message: /must be "Bearer <token>"/,
    },
    {
      name: 'a wrong bearer token of the right length',
      send: () =>
        send(`/provisionings/${id(target)}`, {
          headers: withToken(
            {},
            TEST_GATEWAY_TOKEN.replace(/.$/, (c) => (c === 'x' ? 'y' : 'x')),
          ),
        }),
      status: 401,
      message: /not one this gateway accepts/,
    },
    {
      name: 'the link-signing secret as a bearer token (one secret, one purpose)',
      send: () => send(`/provisionings/${id(target)}`, { headers: withToken({}, keys[0]!.secret) }),
      status: 401,
      message: /not one this gateway accepts/,
    },
    // --- Forged, expired, replayed and cross-workflow link tokens ---
    {
      name: 'a consent link signed with a guessed key',
      send: () =>
        send(
          `/connect/${signToken('connect', { ...claimsOf(target.token), exp: Date.now() + 60_000 } as never, attackerKeys)}`,
        ),
      status: 403,
      message: /not issued by us/,
    },
    {
      name: 'an expired consent link',
      send: () =>
        send(`/connect/${signToken('connect', { ...claimsOf(target.token), exp: Date.now() - 1000 } as never, keys)}`),
      status: 410,
      message: /expired/,
    },
    {
      name: "a consent link re-pointed at another customer's workflow",
      send: () => send(`/connect/${retarget(target.token, other.workflowId)}`),
      status: 403,
      message: /altered or was not issued by us/,
    },
    {
      name: 'a callback state used as a consent link (wrong purpose)',
      send: () => send(`/connect/${signToken('callback', { wf: target.workflowId, exp: Date.now() + 60_000 }, keys)}`),
      status: 403,
      message: /not issued by us|not valid|altered/,
    },
    {
      name: 'a consent link replayed after its provisioning was cancelled',
      send: () => send(`/connect/${ended.token}`),
      status: 410,
      message: /cancelled/,
    },
    // --- Forged, expired, replayed and cross-workflow callback states ---
    {
      name: 'a callback state signed with a guessed key',
      send: () =>
        send(
          `/oauth/callback?state=${signToken('callback', { wf: target.workflowId, exp: Date.now() + 60_000 }, attackerKeys)}`,
        ),
      status: 403,
      message: /could not confirm this response came from your sign-in/,
    },
    {
      name: 'an expired callback state',
      send: () =>
        send(`/oauth/callback?state=${signToken('callback', { wf: target.workflowId, exp: Date.now() - 1000 }, keys)}`),
      status: 403,
      message: /has expired/,
    },
    {
      name: "a callback state re-pointed at another customer's workflow",
      send: () =>
        send(
          `/oauth/callback?state=${retarget(signToken('callback', { wf: target.workflowId, exp: Date.now() + 60_000 }, keys), other.workflowId)}`,
        ),
      status: 403,
      message: /could not confirm/,
    },
    {
      name: 'a consent link token used as a callback state (wrong purpose)',
      send: () => send(`/oauth/callback?state=${target.token}`),
      status: 403,
      message: /could not confirm/,
    },
    {
      name: 'a valid callback state replayed after its provisioning was cancelled',
      send: () =>
        send(
          `/oauth/callback?state=${signToken('callback', { wf: ended.workflowId, lid: claimsOf(ended.token).lid as string, exp: Date.now() + 60_000 }, keys)}`,
        ),
      status: 410,
      message: /cancelled before sign-in finished/,
    },
    {
      name: 'a callback with two states',
      send: () => send('/oauth/callback?state=a&state=b'),
      status: 400,
      message: /expects to be reached from the sign-in page/,
    },
    // --- Oversize and malformed bodies (with a valid token: the body itself is refused) ---
    {
      name: 'a provisioning body over the 256 KB limit',
      send: () =>
        send('/provisionings', {
          method: 'POST',
          headers: withToken(json),
          body: JSON.stringify({ ...validRequest(), description: 'x'.repeat(300 * 1024) }),
        }),
      status: 413,
      message: /too large/,
    },
    {
      name: 'a body that is not JSON',
      send: () => send('/provisionings', { method: 'POST', headers: withToken(json), body: '{"accountId": "a", ' }),
      status: 400,
      message: /not valid JSON/,
    },
    {
      name: 'a JSON array instead of a request',
      send: () => send('/provisionings', { method: 'POST', headers: withToken(json), body: '[1,2,3]' }),
      status: 400,
      message: /invalid request/,
    },
    {
      name: 'an unknown field smuggled into the request',
      send: () =>
        send('/provisionings', {
          method: 'POST',
          headers: withToken(json),
          body: JSON.stringify({ ...validRequest(), admin: true }),
        }),
      status: 400,
      message: /admin/,
    },
    {
      name: 'a javascript: returnUrl',
      send: () =>
        send('/provisionings', {
          method: 'POST',
          headers: withToken(json),
          body: JSON.stringify({ ...validRequest(), oauth: { username: 'jo', returnUrl: 'javascript:alert(1)' } }),
        }),
      status: 400,
      message: /oauth\.returnUrl: must be an http:\/\/ or https:\/\/ URL/,
    },
    {
      name: 'a file: notifyUrl',
      send: () =>
        send('/provisionings', {
          method: 'POST',
          headers: withToken(json),
          body: JSON.stringify({ ...validRequest(), notifyUrl: 'file:///etc/passwd' }),
        }),
      status: 400,
      message: /notifyUrl: must be an http:\/\/ or https:\/\/ URL/,
    },
    // --- CRLF and path tricks in ids ---
    {
      name: 'CR LF in a provisioning id, trying to add a header',
      send: () =>
        send(`/provisionings/${encodeURIComponent('provision:a\r\nSet-Cookie: owned=1')}`, { headers: withToken() }),
      status: 404,
      message: /no provisioning [\s\S]*ids look like provision:/,
    },
    {
      name: 'an encoded ../ in a provisioning id',
      send: () => send(`/provisionings/${encodeURIComponent('../../batches/x')}`, { headers: withToken() }),
      status: 404,
      message: /ids look like provision:/,
    },
    {
      name: 'a batch workflow id where a provisioning id belongs (cancel)',
      send: () =>
        send(`/provisionings/${encodeURIComponent('batch:someone')}/cancel`, { method: 'POST', headers: withToken() }),
      status: 404,
      message: /ids look like provision:/,
    },
    {
      name: 'a literal /connect/../provisionings path, hoping the public prefix lets it through',
      send: () => raw(`/connect/../provisionings/${id(target)}`),
      status: 404,
      message: /no route/,
    },
    {
      name: 'a literal /healthz/../provisionings path without a token',
      send: () => raw(`/healthz/../provisionings/${id(target)}`),
      status: 401,
      message: needsToken,
    },
    {
      name: 'CR LF in a consent link, trying to inject a Location header',
      send: () => send(`/connect/${encodeURIComponent('x\r\nLocation: https://evil.example')}`),
      status: 404,
      message: /incomplete or mistyped/,
    },
  ];
}

/** Every write the OpenAPI document lists (bar the public routes), with our real ids filled in. */
async function writeOperations(): Promise<string[]> {
  const doc = (await (await stack.call('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => !['get', 'head'].includes(m) && (item[m] as { security: unknown[] }).security.length)
      .map(
        (m) => `${m.toUpperCase()} ${path.replace('{id}', path.startsWith('/batches') ? 'some-batch' : id(target))}`,
      ),
  );
}

test('every hostile request is refused with the right status and a clear message', async () => {
  const all = cases();
  expect(all.length).toBeGreaterThanOrEqual(25);
  for (const c of all) {
    const res = await c.send();
    expect({ case: c.name, status: res.status }).toEqual({ case: c.name, status: c.status });
    expect({ case: c.name, message: messageOf(res.text) }).toEqual({
      case: c.name,
      message: expect.stringMatching(c.message),
    });
    // Refusals give nothing away: no Cyclr URL, no consent link, no header an id smuggled in.
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.text).not.toContain(stack.simulator.url);
    expect(res.text).not.toContain(target.token);
    if (res.status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  }
});

test('a read token is refused (403) on every write the gateway documents, codec included, and reads without the consent link', async () => {
  const writes = await writeOperations();
  expect(writes).toEqual(
    expect.arrayContaining([
      'POST /provisionings',
      `POST /provisionings/${id(target)}/cancel`,
      `POST /provisionings/${id(target)}/consent-link`,
      `POST /provisionings/${id(target)}/reconnect`,
      `DELETE /provisionings/${id(target)}`,
      'POST /batches',
      'POST /batches/some-batch/cancel',
      'POST /codec/decode',
      'POST /codec/encode',
    ]),
  );
  for (const write of writes) {
    const [method, path] = write.split(' ') as [string, string];
    const res = await send(path, {
      method,
      headers: withToken(json, TEST_READ_TOKEN),
      body: JSON.stringify(path === '/provisionings' ? validRequest() : { reason: 'read token' }),
    });
    expect({ write, status: res.status }).toEqual({ write, status: 403 });
    expect(res.text).toMatch(/this token may only read.*GATEWAY_API_TOKENS/);
  }
  const read = await send(`/provisionings/${id(target)}`, { headers: withToken({}, TEST_READ_TOKEN) });
  expect(read.status).toBe(200);
  // It reads where the provisioning stands, but not the consent link (which would let it connect an account).
  const { status } = JSON.parse(read.text) as { status: ProvisioningStatus };
  expect(status.stage).toBe('awaiting-consent');
  expect(status.consentLink).toBeUndefined();
  expect(read.text).not.toContain(target.token);
});

test('afterwards nothing changed: no install, no delete, no sign-in token, and both customers still wait', async () => {
  expect(counts(await simulatorStats(stack.simulator.url))).toEqual(baseline);
  for (const w of [target, other]) {
    const status = await statusOf(w.workflowId);
    expect(status.stage).toBe('awaiting-consent');
    // The link they were sent still works: nothing revoked it.
    expect(status.consentLink).toBe(w.link);
  }
  expect((await statusOf(ended.workflowId)).stage).toBe('cancelled');
});

describe('rate limits', () => {
  test('an address that keeps presenting bad tokens has them refused (429) until the window ends; the right token still works', async () => {
    const limited = await startGateway(
      stack.client,
      testEnv({ ...stack.options, env: { GATEWAY_AUTH_FAILURE_LIMIT: '3' } }),
    );
    try {
      const get = (token?: string) =>
        fetch(`${limited.url}/provisionings/${id(target)}`, { headers: token ? withToken({}, token) : {} });
      for (let i = 0; i < 3; i++) expect((await get('a-wrong-token-0123456789abcdef')).status).toBe(401);
      const blocked = await get('a-wrong-token-0123456789abcdef');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await blocked.json()).toMatchObject({ message: expect.stringMatching(/too many failed token checks/) });
      // A valid token is never locked out: the guesser's own address is served with it.
      for (let i = 0; i < 6; i++) expect((await get(TEST_GATEWAY_TOKEN)).status).toBe(200);
      expect((await get('another-wrong-token-0123456789')).status).toBe(429);
    } finally {
      await limited.app.close();
    }
  });

  test('the public routes are rate limited per address: beyond the limit, 429 with Retry-After', async () => {
    const limited = await startGateway(stack.client, testEnv({ ...stack.options, env: { GATEWAY_RATE_LIMIT: '5' } }));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await fetch(`${limited.url}/connect/not-a-token`)).status);
      expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429]);
      const res = await fetch(`${limited.url}/healthz`);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.app.close();
    }
  });
});

test('pages and API answers carry security headers; the consent redirect keeps its popup opener', async () => {
  const page = await send('/connect/not-a-token');
  expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(page.headers.get('strict-transport-security')).toMatch(/max-age=/);
  const api = await stack.call(`/provisionings/${id(target)}`);
  expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  // Cyclr posts callbackMessage to the window that opened the consent popup: no COOP may sever it.
  const click = await send(`/connect/${target.token}`, { method: 'HEAD' });
  expect(click.headers.get('cross-origin-opener-policy')).toBeNull();
});

describe('events never reach internal addresses in production', () => {
  const event = (n: number): ProvisioningEvent => ({
    id: `evt_abuse_${n}`,
    type: 'provisioning.completed',
    timestamp: new Date().toISOString(),
    data: { workflowId: 'provision:a:b', accountId: 'a', connector: { name: 'HubSpot' } },
  });
  const production = loadConfig('worker', { NODE_ENV: 'production', ...productionSecrets, ...productionCyclr });

  test('loopback by address or by name, and hosts off the allow-list, are refused before anything is sent', async () => {
    const receiver = await startWebhookReceiver();
    try {
      expect(production.notifyUrls.allowPrivateAddresses).toBe(false);
      const strict = createWebhookActivities({
        signingSecret: 'a-raw-notify-secret-0123',
        notifyUrls: production.notifyUrls,
      });
      const port = new URL(receiver.eventsUrl).port;
      const refusedUrls: [string, RegExp][] = [
        [receiver.eventsUrl, /127\.0\.0\.1 is not a public address/],
        [`http://localhost:${port}/events`, /localhost resolves to .* not a public address/],
        [`http://[::1]:${port}/events`, /::1 is not a public address/],
        [`http://169.254.169.254/latest/meta-data/`, /169\.254\.169\.254 is not a public address/],
        [`http://10.1.2.3:${port}/events`, /10\.1\.2\.3 is not a public address/],
      ];
      for (const [url, message] of refusedUrls) {
        await expect(strict.sendEvent({ notifyUrl: url, event: event(1) })).rejects.toMatchObject({
          type: 'NotifyUrlRefused',
          nonRetryable: true,
          message: expect.stringMatching(message),
        });
      }
      const listed = createWebhookActivities({
        signingSecret: 'a-raw-notify-secret-0123',
        notifyUrls: loadConfig('worker', {
          NODE_ENV: 'development',
          ...productionCyclr,
          NOTIFY_URL_ALLOWLIST: 'hooks.example.com,*.example.org',
        }).notifyUrls,
      });
      await expect(
        listed.sendEvent({ notifyUrl: `http://127.0.0.1:${port}/events`, event: event(2) }),
      ).rejects.toMatchObject({ type: 'NotifyUrlRefused', message: expect.stringMatching(/NOTIFY_URL_ALLOWLIST/) });
      expect(receiver.received).toHaveLength(0);

      // The same receiver, allowed (development's default): delivered, so the refusals above were the policy's.
      const dev = createWebhookActivities({
        signingSecret: 'a-raw-notify-secret-0123',
        notifyUrls: loadConfig('worker', { NODE_ENV: 'development', ...productionCyclr }).notifyUrls,
      });
      await dev.sendEvent({ notifyUrl: receiver.eventsUrl, event: event(3) });
      expect(receiver.received.map((r) => r.event.id)).toEqual(['evt_abuse_3']);
    } finally {
      await receiver.close();
    }
  });

  test('a receiver that answers with an endless body costs the worker its status line, not the body', async () => {
    // Sends 64 KB chunks as fast as the worker reads them, up to 1 GB, and counts what it sent.
    let sent = 0;
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.on('close', closed);
        const chunk = Buffer.alloc(64 * 1024, 120);
        const pump = () => {
          while (!res.destroyed && sent < 1024 ** 3) {
            sent += chunk.length;
            if (!res.write(chunk)) return;
          }
        };
        res.on('drain', pump);
        pump();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const activities = createWebhookActivities({ signingSecret: 'a-raw-notify-secret-0123' });
      const started = performance.now();
      await activities.sendEvent({ notifyUrl: `http://127.0.0.1:${port}/events`, event: event(4) });
      expect(performance.now() - started).toBeLessThan(2000);
      await connectionClosed;
      // What sat in the sockets' buffers when the worker hung up; the old code read until its 10 s timeout.
      expect(sent).toBeLessThan(16 * 1024 ** 2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('start-up refuses an unlocked door', () => {
  test('in production a missing secret is one line naming it, for the gateway and for the worker', () => {
    const problems = (kind: Parameters<typeof loadConfig>[0], env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(kind, { NODE_ENV: 'production', ...env });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems('gateway', { PUBLIC_BASE_URL: 'https://provisioning.example.test' })).toEqual([
      expect.stringMatching(/^LINK_SIGNING_KEY: is required/),
      expect.stringMatching(/^PAYLOAD_ENCRYPTION_KEY: is required/),
      expect.stringMatching(/^GATEWAY_API_TOKENS: is required in production/),
    ]);
    const { NOTIFY_SIGNING_SECRET: _unused, ...withoutNotify } = productionSecrets;
    expect(problems('worker', { ...withoutNotify, ...productionCyclr })).toEqual([
      expect.stringMatching(/^NOTIFY_SIGNING_SECRET: is required/),
    ]);
    // One secret, one purpose: the same value in two roles is refused, naming both.
    expect(
      problems('gateway', { ...productionSecrets, GATEWAY_API_TOKENS: productionSecrets.NOTIFY_SIGNING_SECRET }),
    ).toEqual(['GATEWAY_API_TOKENS: reuses a secret of NOTIFY_SIGNING_SECRET; give each its own']);
  });

  test('outside production no secret stands in for another, and a bare LINK_SIGNING_KEY gets a key id', () => {
    const dev = loadConfig('worker', { NODE_ENV: 'development', ...productionCyclr });
    expect(dev.notifySigningSecret).not.toContain(dev.linkSigningKeys[0]!.secret);
    expect(dev.notifySigningSecret).toMatch(/^whsec_/);
    const bare = loadConfig('gateway', {
      NODE_ENV: 'development',
      LINK_SIGNING_KEY: 'a-bare-link-signing-secret-of-32-chars!',
    });
    expect(bare.linkSigningKeys).toEqual([{ id: 'default', secret: 'a-bare-link-signing-secret-of-32-chars!' }]);
    expect(() => loadConfig('gateway', { LINK_SIGNING_KEY: 'short-bare-secret' })).toThrow(
      /LINK_SIGNING_KEY must be "keyId:secret\[,keyId:secret...\]", or one secret of at least 32 characters/,
    );
    expect(() => loadConfig('worker', { NOTIFY_SIGNING_SECRET: 'whsec_not base64!!' })).toThrow(
      /NOTIFY_SIGNING_SECRET: after "whsec_"/,
    );
  });

  test('the gateway process started with NODE_ENV=production and no GATEWAY_API_TOKENS exits with one line naming it', async () => {
    const { GATEWAY_API_TOKENS: _a, GATEWAY_READ_TOKENS: _b, ...env } = process.env;
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/gateway/main.ts'],
        { env: { ...env, NODE_ENV: 'production', ...productionSecrets, GATEWAY_API_TOKENS: '' }, timeout: 30_000 },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^config error: GATEWAY_API_TOKENS: is required in production/),
    ]);
  });
});

test('the OpenAPI document declares the bearer scheme: public routes need none, every other operation needs it', async () => {
  const doc = (await (await stack.call('/openapi.json')).json()) as {
    security: unknown[];
    components: { securitySchemes: Record<string, unknown> };
    paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>>;
  };
  expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  expect(doc.security).toEqual([{ bearerAuth: [] }]);
  const publicPaths = ['/connect/{token}', '/connect/{token}/status', '/oauth/callback', '/healthz', '/readyz'];
  // Browser areas that guard themselves (the console's cookie session) or hold no data (static assets).
  const browserArea = (path: string) =>
    path.startsWith('/assets/') ||
    path === '/console' ||
    path.startsWith('/console/') ||
    ['/favicon.ico', '/apple-touch-icon.png', '/apple-touch-icon-precomposed.png'].includes(path);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (publicPaths.includes(path) || browserArea(path))
        expect([method, path, op.security]).toEqual([method, path, []]);
      else {
        expect([method, path, op.security]).toEqual([method, path, [{ bearerAuth: [] }]]);
        expect(Object.keys(op.responses)).toContain('401');
      }
    }
  }
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(publicPaths));
});

test("the local stack's open codec (development only) decodes without a token; every other route still needs one", async () => {
  const probe = testEnv({ taskQueue: 'unused', simulatorUrl: 'http://127.0.0.1:9' });
  const open = await startGateway(stack.client, testEnv(stack.options), undefined, {
    codec: codecOptionsFromEnv(probe),
    codecUnauthenticated: true,
  });
  try {
    const decoded = await fetch(`${open.url}/codec/decode`, { method: 'POST', headers: json, body: '{}' });
    expect([decoded.status, await decoded.json()]).toEqual([200, { payloads: [] }]);
    expect((await fetch(`${open.url}/provisionings/${id(target)}`)).status).toBe(401);
  } finally {
    await open.app.close();
  }
});
