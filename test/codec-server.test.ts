/**
 * The remote codec endpoint the Temporal UI and CLI call: a payload our client encrypted decodes to the original,
 * only with the bearer token, with CORS for the UI's origin; `npm run codec-server` serves it standalone.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { DefaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec } from '../src/codec/encryption-codec.js';
import { CODEC_PREFIX, codecOptionsFromEnv, codecRoutes } from '../src/codec/server.js';
import { loadConfig } from '../src/config.js';
import { startService } from '../dev/local-stack/processes.js';
import { TEST_PAYLOAD_KEY } from './support/harness.js';

const TOKEN = 'codec-test-token-0123456789';
const UI = 'http://localhost:8233';
const keys = loadConfig('codec', { PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY }).payloadKeys;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = Fastify();
  // Mounted with fastify's own prefix, as the gateway and the standalone server mount it.
  await app.register(codecRoutes, { keys, authTokens: [TOKEN], corsOrigins: [UI], prefix: CODEC_PREFIX });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => app.close());

interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): unknown;
}

/** A real HTTP request, as the UI's browser or the Temporal CLI sends it. */
async function call(o: {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: unknown;
}): Promise<Reply> {
  const res = await fetch(base + o.url, {
    method: o.method,
    headers: { ...(o.payload !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
    body: o.payload !== undefined ? JSON.stringify(o.payload) : undefined,
  });
  const body = await res.text();
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body, json: () => JSON.parse(body) };
}

const converter = new DefaultPayloadConverter();
const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('base64');

async function encryptedPayload(value: unknown) {
  const [p] = await new EncryptionCodec(keys).encode([converter.toPayload(value)]);
  return {
    metadata: Object.fromEntries(Object.entries(p!.metadata!).map(([k, v]) => [k, b64(v)])),
    data: b64(p!.data),
  };
}

test('decode turns an encrypted payload back into the JSON the UI shows, with CORS for the UI', async () => {
  const request = { accountId: 'acme-1', connector: { name: 'HubSpot' } };
  const res = await call({
    method: 'POST',
    url: '/codec/decode',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      origin: UI,
      'x-namespace': 'default',
      'content-type': 'application/json',
    },
    payload: { payloads: [await encryptedPayload(request)] },
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['access-control-allow-origin']).toBe(UI);
  const [decoded] = (res.json() as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
  expect(Buffer.from(decoded!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
  expect(JSON.parse(Buffer.from(decoded!.data, 'base64').toString())).toEqual(request);
});

test('encode then decode round-trips, and encode hides the plain text', async () => {
  const plain = {
    metadata: { encoding: b64(Buffer.from('json/plain')) },
    data: b64(Buffer.from('{"authValue":"s3cret"}')),
  };
  const headers = { authorization: `Bearer ${TOKEN}` };
  const enc = await call({ method: 'POST', url: '/codec/encode', headers, payload: { payloads: [plain] } });
  expect(enc.statusCode).toBe(200);
  const encoded = (enc.json() as { payloads: { data: string }[] }).payloads;
  expect(Buffer.from(encoded[0]!.data, 'base64').toString('latin1')).not.toContain('s3cret');
  const dec = await call({ method: 'POST', url: '/codec/decode', headers, payload: { payloads: encoded } });
  expect((dec.json() as { payloads: unknown[] }).payloads).toEqual([plain]);
});

test('refuses without the token, answers the preflight, and explains bad bodies and unknown keys', async () => {
  const payload = { payloads: [await encryptedPayload('x')] };
  const noToken = await call({ method: 'POST', url: '/codec/decode', payload });
  expect(noToken.statusCode).toBe(401);
  const wrong = await call({
    method: 'POST',
    url: '/codec/decode',
    headers: { authorization: 'Bearer nope' },
    payload,
  });
  expect(wrong.statusCode).toBe(401);

  const preflight = await call({
    method: 'OPTIONS',
    url: '/codec/decode',
    headers: { origin: UI, 'access-control-request-method': 'POST' },
  });
  expect(preflight.statusCode).toBe(204);
  expect(preflight.headers['access-control-allow-headers']).toContain('x-namespace');
  const otherOrigin = await call({
    method: 'OPTIONS',
    url: '/codec/decode',
    headers: { origin: 'https://evil.example' },
  });
  expect(otherOrigin.headers['access-control-allow-origin']).toBeUndefined();

  const headers = { authorization: `Bearer ${TOKEN}` };
  const bad = await call({
    method: 'POST',
    url: '/codec/decode',
    headers,
    payload: { payloads: [{ data: 'not base64!' }] },
  });
  expect(bad.statusCode).toBe(400);
  expect(bad.json()).toMatchObject({ message: expect.stringContaining('payloads.0.data: must be base64') });

  const otherKey = loadConfig('codec', {
    NODE_ENV: 'development',
    PAYLOAD_ENCRYPTION_KEY: 'old:some-other-secret-0123456789',
  }).payloadKeys;
  const [foreign] = await new EncryptionCodec(otherKey).encode([converter.toPayload('x')]);
  const unknownKey = await call({
    method: 'POST',
    url: '/codec/decode',
    headers,
    payload: {
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(foreign!.metadata!).map(([k, v]) => [k, b64(v)])),
          data: b64(foreign!.data),
        },
      ],
    },
  });
  expect(unknownKey.statusCode).toBe(422);
  expect(unknownKey.json()).toMatchObject({ message: expect.stringContaining('key "old"') });
  expect(unknownKey.body).not.toContain('some-other-secret');
});

/**
 * A codec of its own (its own failure counts), called over HTTP as a given client: its fastify trusts the loopback
 * proxy's X-Forwarded-For, as a deployment behind a proxy would (the count is per request.ip, whatever sets it).
 */
async function codecAs(options: { authTokens?: string[]; corsOrigins?: string[] } = {}) {
  const own = Fastify({ trustProxy: '127.0.0.1' });
  await own.register(codecRoutes, {
    keys,
    authTokens: options.authTokens ?? [TOKEN],
    corsOrigins: options.corsOrigins ?? [UI],
    prefix: CODEC_PREFIX,
  });
  const url = `${await own.listen({ host: '127.0.0.1', port: 0 })}/codec/decode`;
  const decode = (client: string, authorization?: string) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': client,
        ...(authorization !== undefined ? { authorization } : {}),
      },
      body: JSON.stringify({ payloads: [] }),
    });
  const preflight = (origin: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
  return { app: own, decode, preflight };
}

test('a token is compared whole: a prefix, a longer one or one of the same length that differs is refused', async () => {
  const second = 'codec-rotated-token-0123456789';
  const codec = await codecAs({ authTokens: [TOKEN, second] });
  try {
    const status = async (token: string) => (await codec.decode('192.0.2.1', `Bearer ${token}`)).status;
    expect(await status(TOKEN.slice(0, -1))).toBe(401);
    expect(await status(`${TOKEN}0`)).toBe(401);
    expect(await status(`${TOKEN.slice(0, -1)}X`)).toBe(401);
    expect(await status('')).toBe(401);
    // Every accepted token is compared: the second of a rotation is as good as the first.
    expect(await status(TOKEN)).toBe(200);
    expect(await status(second)).toBe(200);
  } finally {
    await codec.app.close();
  }
});

test('20 wrong tokens a minute from one client: the 21st is a 429 with Retry-After; a valid token is still served', async () => {
  const codec = await codecAs();
  try {
    const guesser = '203.0.113.5';
    for (let i = 0; i < 20; i++) expect((await codec.decode(guesser, `Bearer wrong-token-${i}`)).status).toBe(401);
    const locked = await codec.decode(guesser, 'Bearer wrong-token-20');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await locked.json()).toMatchObject({
      error: 'TooManyRequests',
      message: expect.stringMatching(/too many failed token checks from your address; try again in \d+s/),
    });
    // As at the gateway: a valid token is never locked out, not even from the client that guessed; its wrong ones
    // stay 429 (a malformed header is a wrong one too) until the minute ends.
    expect((await codec.decode(guesser, `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await codec.decode(guesser, 'Basic d3Jvbmc=')).status).toBe(429);
    // Another client is not touched; no Authorization header at all is a 401 that counts for nothing.
    expect((await codec.decode('198.51.100.7', 'Bearer wrong-token')).status).toBe(401);
    for (let i = 0; i < 25; i++) expect((await codec.decode('198.51.100.8')).status).toBe(401);
    expect((await codec.decode('198.51.100.8', 'Bearer wrong-token')).status).toBe(401);
  } finally {
    await codec.app.close();
  }
});

test('IPv6 clients count per /64: hopping addresses inside it does not reset the count', async () => {
  const codec = await codecAs();
  try {
    for (let i = 0; i < 20; i++) {
      expect((await codec.decode(`2001:db8:aa:1::${i + 1}`, 'Bearer wrong-token')).status).toBe(401);
    }
    expect((await codec.decode('2001:db8:aa:1:ffff::9', 'Bearer wrong-token')).status).toBe(429);
    expect((await codec.decode('2001:db8:aa:2::1', 'Bearer wrong-token')).status).toBe(401);
  } finally {
    await codec.app.close();
  }
});

test('mounted without tokens (the gateway authenticates first) it counts nothing', async () => {
  const codec = await codecAs({ authTokens: [] });
  try {
    for (let i = 0; i < 22; i++) expect((await codec.decode('203.0.113.9', 'Bearer anything')).status).toBe(200);
  } finally {
    await codec.app.close();
  }
});

test('CORS: listed origins only, with credentials; "*" answers any origin without credentials, and not in production', async () => {
  const listed = await codecAs();
  try {
    const ui = await listed.preflight(UI);
    expect(ui.headers.get('access-control-allow-origin')).toBe(UI);
    expect(ui.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await listed.preflight('https://evil.example');
    // Without an allowed origin the browser hands the page nothing (the credentials flag alone grants nothing).
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  } finally {
    await listed.app.close();
  }

  const dev = codecOptionsFromEnv({ NODE_ENV: 'development', CODEC_CORS_ORIGINS: '*' });
  const any = await codecAs({ corsOrigins: [...dev.corsOrigins] });
  try {
    const res = await any.preflight('https://evil.example');
    // A literal "*": browsers then refuse to hand a credentialed answer (a proxy's session cookie) to the page.
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  } finally {
    await any.app.close();
  }

  const production = {
    NODE_ENV: 'production',
    PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY,
    CODEC_AUTH_TOKEN: TOKEN,
  };
  const refusal = /CODEC_CORS_ORIGINS: "\*" is refused in production .*list the Temporal UI's origin\(s\)/;
  expect(() => codecOptionsFromEnv({ ...production, CODEC_CORS_ORIGINS: '*' })).toThrow(refusal);
  expect(() => codecOptionsFromEnv({ ...production, CODEC_CORS_ORIGINS: `${UI},*` })).toThrow(refusal);
  // The gateway's /codec reads the same variable.
  expect(() => loadConfig('gateway', { NODE_ENV: 'production', CODEC_CORS_ORIGINS: '*' })).toThrow(refusal);
  expect(codecOptionsFromEnv({ ...production, CODEC_CORS_ORIGINS: UI }).corsOrigins).toEqual([UI]);
});

test('production refuses to serve without a token; a short token is refused', () => {
  expect(() =>
    codecOptionsFromEnv({
      NODE_ENV: 'production',
      LINK_SIGNING_KEY: 'k:0123456789abcdef0',
      PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY,
    }),
  ).toThrow(/CODEC_AUTH_TOKEN: is required in production/);
  expect(() => codecOptionsFromEnv({ NODE_ENV: 'development', CODEC_AUTH_TOKEN: 'short' })).toThrow(
    /at least 16 characters/,
  );
});

test('npm run codec-server serves the same endpoint standalone', async () => {
  const server = startService({
    name: 'codec',
    script: 'src/codec/server.ts',
    env: {
      CODEC_PORT: '0',
      CODEC_HOST: '127.0.0.1',
      CODEC_AUTH_TOKEN: TOKEN,
      PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY,
    },
  });
  try {
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+\/codec)/);
    const res = await fetch(`${url}/decode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [await encryptedPayload({ ok: true })] }),
    });
    expect(res.status).toBe(200);
    const [p] = ((await res.json()) as { payloads: { data: string }[] }).payloads;
    expect(JSON.parse(Buffer.from(p!.data, 'base64').toString())).toEqual({ ok: true });
    expect(server.output()).not.toContain(TOKEN);
  } finally {
    await server.kill();
  }
});
