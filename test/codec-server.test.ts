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
