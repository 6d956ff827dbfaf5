/**
 * The HTTP transport to Cyclr's API (got): keep-alive agents, the in-flight limit, the process-wide request rate,
 * per-request timeouts, the partner token, and paging. It never retries on its own except for one token renewal
 * after a 401: Temporal retries activities, guided by the failure types in errors.ts.
 */
import http from 'node:http';
import https from 'node:https';
import { Context } from '@temporalio/activity';
import got, { type Got } from 'got';
import pLimit from 'p-limit';
import {
  badResponseFailure,
  budgetBusyFailure,
  queueTooLongFailure,
  httpFailure,
  networkFailure,
  parseRetryAfter,
} from './errors.js';
import type { CyclrClientOptions, ValidConfig } from './options.js';
import { isLastPage } from './paging.js';
import { QueueTooLong, RequestRate } from './request-rate.js';
import type { Lane } from '../../contract/request-rate.js';
import { ClientCredentialsToken, FixedToken, type TokenSource } from './token.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Call {
  method: Method;
  /** Route pattern for errors and metrics, e.g. '/v1.0/connectors/{id}'. */
  route: string;
  /** The real path, every segment already encoded. */
  path: string;
  searchParams?: Record<string, string | number>;
  json?: unknown;
  /** Sent as X-Cyclr-Account on account-level calls. */
  accountId?: string;
  /** Secrets in this request (AuthValue, sensitive property values) to scrub from any echo. */
  secrets?: (string | undefined)[];
  /** Who waits on it, for its place under the request rate (request-rate.ts); default the work. */
  lane?: Lane;
}

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export interface Transport {
  /** One call; a non-2xx answer is thrown as the failure errors.ts classifies it as. */
  request<T>(call: Call): Promise<{ data: T; headers: http.IncomingHttpHeaders }>;
  /** Pages page=1.. until a short or empty page, or the Total-Pages header says it was the last. */
  pages<T>(call: Omit<Call, 'searchParams'>): AsyncGenerator<T[]>;
  /** Requests running and waiting in this transport's limiter. */
  readonly load: { readonly inFlight: number; readonly waiting: number };
  /** Closes idle keep-alive sockets. */
  close(): void;
}

// Guards against a server that ignores `page` and repeats itself forever.
const MAX_PAGES = 10_000;

const endpointOf = (call: Pick<Call, 'method' | 'route'>) => `${call.method} ${call.route}`;

/**
 * The activity a request runs for, if any: when its attempt must be done by (counted from when it was scheduled, so
 * a little early for one that waited for a worker), and its cancellation (a timeout included).
 */
function activityBounds(): { deadline?: number; signal?: AbortSignal } {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return {}; // not in an activity (a script, a test)
  }
  const { currentAttemptScheduledTimestampMs, startToCloseTimeoutMs } = context.info;
  return { deadline: currentAttemptScheduledTimestampMs + startToCloseTimeoutMs, signal: context.cancellationSignal };
}

export function createTransport(
  config: ValidConfig,
  options: Pick<CyclrClientOptions, 'rate' | 'onRequest'>,
): Transport {
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true });
  const client: Got = got.extend({
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    timeout: { request: config.requestTimeoutMs },
    agent: { http: httpAgent, https: httpsAgent },
    responseType: 'text',
  });
  const limiter = pLimit(config.maxConcurrentRequests);
  const rate = options.rate ?? new RequestRate();

  const report = (endpoint: string, method: string, status: number | 'network-error', startedAt: number) => {
    if (!options.onRequest) return;
    try {
      options.onRequest({ endpoint, method, status, durationMs: Date.now() - startedAt });
    } catch {
      // A broken metrics hook must not fail a provisioning.
    }
  };

  const tokens: TokenSource =
    'accessToken' in config.credentials
      ? new FixedToken(config.credentials.accessToken)
      : new ClientCredentialsToken({
          http: client,
          apiUrl: config.apiUrl,
          clientId: config.credentials.clientId,
          clientSecret: config.credentials.clientSecret,
          timeoutMs: config.requestTimeoutMs,
          report,
          acquire: () => rate.acquire(),
        });

  async function sendOnce(call: Call, token: string): Promise<Reply> {
    const startedAt = Date.now();
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'content-type': 'application/json',
    };
    if (call.accountId !== undefined) headers['x-cyclr-account'] = call.accountId;
    try {
      const response = await client(`${config.apiUrl}${call.path}`, {
        method: call.method,
        headers,
        searchParams: call.searchParams,
        // Cyclr answers a bodyless POST/PUT with a 500: always send at least {}.
        body: call.method === 'POST' || call.method === 'PUT' ? JSON.stringify(call.json ?? {}) : undefined,
      });
      report(endpointOf(call), call.method, response.statusCode, startedAt);
      return { status: response.statusCode, body: response.body, headers: response.headers };
    } catch (err) {
      report(endpointOf(call), call.method, 'network-error', startedAt);
      throw networkFailure(endpointOf(call), err, config.requestTimeoutMs);
    }
  }

  /** A turn under the rate, within the bounds of the activity the request runs for. */
  async function turn(call: Call, lane: 'person' | 'work'): Promise<void> {
    try {
      await rate.acquire(lane, activityBounds());
    } catch (err) {
      if (err instanceof QueueTooLong) throw queueTooLongFailure(endpointOf(call), err.waitMs);
      throw err;
    }
  }

  /** One request under the limiter; on a 401 with a renewable token, renews and retries once. */
  async function send(call: Call): Promise<Reply> {
    // An idle request waits for its turn outside the in-flight limit, and is not sent at all when none comes.
    if (call.lane === 'idle' && !(await rate.whenIdle())) throw budgetBusyFailure(endpointOf(call));
    const lane = call.lane === 'person' ? 'person' : 'work';
    return limiter(async () => {
      const token = await tokens.get();
      await turn(call, lane);
      const sentAt = Date.now();
      const first = await sendOnce(call, token);
      if (first.status === 429) rate.throttled(parseRetryAfter(first.headers['retry-after']), sentAt);
      if (first.status !== 401 || !tokens.renewable) return first;
      tokens.invalidate(token);
      const renewed = await tokens.get();
      await turn(call, lane);
      return sendOnce(call, renewed);
    });
  }

  async function request<T>(call: Call): Promise<{ data: T; headers: http.IncomingHttpHeaders }> {
    const reply = await send(call);
    if (reply.status < 200 || reply.status >= 300) {
      throw httpFailure({
        endpoint: endpointOf(call),
        status: reply.status,
        body: reply.body,
        headers: reply.headers,
        secrets: [...(call.secrets ?? []), ...tokens.secrets()],
        credentialHint: tokens.credentialHint,
        afterRenewal: tokens.renewable,
      });
    }
    if (!reply.body.trim()) return { data: undefined as T, headers: reply.headers };
    try {
      return { data: JSON.parse(reply.body) as T, headers: reply.headers };
    } catch {
      throw badResponseFailure(endpointOf(call), reply.status, 'a body that is not JSON');
    }
  }

  /** Pages page=1.. until a short or empty page, or the Total-Pages header says it was the last. */
  async function* pages<T>(call: Omit<Call, 'searchParams'>): AsyncGenerator<T[]> {
    const seen = new Set<string>();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { data, headers } = await request<unknown>({ ...call, searchParams: { page, pageSize: config.pageSize } });
      if (!Array.isArray(data)) throw badResponseFailure(endpointOf(call), 200, 'something other than a JSON array');
      const items = data as T[];
      // A server that ignores `page` would send page 1 forever: stop once a page brings nothing new.
      const keys = items.map((item) => JSON.stringify((item as { Id?: unknown })?.Id ?? item));
      if (items.length > 0 && keys.every((k) => seen.has(k))) return;
      keys.forEach((k) => seen.add(k));
      yield items;
      const last = isLastPage({
        page,
        itemCount: items.length,
        pageSize: config.pageSize,
        totalPagesHeader: headers['total-pages'],
      });
      if (last) return;
    }
  }

  return {
    request,
    pages,
    load: {
      get inFlight() {
        return limiter.activeCount;
      },
      get waiting() {
        return limiter.pendingCount;
      },
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
