/**
 * Who a gateway bearer token is: `write` (GATEWAY_API_TOKENS) may do everything, `read` (GATEWAY_READ_TOKENS) may
 * only read. Shared by the API's token check and the console's sign-in, so both accept exactly the same tokens.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayRateLimits, GatewayTokens } from '../config.js';

export type Scope = 'write' | 'read';

/** Compared as SHA-256 digests: equal length always, so neither a token's content nor its length leaks by timing. */
function sameToken(presented: Buffer, accepted: string): boolean {
  return timingSafeEqual(presented, createHash('sha256').update(accepted).digest());
}

/** The scope a presented token grants, or undefined for a missing or unknown one. Every token is compared. */
export function scopeOf(token: string | undefined, tokens: GatewayTokens): Scope | undefined {
  if (!token) return undefined;
  const digest = createHash('sha256').update(token).digest();
  let write = false;
  let read = false;
  for (const t of tokens.write) write = sameToken(digest, t) || write;
  for (const t of tokens.read) read = sameToken(digest, t) || read;
  return write ? 'write' : read ? 'read' : undefined;
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other scheme or shape. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([^\s]+)$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Icons browsers ask for on their own with every page (no token, no way to send one): answered without a check, so
 * that viewing pages never counts as failed token checks.
 */
export const BROWSER_ICONS = ['/favicon.ico', '/apple-touch-icon.png', '/apple-touch-icon-precomposed.png'];

/** Routes anyone may call: the browser's consent link and callback, its icons, and the health probes. */
const PUBLIC_EXACT = new Set(['/healthz', '/readyz', '/oauth/callback', '/console', ...BROWSER_ICONS]);
/** Areas that do their own checks (the console's sign-in and session) or hold no data (static browser files). */
const PUBLIC_PREFIXES = ['/connect/', '/console/', '/assets/'];

export function isPublicPath(path: string): boolean {
  return PUBLIC_EXACT.has(path) || PUBLIC_PREFIXES.some((p) => path.startsWith(p));
}

/** The codec's routes, and its CORS preflight (@fastify/cors answers OPTIONS on `/codec*`). */
function isCodecPath(path: string): boolean {
  return path.startsWith('/codec/') || path === '/codec*';
}

/**
 * What a request needs: GET and HEAD read, anything else writes. The codec's POSTs count as writes too: decoding
 * shows every payload in the clear, secrets such as authValue included, which is more than a read token may see.
 */
export function requiredScope(method: string): Scope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** Query parameters people put tokens in; any parameter whose value is an accepted token is refused too. */
const TOKEN_PARAMS = new Set(['access_token', 'token', 'api_key', 'apikey', 'bearer', 'authorization', 'auth']);

function tokenInQuery(query: unknown, tokens: GatewayTokens): boolean {
  if (!query || typeof query !== 'object') return false;
  return Object.entries(query as Record<string, unknown>).some(([key, value]) => {
    if (TOKEN_PARAMS.has(key.toLowerCase())) return true;
    const values = Array.isArray(value) ? value : [value];
    return values.some((v) => typeof v === 'string' && scopeOf(v, tokens) !== undefined);
  });
}

export interface GatewayAuthOptions {
  tokens: GatewayTokens;
  rateLimits: GatewayRateLimits;
  /** Development only: the local Web UI sends no token to /codec (CODEC_ALLOW_UNAUTHENTICATED=true). */
  codecUnauthenticated?: boolean;
  /** The name a configured token is shown and recorded by (never the token itself). */
  nameOf?: (token: string) => string | undefined;
}

/** Failed credential checks per client (the API's bearer check and the console's sign-in share one count). */
export interface AuthFailures {
  /** Counts a presented-but-wrong credential; answers the seconds left when the client is now over its limit. */
  count(request: FastifyRequest): Promise<number | undefined>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The scope of the request's valid bearer token; unset on public routes. */
    gatewayScope?: Scope;
    /** Who acts, for Temporal's history: the valid bearer token's name and "via the API"; unset on public routes. */
    gatewayActor?: string;
  }
  interface FastifyInstance {
    authFailures: AuthFailures;
  }
}

/**
 * Rate limits count clients, not connections: IPv4 by address, IPv6 by its /64 (one subscriber's network, which can
 * hand out addresses without end), and an IPv4-mapped IPv6 address as the IPv4 one. Behind proxies named in
 * GATEWAY_TRUST_PROXY, request.ip is the client that the nearest untrusted hop says it is.
 */
export const IPV6_CLIENT_PREFIX = 64;

function refuse(reply: FastifyReply, status: 400 | 401 | 403, error: string, message: string, challenge?: string) {
  if (status === 401) reply.header('www-authenticate', challenge ?? 'Bearer realm="gateway"');
  return reply.code(status).send({ error, message });
}

function tooMany(reply: FastifyReply, ttlSeconds: number, message: string) {
  return reply
    .code(429)
    .header('retry-after', String(Math.max(1, ttlSeconds)))
    .send({ error: 'TooManyRequests', message: `${message}; try again in ${Math.max(1, ttlSeconds)}s` });
}

/**
 * The gateway's front door, as one onRequest hook on the root instance (so it runs before any route, body parsing
 * included): public routes are rate limited per client; every other route needs a bearer token of the right scope.
 * A valid token is always served: only presented-but-wrong credentials count as failures, and a client past its
 * limit of failures has its wrong credentials answered 429 for the rest of the minute. A request with no credential
 * at all gets its 401 and counts for nothing (browsers ask for pages' icons and such without one).
 */
export async function registerGatewayAuth(app: FastifyInstance, options: GatewayAuthOptions): Promise<void> {
  await app.register(rateLimit, { global: false });
  const perClient = { ipv6Subnet: IPV6_CLIENT_PREFIX, timeWindow: 60_000 };
  const publicLimit = app.createRateLimit({ ...perClient, max: options.rateLimits.publicPerMinute });
  const failedChecks = app.createRateLimit({ ...perClient, max: options.rateLimits.authFailuresPerMinute });
  app.decorate('authFailures', {
    async count(request: FastifyRequest) {
      const r = await failedChecks(request);
      return !r.isAllowed && r.isExceeded ? Math.max(1, r.ttlInSeconds) : undefined;
    },
  } satisfies AuthFailures);
  const { tokens } = options;
  const tokenSources = 'a token from GATEWAY_API_TOKENS (or GATEWAY_READ_TOKENS for reads)';

  app.addHook('onRequest', async (request, reply) => {
    // The matched route decides (so "/connect/../provisionings" is whatever the router made of it); an unmatched
    // path is judged by its raw prefix, so an unknown /connect/... is a 404, not a request for a token.
    const path = request.routeOptions.url ?? request.url.split('?')[0]!;
    const codecOpen = isCodecPath(path) && (options.codecUnauthenticated || request.method === 'OPTIONS');
    if (isPublicPath(path) || codecOpen) {
      const limit = await publicLimit(request);
      if (!limit.isAllowed && limit.isExceeded) {
        return tooMany(reply, limit.ttlInSeconds, 'too many requests from your address');
      }
      return;
    }

    /** A wrong credential counts against the client; past the limit it is answered 429 instead of `refusal`. */
    const failed = async (refusal: () => FastifyReply) => {
      const lockedFor = await app.authFailures.count(request);
      return lockedFor ? tooMany(reply, lockedFor, 'too many failed token checks from your address') : refusal();
    };

    if (tokenInQuery(request.query, tokens)) {
      return failed(() =>
        refuse(
          reply,
          400,
          'TokenInUrl',
          'a token in the URL is refused (URLs end up in logs and browser history); send it as "Authorization: Bearer <token>" and replace the exposed token',
        ),
      );
    }
    const header = request.headers.authorization;
    if (!header) {
      return refuse(
        reply,
        401,
        'Unauthorized',
        `this route needs "Authorization: Bearer <token>" with ${tokenSources}`,
      );
    }
    const presented = bearerToken(header);
    if (!presented) {
      return failed(() =>
        refuse(
          reply,
          401,
          'Unauthorized',
          `the Authorization header must be "Bearer <token>" (one token, Bearer scheme) with ${tokenSources}`,
          'Bearer realm="gateway", error="invalid_request"',
        ),
      );
    }
    const scope = scopeOf(presented, tokens);
    if (!scope) {
      return failed(() =>
        refuse(
          reply,
          401,
          'Unauthorized',
          `the bearer token is not one this gateway accepts; use ${tokenSources}`,
          'Bearer realm="gateway", error="invalid_token"',
        ),
      );
    }
    if (scope === 'read' && requiredScope(request.method) === 'write') {
      return refuse(
        reply,
        403,
        'Forbidden',
        `this token may only read; ${request.method} ${path} needs a token from GATEWAY_API_TOKENS`,
      );
    }
    request.gatewayScope = scope;
    const name = options.nameOf?.(presented);
    if (name) request.gatewayActor = `${name} via the API`;
  });
}
