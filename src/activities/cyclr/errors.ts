/**
 * The one place where Cyclr's answers become Temporal failures. Every failure carries Cyclr's own `Message` (with
 * secrets scrubbed), the method and the route pattern, never a URL, a header or a request body.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Failure, failure, type FailureType } from '../../contract/failures.js';
import { scrub } from '../../observability/redact.js';

/** The one detail attached to every HTTP failure; safe to show (scrubbed). */
export interface CyclrFailureDetail {
  endpoint: string;
  status: number | 'network-error' | 'not-sent';
  cyclrMessage?: string;
}

/** Which env var to name when Cyclr refuses our credentials. */
export type CredentialHint = 'client-credentials' | 'access-token';

const CREDENTIAL_FIX: Record<CredentialHint, string> = {
  'client-credentials': 'check CYCLR_CLIENT_ID / CYCLR_CLIENT_SECRET',
  'access-token': 'check CYCLR_ACCESS_TOKEN',
};

/** Pulls a human message out of a Cyclr (ASP.NET Web API) or OAuth error body, or undefined when there is none. */
export function extractCyclrMessage(body: string): string | undefined {
  const trimmed = body.trim();
  if (!trimmed) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === 'string') return parsed;
    if (parsed && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of ['Message', 'message', 'ExceptionMessage', 'error', 'error_description']) {
        if (typeof o[key] === 'string' && o[key]) parts.push(o[key] as string);
      }
      const modelState = o.ModelState;
      if (modelState && typeof modelState === 'object') {
        for (const [field, errors] of Object.entries(modelState as Record<string, unknown>)) {
          if (Array.isArray(errors)) parts.push(`${field}: ${errors.filter((e) => typeof e === 'string').join('; ')}`);
        }
      }
      return parts.length ? parts.join(' - ') : undefined;
    }
  } catch {
    // Not JSON (an HTML error page from a proxy, say): show a short, single-line start of it.
  }
  return trimmed.replace(/\s+/g, ' ').slice(0, 200);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The detail of a failure: Cyclr's own message from the body, with the request's secrets scrubbed out of it. */
function scrubbedDetail(input: {
  endpoint: string;
  status: number;
  body: string;
  secrets: Iterable<string | undefined>;
}): CyclrFailureDetail {
  const raw = extractCyclrMessage(input.body);
  const cyclrMessage = raw === undefined ? undefined : scrub(raw, input.secrets);
  return { endpoint: input.endpoint, status: input.status, ...(cyclrMessage ? { cyclrMessage } : {}) };
}

export interface HttpFailureInput {
  /** Route pattern, e.g. 'GET /v1.0/account/connectors/{id}'. */
  endpoint: string;
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** Secrets that must not leak through an echoed body. */
  secrets: Iterable<string | undefined>;
  credentialHint: CredentialHint;
  /** True when this 401 came after a fresh token (or the token cannot be renewed). */
  afterRenewal?: boolean;
}

/** Classifies a non-2xx Cyclr response into a Temporal ApplicationFailure. */
export function httpFailure(input: HttpFailureInput): ApplicationFailure {
  const { endpoint, status, credentialHint } = input;
  const detail = scrubbedDetail(input);
  const { cyclrMessage } = detail;
  const said = cyclrMessage ? `: ${cyclrMessage}` : '';
  // Retryable or not as contract/failures.ts marks the type: outages and limits pass, refusals do not.
  const fail = (type: FailureType, message: string, nextRetryDelay?: number) =>
    failure(type, message, { details: [detail], nextRetryDelay });

  switch (status) {
    case 400:
      return fail(Failure.CyclrBadRequest, `Cyclr rejected ${endpoint} (400 Bad Request)${said}`);
    case 404:
      return fail(Failure.CyclrNotFound, `Cyclr found nothing at ${endpoint} (404 Not Found)${said}`);
    case 409:
      return fail(Failure.CyclrConflict, `Cyclr reported a conflict on ${endpoint} (409 Conflict)${said}`);
    case 422:
      return fail(Failure.CyclrUnprocessable, `Cyclr could not process ${endpoint} (422 Unprocessable Entity)${said}`);
    case 401:
      return fail(
        Failure.CyclrUnauthorized,
        `Cyclr refused our credentials on ${endpoint} (401 Unauthorized${input.afterRenewal ? ', even with a fresh token' : ''})${said}; ${CREDENTIAL_FIX[credentialHint]}`,
      );
    case 403:
      return fail(
        Failure.CyclrForbidden,
        `Cyclr forbade ${endpoint} (403 Forbidden)${said}; the credentials lack access to this resource or account (${CREDENTIAL_FIX[credentialHint]})`,
      );
    case 429: {
      const delay = parseRetryAfter(input.headers['retry-after']);
      const when = delay !== undefined ? `; retry after ${Math.ceil(delay / 1000)}s` : '';
      return fail(Failure.CyclrRateLimited, `Cyclr rate-limited ${endpoint} (429)${when}${said}`, delay);
    }
    case 408:
      return fail(Failure.CyclrUnavailable, `Cyclr timed out on ${endpoint} (408)${said}`);
  }
  if (status >= 500) {
    const delay = parseRetryAfter(input.headers['retry-after']);
    return fail(Failure.CyclrUnavailable, `Cyclr failed on ${endpoint} (${status})${said}`, delay);
  }
  if (status >= 400) {
    return fail(Failure.CyclrRequestRejected, `Cyclr rejected ${endpoint} (${status})${said}`);
  }
  // A redirect or other surprise: most likely CYCLR_API_URL points at the console rather than the API.
  return fail(
    Failure.CyclrBadResponse,
    `Cyclr answered ${endpoint} with an unexpected status ${status}; check CYCLR_API_URL points at the API host (e.g. https://api.cyclr.com)`,
  );
}

/** Bad credentials at POST /oauth/token (400 invalid_client, 401, 403). */
export function tokenRefusedFailure(input: {
  endpoint: string;
  status: number;
  body: string;
  secrets: Iterable<string | undefined>;
}): ApplicationFailure {
  const detail = scrubbedDetail(input);
  const { cyclrMessage } = detail;
  return failure(
    Failure.CyclrUnauthorized,
    `Cyclr refused the client credentials at ${input.endpoint} (${input.status}${cyclrMessage ? ` ${cyclrMessage}` : ''}); ${CREDENTIAL_FIX['client-credentials']}`,
    { details: [detail] },
  );
}

/** A 2xx whose body is not what the API documents. */
export function badResponseFailure(endpoint: string, status: number, what: string): ApplicationFailure {
  const detail: CyclrFailureDetail = { endpoint, status };
  return failure(
    Failure.CyclrBadResponse,
    `Cyclr answered ${endpoint} with ${what}; check CYCLR_API_URL points at the Cyclr API (e.g. https://api.cyclr.com)`,
    { details: [detail] },
  );
}

/**
 * Network errors, timeouts and dropped connections. Retryable: a dropped install may have committed, and the retried
 * activity finds it by name. Only the error code travels on, never got's error (its options hold our headers).
 */
export function networkFailure(endpoint: string, err: unknown, timeoutMs: number): ApplicationFailure {
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const isTimeout = e?.name === 'TimeoutError' || code === 'ETIMEDOUT';
  const what = isTimeout
    ? `timed out after ${timeoutMs} ms`
    : code === 'ECONNRESET' || (typeof e?.message === 'string' && /socket hang up/i.test(e.message))
      ? 'lost the connection (socket hang up); the request may or may not have been applied'
      : `failed to reach Cyclr${code ? ` (${code})` : ''}`;
  const detail: CyclrFailureDetail = { endpoint, status: 'network-error' };
  return failure(Failure.CyclrNetworkError, `${endpoint} ${what}`, { details: [detail] });
}

/**
 * An idle request (a consent check nobody waits on) found no turn on a busy request budget
 * (CYCLR_MAX_REQUESTS_PER_SECOND): it was not sent, and its caller asks again later. Expected, so benign.
 */
export function budgetBusyFailure(endpoint: string): ApplicationFailure {
  return failure(
    Failure.CyclrBudgetBusy,
    `${endpoint} not sent: the Cyclr request budget is busy with other requests, and an idle check gives way`,
    { details: [{ endpoint, status: 'not-sent' }], benign: true },
  );
}

/**
 * A request the rate's queue would hold past its activity's deadline: not sent (sent after the activity gave up, it
 * would be wasted, and sent again by the retry). Retryable, after about the wait; a quick call moves on to its
 * durable activity, which has longer.
 */
export function queueTooLongFailure(endpoint: string, waitMs: number): ApplicationFailure {
  return failure(
    Failure.CyclrRateLimited,
    `${endpoint} not sent: about ${Math.ceil(waitMs / 1000)} s of requests queue ahead under CYCLR_MAX_REQUESTS_PER_SECOND, longer than this attempt may take`,
    {
      details: [{ endpoint, status: 'not-sent' }],
      nextRetryDelay: Math.min(Math.max(waitMs / 2, 1000), 15_000),
      benign: true,
    },
  );
}

export const isBudgetBusy = (err: unknown): boolean => isCyclrFailure(err, Failure.CyclrBudgetBusy);

/** Caller mistakes (not Cyclr's): name the field and the fix. */
export function invalidRequest(message: string): ApplicationFailure {
  return failure(Failure.InvalidRequest, message);
}

export function invalidConfiguration(message: string): ApplicationFailure {
  return failure(Failure.InvalidConfiguration, message);
}

function asApplicationFailure(err: unknown): ApplicationFailure | undefined {
  return err instanceof ApplicationFailure ? err : undefined;
}

/** The scrubbed detail of a failure this module produced. */
export function cyclrDetail(err: unknown): CyclrFailureDetail | undefined {
  const d = asApplicationFailure(err)?.details?.[0];
  return d && typeof d === 'object' && 'endpoint' in d ? (d as CyclrFailureDetail) : undefined;
}

export function isCyclrFailure(err: unknown, type: FailureType): boolean {
  return asApplicationFailure(err)?.type === type;
}

export const isNotFound = (err: unknown): boolean => isCyclrFailure(err, Failure.CyclrNotFound);
export const isUnauthorized = (err: unknown): boolean => isCyclrFailure(err, Failure.CyclrUnauthorized);
export const isRetryable = (err: unknown): boolean => {
  const f = asApplicationFailure(err);
  return f !== undefined && !f.nonRetryable;
};

/** 400 whose Cyclr Message matches: how the API reports "exists already" cases. */
export function isBadRequestSaying(err: unknown, pattern: RegExp): boolean {
  if (!isCyclrFailure(err, Failure.CyclrBadRequest)) return false;
  const message = cyclrDetail(err)?.cyclrMessage;
  return message !== undefined && pattern.test(message.trim());
}

/** POST /v1.0/accounts with an Id that exists. */
export const ACCOUNT_ID_IN_USE = /^ID already in use\.?$/i;
/** POST /v1.0/connectors/{id}/install with a Name that exists in the account. */
export const ACCOUNT_CONNECTOR_NAME_IN_USE = /^Account connector name .* is in use\.?$/i;

export const isAccountIdInUse = (err: unknown): boolean => isBadRequestSaying(err, ACCOUNT_ID_IN_USE);
export const isAccountConnectorNameInUse = (err: unknown): boolean =>
  isBadRequestSaying(err, ACCOUNT_CONNECTOR_NAME_IN_USE);
