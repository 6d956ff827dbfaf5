/** /_admin: test and benchmark controls (no bearer; never faulted; not counted in stats). */
import type { FastifyInstance } from 'fastify';
import { parseFaultConfig } from '../faults.js';
import { intParam, type SimContext } from '../http.js';
import { CyclrError } from '../records.js';

function seedList(body: unknown): { id: string; name: string }[] {
  const list = Array.isArray(body) ? body : (body as { accounts?: unknown } | null)?.accounts;
  if (!Array.isArray(list)) {
    throw new CyclrError(400, 'Send {"accounts": [...]} (or a bare array) of account ids or {"Id", "Name"} objects.');
  }
  return list.map((item, i) => {
    if (typeof item === 'string' && item) return { id: item, name: item };
    const o = item as { Id?: unknown; Name?: unknown } | null;
    if (o && typeof o.Id === 'string' && o.Id) return { id: o.Id, name: typeof o.Name === 'string' ? o.Name : o.Id };
    throw new CyclrError(400, `accounts[${i}] must be a non-empty string or an object with a string Id.`);
  });
}

export function registerAdminRoutes(app: FastifyInstance, ctx: SimContext) {
  const { state } = ctx;
  const config = { admin: true } as const;

  app.get('/_admin/stats', { config }, async () => ctx.stats.snapshot());
  app.post('/_admin/reset-stats', { config }, async () => {
    ctx.stats.reset();
    return { Message: 'Stats reset.' };
  });

  app.get('/_admin/faults', { config }, async () => ctx.faults.get());
  app.post('/_admin/faults', { config }, async (request) => {
    try {
      ctx.faults.set(parseFaultConfig(request.body));
    } catch (e) {
      throw new CyclrError(400, (e as Error).message);
    }
    return ctx.faults.get();
  });

  app.post('/_admin/revoke-tokens', { config }, async () => ({ revoked: state.credentials.revokeTokens() }));

  app.get('/_admin/settings', { config }, async () => ({ paginationHeaders: state.paginationHeaders }));
  app.post('/_admin/settings', { config }, async (request) => {
    const body = (request.body ?? {}) as { paginationHeaders?: unknown };
    if (body.paginationHeaders !== undefined) {
      if (typeof body.paginationHeaders !== 'boolean') {
        throw new CyclrError(400, 'paginationHeaders must be true or false.');
      }
      state.paginationHeaders = body.paginationHeaders;
    }
    return { paginationHeaders: state.paginationHeaders };
  });

  app.get('/_admin/accounts', { config }, async () => [...state.accounts.values()]);
  app.post('/_admin/accounts', { config }, async (request) =>
    seedList(request.body).map((a) => state.seedAccount(a.id, a.name)),
  );

  const NOT_FOUND = 'Account connector not found.';
  app.get<{ Params: { id: string } }>('/_admin/account-connectors/:id', { config }, async (request) => {
    const ac = state.findAccountConnector(intParam(request.params.id, NOT_FOUND));
    if (!ac) throw new CyclrError(404, NOT_FOUND);
    return { ...state.toWire(ac), AccountId: ac.accountId };
  });

  // "The user approved but the callback never arrived": authenticated without any browser round trip.
  app.post<{ Params: { id: string } }>('/_admin/account-connectors/:id/authenticate', { config }, async (request) => {
    const ac = state.markAuthenticated(intParam(request.params.id, NOT_FOUND));
    return { ...state.toWire(ac), AccountId: ac.accountId };
  });

  // "The customer revoked access at the third party" (or its tokens lapsed): Cyclr no longer reports it
  // authenticated, and nobody called the API to say so.
  app.post<{ Params: { id: string } }>('/_admin/account-connectors/:id/lapse', { config }, async (request) => {
    const ac = state.markLapsed(intParam(request.params.id, NOT_FOUND));
    return { ...state.toWire(ac), AccountId: ac.accountId };
  });
}
