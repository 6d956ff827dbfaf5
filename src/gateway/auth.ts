/**
 * Who a gateway bearer token is: `write` (GATEWAY_API_TOKENS) may do everything, `read` (GATEWAY_READ_TOKENS) may
 * only read. Shared by the API's token check and the console's sign-in, so both accept exactly the same tokens.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { GatewayTokens } from '../config.js';

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
