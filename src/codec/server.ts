/**
 * The remote codec endpoint, so the Temporal Web UI and CLI can show our encrypted payloads:
 * `POST /codec/encode` and `POST /codec/decode` take and return `{ payloads: [{ metadata, data }] }` with base64
 * bytes (Temporal's remote codec protocol). Bearer-token authenticated, CORS for the UI's origin. Standalone, failed
 * token checks are limited per client as the gateway limits its own (src/gateway/auth.ts, which the layers keep this
 * file from importing).
 *
 * `codecRoutes` is a fastify plugin serving `/encode` and `/decode`; mount it with fastify's own `prefix`
 * (`app.register(codecRoutes, { ...options, prefix: CODEC_PREFIX })`), as the gateway and `npm run codec-server` do.
 * Point the UI at it with TEMPORAL_CODEC_ENDPOINT=https://host/codec, the CLI with
 * `temporal workflow show --codec-endpoint https://host/codec --codec-auth "Bearer $CODEC_AUTH_TOKEN"` (the gateway's
 * /codec takes a gateway token instead: `--codec-auth "Bearer $GATEWAY_TOKEN"`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Payload } from '@temporalio/common';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { loadConfig, loadConfigOrExit, type CodecConfig, type Key } from '../config.js';
import { createLogger, type JsonLogger } from '../observability/logger.js';
import { EncryptionCodec } from './encryption-codec.js';

export interface CodecServerOptions {
  /** PAYLOAD_ENCRYPTION_KEY: the first encrypts, all decrypt. */
  keys: readonly Key[];
  /** Accepted bearer tokens (CODEC_AUTH_TOKEN, comma-separated for rotation); empty: no authentication here (the
   * gateway mounts it so: its own check, with the gateway's tokens, runs before). */
  authTokens: readonly string[];
  /** Wrong tokens per client a minute before they are answered 429 (with authTokens only); default 20, as the
   * gateway's GATEWAY_AUTH_FAILURE_LIMIT. */
  authFailuresPerMinute?: number;
  /** Browser origins allowed to call it (the Temporal UI's), e.g. http://localhost:8233. `*` allows any, without
   * credentials (the config refuses it in production). */
  corsOrigins: readonly string[];
  logger?: JsonLogger;
}

/** Where the gateway and the standalone server mount the plugin; the UI and CLI append /encode and /decode. */
export const CODEC_PREFIX = '/codec';

/** Temporal's JSON form of a Payload: bytes as base64. */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const bodySchema = z.object({
  // Protobuf JSON (the temporal CLI) leaves an empty list out: `{}` is no payloads.
  payloads: z
    .array(z.object({ metadata: z.record(base64).optional(), data: base64.optional() }).passthrough())
    .max(10_000)
    .default([]),
});

type JsonPayload = { metadata?: Record<string, string>; data?: string };

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Compared as SHA-256 digests (equal length always, so neither a token's content nor its length leaks by timing),
 * every accepted token every time. */
function tokenMatches(presented: string, accepted: readonly string[]): boolean {
  const given = sha256(presented);
  let match = false;
  for (const t of accepted) match = timingSafeEqual(given, sha256(t)) || match;
  return match;
}

/** Clients as the gateway counts them: an IPv6 /64 is one (its owner hands out addresses without end). */
const IPV6_CLIENT_PREFIX = 64;

/** Counts a wrong token against its client; answers the seconds left when the client is now over its limit. */
type FailureCount = (request: FastifyRequest) => Promise<number | undefined>;

async function failureCounter(app: FastifyInstance, perMinute: number): Promise<FailureCount> {
  await app.register(rateLimit, { global: false });
  const failed = app.createRateLimit({ ipv6Subnet: IPV6_CLIENT_PREFIX, timeWindow: 60_000, max: perMinute });
  return async (request) => {
    const r = await failed(request);
    return !r.isAllowed && r.isExceeded ? Math.max(1, r.ttlInSeconds) : undefined;
  };
}

/** No Authorization header counts for nothing (as at the gateway); any other header that is not ours is wrong. */
function tokenCheck(request: FastifyRequest, tokens: readonly string[]): 'ok' | 'missing' | 'wrong' {
  if (tokens.length === 0) return 'ok';
  const header = request.headers.authorization;
  if (!header) return 'missing';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match && tokenMatches(match[1]!.trim(), tokens) ? 'ok' : 'wrong';
}

/** A client past its limit, answered as the gateway answers it (`Retry-After`: the rest of its minute). */
function tooMany(reply: FastifyReply, seconds: number) {
  return reply
    .code(429)
    .header('retry-after', String(seconds))
    .send({
      error: 'TooManyRequests',
      message: `too many failed token checks from your address; try again in ${seconds}s`,
    });
}

/** A fastify plugin: `app.register(codecRoutes, { ...options, prefix: CODEC_PREFIX })`. */
export async function codecRoutes(app: FastifyInstance, options: CodecServerOptions): Promise<void> {
  const codec = new EncryptionCodec(options.keys);
  // The UI sends its session credentials and an X-Namespace header; only its origins may read the answers. Any
  // origin never with credentials: a page elsewhere must not read answers a proxy's session cookie earned.
  const anyOrigin = options.corsOrigins.includes('*');
  await app.register(cors, {
    origin: anyOrigin ? '*' : [...options.corsOrigins],
    credentials: !anyOrigin,
    methods: ['POST', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
    maxAge: 600,
  });

  // Standalone only: mounted on the gateway (no authTokens), the gateway's own check and limit run first.
  const countFailure =
    options.authTokens.length > 0 ? await failureCounter(app, options.authFailuresPerMinute ?? 20) : undefined;

  for (const action of ['encode', 'decode'] as const) {
    const url = `/${action}`;
    app.post(url, { bodyLimit: 16 * 1024 * 1024 }, async (request, reply) => {
      const auth = tokenCheck(request, options.authTokens);
      // A valid token is always served; past its limit a client's wrong tokens are answered 429 instead of 401.
      const lockedFor = auth === 'wrong' ? await countFailure?.(request) : undefined;
      if (lockedFor) return tooMany(reply, lockedFor);
      if (auth !== 'ok') {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'Unauthorized', message: 'send "Authorization: Bearer <CODEC_AUTH_TOKEN>"' });
      }
      const parsed = bodySchema.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return reply.code(400).send({
          error: 'BadRequest',
          message: `${issue.path.join('.') || 'body'}: ${issue.message}; send JSON {"payloads":[{"metadata":{...},"data":"<base64>"}]}`,
        });
      }
      const payloads = parsed.data.payloads.map(fromJson);
      try {
        const result = action === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
        return reply.send({ payloads: result.map(toJson) });
      } catch (err) {
        // The codec's messages name key ids, never key material.
        const message = err instanceof Error ? err.message : String(err);
        options.logger?.warn(`codec ${action} failed`, { error: message, namespace: request.headers['x-namespace'] });
        return reply.code(422).send({ error: 'CodecFailed', message });
      }
    });
  }
}

/** The standalone codec server's options from its configuration: PAYLOAD_ENCRYPTION_KEY, CODEC_AUTH_TOKEN,
 * CODEC_CORS_ORIGINS. (The gateway's /codec takes the gateway's tokens instead: one secret, one purpose.) */
export function codecOptions(config: Pick<CodecConfig, 'payloadKeys' | 'codec'>): CodecServerOptions {
  return { keys: config.payloadKeys, authTokens: config.codec.authTokens, corsOrigins: config.codec.corsOrigins };
}

/** The same, from an environment (tests, and checks of a deployment's environment). */
export function codecOptionsFromEnv(env: NodeJS.ProcessEnv): CodecServerOptions {
  return codecOptions(loadConfig('codec', env));
}

async function main(): Promise<void> {
  const config = loadConfigOrExit('codec');
  const logger = createLogger({ service: 'codec-server', ...config.log });
  const options: CodecServerOptions = { ...codecOptions(config), logger };
  const app = Fastify({ logger: false });
  await app.register(codecRoutes, { ...options, prefix: CODEC_PREFIX });
  const { host } = config.codec;
  await app.listen({ host, port: config.codec.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.codec.port;
  logger.info(`codec server listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${port}${CODEC_PREFIX}`, {
    authenticated: options.authTokens.length > 0,
    corsOrigins: options.corsOrigins,
  });
  if (options.authTokens.length === 0)
    logger.warn('codec server: no CODEC_AUTH_TOKEN; anyone who reaches it can decrypt payloads');
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    createLogger({ service: 'codec-server' }).error(
      `codec server failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(1);
  });
}
