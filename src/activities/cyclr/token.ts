/**
 * The partner access token: fetched by client credentials, cached per client instance, renewed early, and fetched
 * once however many callers ask at the same moment.
 */
import type { Got } from 'got';
import { badResponseFailure, httpFailure, networkFailure, tokenRefusedFailure, type CredentialHint } from './errors.js';

export const TOKEN_ENDPOINT = 'POST /oauth/token';
const ONE_DAY_MS = 86_400_000;
// Used only when Cyclr omits expires_in; a 401 would renew it anyway.
const FALLBACK_LIFETIME_S = 3600;

export interface TokenSource {
  readonly credentialHint: CredentialHint;
  /** False for a fixed access token: a 401 cannot be cured by asking again. */
  readonly renewable: boolean;
  get(): Promise<string>;
  /** Drops `token` if it is still the cached one, so the next get() fetches a fresh token. */
  invalidate(token: string): void;
  /** Every secret this source knows (credentials and tokens), for scrubbing. */
  secrets(): string[];
}

export class FixedToken implements TokenSource {
  readonly credentialHint = 'access-token' as const;
  readonly renewable = false;
  constructor(private readonly token: string) {}
  get(): Promise<string> {
    return Promise.resolve(this.token);
  }
  invalidate(): void {}
  secrets(): string[] {
    return [this.token];
  }
}

export interface ClientCredentialsOptions {
  http: Got;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  report: (endpoint: string, method: string, status: number | 'network-error', startedAt: number) => void;
  /** Waits for a turn under the request rate: a token request is a Cyclr request like any other. */
  acquire?: () => Promise<void>;
  now?: () => number;
}

export class ClientCredentialsToken implements TokenSource {
  readonly credentialHint = 'client-credentials' as const;
  readonly renewable = true;
  private current?: { token: string; renewAt: number };
  private pending?: Promise<string>;
  // Tokens we have held: a stale one may still be echoed in some error body.
  private readonly seen = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: ClientCredentialsOptions) {
    this.now = options.now ?? Date.now;
  }

  get(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return Promise.resolve(this.current.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  secrets(): string[] {
    return [this.options.clientSecret, ...this.seen];
  }

  private async fetch(): Promise<string> {
    const { http, apiUrl, clientId, clientSecret, timeoutMs, report, acquire } = this.options;
    await acquire?.();
    const startedAt = this.now();
    let response;
    try {
      response = await http.post(`${apiUrl}/oauth/token`, {
        // Form fields in the body, never the query string: the secret must not land in access logs.
        form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
        headers: { accept: 'application/json' },
      });
    } catch (err) {
      report(TOKEN_ENDPOINT, 'POST', 'network-error', startedAt);
      throw networkFailure(TOKEN_ENDPOINT, err, timeoutMs);
    }
    report(TOKEN_ENDPOINT, 'POST', response.statusCode, startedAt);
    const status = response.statusCode;
    const body = typeof response.body === 'string' ? response.body : String(response.body);
    if (status === 400 || status === 401 || status === 403) {
      throw tokenRefusedFailure({ endpoint: TOKEN_ENDPOINT, status, body, secrets: this.secrets() });
    }
    if (status < 200 || status >= 300) {
      throw httpFailure({
        endpoint: TOKEN_ENDPOINT,
        status,
        body,
        headers: response.headers,
        secrets: this.secrets(),
        credentialHint: this.credentialHint,
      });
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      throw badResponseFailure(TOKEN_ENDPOINT, status, 'a body that is not JSON');
    }
    if (typeof parsed?.access_token !== 'string' || !parsed.access_token) {
      throw badResponseFailure(TOKEN_ENDPOINT, status, 'no access_token');
    }
    const token = parsed.access_token;
    const lifetimeS = Number(parsed.expires_in);
    const lifetimeMs = (Number.isFinite(lifetimeS) && lifetimeS > 0 ? lifetimeS : FALLBACK_LIFETIME_S) * 1000;
    // Renew once less than 10% of the lifetime (or one day, whichever is smaller) remains.
    const margin = Math.min(lifetimeMs * 0.1, ONE_DAY_MS);
    this.seen.add(token);
    if (this.seen.size > 8) this.seen.delete(this.seen.values().next().value as string);
    this.current = { token, renewAt: startedAt + lifetimeMs - margin };
    return token;
  }
}
