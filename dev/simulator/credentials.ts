/**
 * What the simulator hands out to prove who is calling: partner tokens (`/oauth/token`), single-use sign-in tokens
 * for the connectorauth page, and the one-time nonces of its consent forms. Each lives until it expires.
 */
import { randomBytes } from 'node:crypto';
import { CyclrError, type ConsentRequest } from './records.js';

interface PartnerToken {
  expiresAt: number;
  /** Set for account-restricted tokens (`scope=account:{id}`). */
  account?: string;
}

interface SignInTokenRecord {
  accountId: string;
  username: string;
  expiresAt: number;
}

const CONSENT_FORM_LIFETIME_MS = 30 * 60_000;

/** A token that always contains `+`, `/` and `=`, so a client that forgets to URL-encode it fails visibly. */
function urlUnsafeToken(): string {
  for (;;) {
    const t = randomBytes(32).toString('base64'); // 32 bytes => 44 chars ending in one '='
    if (t.includes('+') && t.includes('/')) return t;
  }
}

export class Credentials {
  private readonly tokens = new Map<string, PartnerToken>();
  private readonly signInTokens = new Map<string, SignInTokenRecord>();
  private readonly consentForms = new Map<string, ConsentRequest>();
  private mintsSincePrune = 0;

  constructor(private readonly options: { tokenLifetimeSeconds: number; signInTokenLifetimeMs: number }) {}

  // ---- partner tokens ----

  issueToken(account?: string): { token: string; issuedAt: Date; expiresAt: Date } {
    const issuedAt = new Date();
    const expiresAt = new Date(issuedAt.getTime() + this.options.tokenLifetimeSeconds * 1000);
    const token = randomBytes(48).toString('base64url');
    this.tokens.set(token, { expiresAt: expiresAt.getTime(), account });
    this.pruneSometimes();
    return { token, issuedAt, expiresAt };
  }

  /** The token's record if it is live; expired tokens are forgotten. */
  checkToken(token: string): PartnerToken | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    if (t.expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return t;
  }

  revokeTokens(): number {
    const n = this.tokens.size;
    this.tokens.clear();
    return n;
  }

  // ---- sign-in tokens and consent forms ----

  /** For a user the caller has made sure exists in the account. */
  mintSignInToken(accountId: string, username: string): { Token: string; ExpiresAtUtc: string } {
    const token = urlUnsafeToken();
    const expiresAt = Date.now() + this.options.signInTokenLifetimeMs;
    this.signInTokens.set(token, { accountId, username, expiresAt });
    this.pruneSometimes();
    return { Token: token, ExpiresAtUtc: new Date(expiresAt).toISOString() };
  }

  /** Burns the sign-in token (single use, whatever the outcome); an unknown or expired one is a CyclrError(403). */
  takeSignInToken(token: string): SignInTokenRecord {
    const rec = this.signInTokens.get(token);
    this.signInTokens.delete(token);
    if (!rec || rec.expiresAt <= Date.now()) throw new CyclrError(403, 'Access is denied.');
    return rec;
  }

  /** Drops the sign-in tokens of a deleted account. */
  forgetAccount(accountId: string): void {
    for (const [token, rec] of this.signInTokens) if (rec.accountId === accountId) this.signInTokens.delete(token);
  }

  openConsentForm(request: Omit<ConsentRequest, 'expiresAt'>): string {
    const nonce = randomBytes(24).toString('base64url');
    this.consentForms.set(nonce, { ...request, expiresAt: Date.now() + CONSENT_FORM_LIFETIME_MS });
    return nonce;
  }

  /** Single use: a second submit of the same form is refused. */
  takeConsentForm(nonce: string): ConsentRequest {
    const rec = this.consentForms.get(nonce);
    this.consentForms.delete(nonce);
    if (!rec || rec.expiresAt <= Date.now()) throw new CyclrError(403, 'Access is denied.');
    return rec;
  }

  private pruneSometimes(): void {
    this.mintsSincePrune += 1;
    if (this.mintsSincePrune < 1000) return;
    this.mintsSincePrune = 0;
    const now = Date.now();
    for (const [k, v] of this.signInTokens) if (v.expiresAt <= now) this.signInTokens.delete(k);
    for (const [k, v] of this.consentForms) if (v.expiresAt <= now) this.consentForms.delete(k);
    for (const [k, v] of this.tokens) if (v.expiresAt <= now) this.tokens.delete(k);
  }
}
