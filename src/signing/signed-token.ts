/**
 * Compact HMAC-signed tokens for consent links and callback state: `base64url(claims).base64url(hmac)`.
 * The claims carry the key id, so keys can be rotated without breaking links already sent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Key } from '../config.js';

export type TokenPurpose = 'connect' | 'callback';

export interface TokenClaims {
  /** Workflow id the token names. */
  wf: string;
  /** Consent link id (connect tokens): a newer link revokes older ones. */
  lid?: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

interface SignedClaims extends TokenClaims {
  p: TokenPurpose;
  kid: string;
}

export type VerifyResult =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'wrong-purpose' | 'expired' };

function mac(secret: string, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function signToken(purpose: TokenPurpose, claims: TokenClaims, keys: readonly Key[]): string {
  const key = keys[0];
  if (!key) throw new Error('no signing key configured');
  const body = Buffer.from(JSON.stringify({ ...claims, p: purpose, kid: key.id } satisfies SignedClaims)).toString(
    'base64url',
  );
  return `${body}.${mac(key.secret, body).toString('base64url')}`;
}

export function verifyToken(
  purpose: TokenPurpose,
  token: string,
  keys: readonly Key[],
  now = Date.now(),
): VerifyResult {
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
  let claims: SignedClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SignedClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof claims.wf !== 'string' ||
    typeof claims.exp !== 'number' ||
    // A connect token names its link, so a newer link revokes it; one without (never minted by us) is refused.
    (claims.p === 'connect' && (typeof claims.lid !== 'string' || claims.lid === ''))
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const key = keys.find((k) => k.id === claims.kid);
  if (!key) return { ok: false, reason: 'unknown-key' };
  const expected = mac(key.secret, body);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad-signature' };
  if (claims.p !== purpose) return { ok: false, reason: 'wrong-purpose' };
  if (claims.exp <= now) return { ok: false, reason: 'expired' };
  const { wf, lid, exp } = claims;
  return { ok: true, claims: { wf, lid, exp } };
}
