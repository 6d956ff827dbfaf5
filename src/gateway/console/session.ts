/**
 * The console's sign-in session: a gateway token is exchanged once for a cookie that names only the scope it
 * granted, when it expires, and a random session id, signed (HMAC-SHA256, by @fastify/cookie) with a key of the
 * console's own. The token itself is never stored or echoed.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
}

export interface SessionKeys {
  /** Signs the session and CSRF cookies. */
  cookie: string;
  /** Keys the CSRF tokens' HMAC (derived, so no key does two jobs). */
  csrf: Buffer;
  /** Signs list page tokens with the filter they belong to. */
  paging: Buffer;
}

/** CONSOLE_SESSION_KEY when set; otherwise a random key per process (sessions end when the gateway restarts). */
export function sessionKeys(configured: string | undefined): SessionKeys {
  const root = configured ? Buffer.from(configured) : randomBytes(32);
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), info, 32));
  return {
    cookie: derive('console session cookie').toString('base64url'),
    csrf: derive('console csrf'),
    paging: derive('console page token'),
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

export function newSession(scope: Scope, now = Date.now()): ConsoleSession {
  return { scope, expiresAt: now + SESSION_TTL_MS, id: randomBytes(16).toString('base64url') };
}

export function writeSession(reply: FastifyReply, session: ConsoleSession, secure: boolean): void {
  const value = `${session.scope}.${session.expiresAt}.${session.id}`;
  reply.setCookie(SESSION_COOKIE, value, cookieOptions(secure, Math.floor(SESSION_TTL_MS / 1000)));
}

export function clearSession(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(secure));
  reply.clearCookie(CSRF_COOKIE, cookieOptions(secure));
}

/** The request's session, if its cookie is present, correctly signed and not expired. */
export function readSession(request: FastifyRequest, now = Date.now()): ConsoleSession | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || !unsigned.value) return undefined;
  const [scope, expires, id] = unsigned.value.split('.');
  const expiresAt = Number(expires);
  if ((scope !== 'read' && scope !== 'write') || !id || !Number.isFinite(expiresAt) || expiresAt <= now) {
    return undefined;
  }
  return { scope, expiresAt, id };
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
