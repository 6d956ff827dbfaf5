/** Shared plumbing for the simulator's routes: request context, route config, paging, drop-after-commit. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EndpointGroup, FaultInjector } from './faults.js';
import { CyclrError } from './records.js';
import type { SimulatorState } from './state.js';
import type { Stats } from './stats.js';

/**
 * `partner`: bearer only. `account`: bearer + X-Cyclr-Account naming an existing account.
 * `optional-account`: bearer; X-Cyclr-Account checked only if sent (the catalog).
 */
export type AuthMode = 'partner' | 'account' | 'optional-account';

declare module 'fastify' {
  interface FastifyContextConfig {
    group?: EndpointGroup;
    auth?: AuthMode;
    /** Errors on this route render as HTML pages instead of JSON. */
    html?: boolean;
    /** Admin routes are not counted in stats and never faulted. */
    admin?: boolean;
  }
  interface FastifyRequest {
    /** The account from X-Cyclr-Account, once checked. */
    cyclrAccount: string | null;
    /** Set when the connection was dropped on purpose, so the response is not counted twice. */
    dropped: boolean;
  }
}

export interface SimContext {
  state: SimulatorState;
  faults: FaultInjector;
  stats: Stats;
}

export function routeKey(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? '<unmatched>'}`;
}

/** The account checked by the auth hook; routes with `auth: 'account'` always have one. */
export function accountOf(request: FastifyRequest): string {
  if (!request.cyclrAccount) throw new CyclrError(400, 'The X-Cyclr-Account header is required for this call.');
  return request.cyclrAccount;
}

function positiveInt(raw: unknown, field: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new CyclrError(400, `The request is invalid. ${field} must be a whole number of 1 or more.`);
  }
  return Number(raw);
}

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

export interface Paging {
  page: number;
  pageSize: number;
  sortOrderAsc: boolean;
}

export function paging(query: Record<string, unknown>): Paging {
  const page = positiveInt(query.page, 'page', 1);
  const pageSize = Math.min(positiveInt(query.pageSize, 'pageSize', DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  const asc = query.sortOrderAsc;
  if (asc !== undefined && asc !== 'true' && asc !== 'false') {
    throw new CyclrError(400, 'The request is invalid. sortOrderAsc must be true or false.');
  }
  return { page, pageSize, sortOrderAsc: asc !== 'false' };
}

export function pageOf<T>(items: readonly T[], p: Paging): T[] {
  const start = (p.page - 1) * p.pageSize;
  return items.slice(start, start + p.pageSize);
}

/** Account connector ids are ints; anything else cannot name one (ASP.NET's {id:int} route gives 404). */
export function intParam(raw: string, notFound: string): number {
  if (!/^\d{1,9}$/.test(raw)) throw new CyclrError(404, notFound);
  return Number(raw);
}

/** A JSON body as a record, or Cyclr's answers to absent (500) and non-object (400) bodies. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) throw new CyclrError(500, 'An error has occurred.');
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new CyclrError(400, 'The request is invalid. The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

/**
 * Call after a change is committed. With a drop-after-commit fault, destroys the socket instead of answering, so
 * the client sees a connection error although the change happened; otherwise returns `body` to be sent.
 */
export function committed<T>(ctx: SimContext, request: FastifyRequest, reply: FastifyReply, body: T): T | FastifyReply {
  const group = request.routeOptions.config.group;
  if (group && ctx.faults.dropAfterCommit(group)) {
    request.dropped = true;
    ctx.stats.fault('drop');
    ctx.stats.answered(routeKey(request), 'dropped');
    reply.hijack();
    request.raw.socket.destroy();
    return reply;
  }
  return body;
}
