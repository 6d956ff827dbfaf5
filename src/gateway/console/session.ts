/**
 * The console's sign-in session: a gateway token is exchanged once for a cookie that names the scope it granted,
 * when it expires, a random session id and the token's fingerprint (an HMAC of it under a key of the console's own),
 * signed (HMAC-SHA256, by @fastify/cookie). The token itself is never stored or echoed. A session whose token is no
 * longer configured is no session: removing a leaked token ends every session it opened.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayTokens } from '../../config.js';
import type { Scope } from '../auth.js';

export const SESSION_COOKIE = 'console_session';
export const CSRF_COOKIE = 'console_csrf';
/** A working day; signing in again is cheap, and a stolen cookie dies by itself. */
export const SESSION_TTL_MS = 8 * 3_600_000;
const SIGNED_OUT = 'signed-out';

export interface ConsoleSession {
  scope: Scope;
  expiresAt: number;
  /** Random per sign-in: CSRF tokens are bound to it, so a token from one session is useless in another. */
  id: string;
  /** The fingerprint of the token that opened it. */
  token: string;
  /** What the console and the log call that token, e.g. "write token 3f9a2c1b" (never the token). */
  tokenName: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session of the request (console routes only): signed, unexpired, its token still configured. */
    consoleSession?: ConsoleSession;
  }
}

/** The configured tokens by fingerprint: the scope each grants and the name it is shown by. */
export type KnownTokens = ReadonlyMap<string, { scope: Scope; name: string }>;

/** An HMAC of the token (128 bits): names it in a cookie without revealing it. */
export function tokenFingerprint(key: Buffer, token: string): string {
  return createHmac('sha256', key).update(token).digest('base64url').slice(0, 22);
}

/**
 * Names are stable while CONSOLE_SESSION_KEY is (they are made from the fingerprint), so support can tell from the
 * log which token acted, and which to remove.
 */
export function knownTokens(key: Buffer, tokens: GatewayTokens): KnownTokens {
  const known = new Map<string, { scope: Scope; name: string }>();
  const add = (scope: Scope, token: string) => {
    const fingerprint = tokenFingerprint(key, token);
    const hex = Buffer.from(fingerprint, 'base64url').subarray(0, 4).toString('hex');
    if (!known.has(fingerprint) || scope === 'write') known.set(fingerprint, { scope, name: `${scope} token ${hex}` });
  };
  for (const t of tokens.read) add('read', t);
  for (const t of tokens.write) add('write', t);
  return known;
}

/** The console's keys, and each configured token's name: the console and the API's history records use both. */
export interface GatewayTokenNames {
  keys: SessionKeys;
  known: KnownTokens;
  /** The name of a configured token (e.g. "write token 1a2b3c4d"), undefined for any other. */
  nameOf(token: string): string | undefined;
}

export function gatewayTokenNames(sessionKey: string | undefined, tokens: GatewayTokens): GatewayTokenNames {
  const keys = sessionKeys(sessionKey);
  const known = knownTokens(keys.fingerprint, tokens);
  return { keys, known, nameOf: (token) => known.get(tokenFingerprint(keys.fingerprint, token))?.name };
}

export interface SessionKeys {
  /** Signs the session and CSRF cookies. */
  cookie: string;
  /** Keys the CSRF tokens' HMAC (derived, so no key does two jobs). */
  csrf: Buffer;
  /** Signs list page tokens with the filter they belong to. */
  paging: Buffer;
  /** Keys the fingerprints of the tokens sessions were opened with. */
  fingerprint: Buffer;
}

/** CONSOLE_SESSION_KEY when set; otherwise a random key per process (sessions end when the gateway restarts). */
export function sessionKeys(configured: string | undefined): SessionKeys {
  const root = configured ? Buffer.from(configured) : randomBytes(32);
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), info, 32));
  return {
    cookie: derive('console session cookie').toString('base64url'),
    csrf: derive('console csrf'),
    paging: derive('console page token'),
    fingerprint: derive('console token fingerprint'),
  };
}

export function cookieOptions(secure: boolean, maxAgeSeconds?: number) {
  return {
    path: '/console',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure,
    signed: true,
    ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}),
  };
}

/** What CSRF tokens are bound to: the session's id, or one fixed value before sign-in. */
export function csrfUserInfo(session: ConsoleSession | undefined): string {
  return session?.id ?? SIGNED_OUT;
}

export function newSession(
  scope: Scope,
  token: { fingerprint: string; name: string },
  now = Date.now(),
): ConsoleSession {
  return {
    scope,
    expiresAt: now + SESSION_TTL_MS,
    id: randomBytes(16).toString('base64url'),
    token: token.fingerprint,
    tokenName: token.name,
  };
}

export function writeSession(reply: FastifyReply, session: ConsoleSession, secure: boolean): void {
  const value = `${session.scope}.${session.expiresAt}.${session.id}.${session.token}`;
  reply.setCookie(SESSION_COOKIE, value, cookieOptions(secure, Math.floor(SESSION_TTL_MS / 1000)));
}

export function clearSession(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(secure));
  reply.clearCookie(CSRF_COOKIE, cookieOptions(secure));
}

/**
 * The request's session, if its cookie is present, correctly signed, not expired, and opened with a token that is
 * still configured with that scope.
 */
export function readSession(request: FastifyRequest, known: KnownTokens, now = Date.now()): ConsoleSession | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || !unsigned.value) return undefined;
  const [scope, expires, id, token] = unsigned.value.split('.');
  const expiresAt = Number(expires);
  if ((scope !== 'read' && scope !== 'write') || !id || !Number.isFinite(expiresAt) || expiresAt <= now) {
    return undefined;
  }
  const opener = token ? known.get(token) : undefined;
  if (!opener || opener.scope !== scope) return undefined;
  return { scope, expiresAt, id, token: token!, tokenName: opener.name };
}

/**
 * A "next page" link carries Temporal's page token signed together with the filter it continues: a token that was
 * altered, or is pasted onto another filter, is refused here at once (the server would spend many seconds on it).
 */
export function signPage(key: Buffer, filter: string, token: string): string {
  return `${token}.${createHmac('sha256', key).update(`${filter}\n${token}`).digest('base64url')}`;
}

/** The page token, if `page` was signed for this filter; undefined otherwise. */
export function verifyPage(key: Buffer, filter: string, page: string): string | undefined {
  const dot = page.lastIndexOf('.');
  if (dot < 1) return undefined;
  const token = page.slice(0, dot);
  const expected = Buffer.from(signPage(key, filter, token).slice(dot + 1));
  const given = Buffer.from(page.slice(dot + 1));
  return given.length === expected.length && timingSafeEqual(given, expected) ? token : undefined;
}
