/** The Cyclr client's options: what a caller passes, and the checked, defaulted configuration made from it. */
import type { CyclrConfig } from '../../config.js';
import type { CyclrRequestEvent } from '../../observability/metrics.js';
import { invalidConfiguration } from './errors.js';
import { MAX_PAGE_SIZE } from './paging.js';
import type { RequestRate } from './request-rate.js';

export interface CyclrClientOptions {
  /** e.g. https://api.cyclr.com or the simulator's url; a trailing slash is fine. */
  apiUrl: string;
  /** Partner Service Domain for connectorauth URLs: a host or a full origin (https:// assumed without a scheme). */
  serviceDomain: string;
  credentials: CyclrConfig['credentials'];
  /** Client-side limit on requests in flight, per client instance. Default 20. */
  maxConcurrentRequests?: number;
  /** Per HTTP request. Default 30 000. */
  requestTimeoutMs?: number;
  /** Catalog and account-connector paging. Default 100. */
  pageSize?: number;
  /** Requests per second for this process (shared by every client of the worker); default: no limit. */
  rate?: RequestRate;
  /** Metrics hook, called once per HTTP request (token fetches included). Must not throw; errors are ignored. */
  onRequest?: (e: CyclrRequestEvent) => void;
}

export interface ValidConfig {
  apiUrl: string;
  serviceOrigin: string;
  credentials: CyclrClientOptions['credentials'];
  maxConcurrentRequests: number;
  requestTimeoutMs: number;
  pageSize: number;
}

const DEFAULTS = { maxConcurrentRequests: 200, requestTimeoutMs: 30_000, pageSize: 100 };

export function validateOptions(options: CyclrClientOptions): ValidConfig {
  const apiUrl = String(options?.apiUrl ?? '').replace(/\/+$/, '');
  let parsedApi: URL | undefined;
  try {
    parsedApi = new URL(apiUrl);
  } catch {
    parsedApi = undefined;
  }
  if (!parsedApi || !/^https?:$/.test(parsedApi.protocol) || parsedApi.search || parsedApi.hash) {
    throw invalidConfiguration(
      `apiUrl (CYCLR_API_URL) must be an http(s) URL such as https://api.cyclr.com, got "${apiUrl}"`,
    );
  }
  const serviceOrigin = normaliseServiceDomain(options.serviceDomain);
  const creds = options.credentials as Record<string, unknown> | undefined;
  if (creds && 'accessToken' in creds) {
    if (typeof creds.accessToken !== 'string' || !creds.accessToken.trim()) {
      throw invalidConfiguration('credentials.accessToken (CYCLR_ACCESS_TOKEN) is empty; set it to a partner token');
    }
  } else if (!creds || typeof creds.clientId !== 'string' || !creds.clientId.trim()) {
    throw invalidConfiguration(
      'credentials need clientId and clientSecret (CYCLR_CLIENT_ID / CYCLR_CLIENT_SECRET) or accessToken (CYCLR_ACCESS_TOKEN)',
    );
  } else if (typeof creds.clientSecret !== 'string' || !creds.clientSecret) {
    throw invalidConfiguration(
      'credentials.clientSecret (CYCLR_CLIENT_SECRET) is empty; set it beside CYCLR_CLIENT_ID',
    );
  }
  const positiveInt = (value: number | undefined, field: string, fallback: number, max = Infinity) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1 || value > max) {
      const range = max === Infinity ? 'a positive integer' : `an integer from 1 to ${max}`;
      throw invalidConfiguration(`${field} must be ${range}, got ${String(value)}`);
    }
    return value;
  };
  return {
    apiUrl,
    serviceOrigin,
    credentials: options.credentials,
    maxConcurrentRequests: positiveInt(
      options.maxConcurrentRequests,
      'maxConcurrentRequests',
      DEFAULTS.maxConcurrentRequests,
    ),
    requestTimeoutMs: positiveInt(options.requestTimeoutMs, 'requestTimeoutMs', DEFAULTS.requestTimeoutMs),
    pageSize: positiveInt(options.pageSize, 'pageSize', DEFAULTS.pageSize, MAX_PAGE_SIZE),
  };
}

/** "acme-h.cyclr.com" or "https://acme-h.cyclr.com/" → "https://acme-h.cyclr.com". */
export function normaliseServiceDomain(value: string): string {
  const raw = String(value ?? '').trim();
  const fix = 'serviceDomain (CYCLR_SERVICE_DOMAIN) must be the Partner Service Domain, e.g. acme-h.cyclr.com';
  if (!raw) throw invalidConfiguration(`${fix}; it is empty`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalidConfiguration(`${fix}; got "${raw}"`);
  }
  if (!/^https?:$/.test(url.protocol) || url.pathname.replace(/\/+$/, '') || url.search || url.hash) {
    throw invalidConfiguration(`${fix} (a host or an origin, no path); got "${raw}"`);
  }
  return url.origin;
}
