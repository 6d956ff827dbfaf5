/** Partner-level account endpoints: accounts, users and sign-in tokens (the account is in the path). */
import type { FastifyInstance } from 'fastify';
import { committed, objectBody, pageOf, paging, type SimContext } from '../http.js';
import { CyclrError } from '../records.js';

export function registerAccountRoutes(app: FastifyInstance, ctx: SimContext) {
  const { state } = ctx;
  const config = { group: 'accounts', auth: 'partner' } as const;
  type AccountParams = { Params: { accountId: string } };

  app.post('/v1.0/accounts', { config }, async (request, reply) => {
    const account = state.createAccount(objectBody(request.body));
    return committed(ctx, request, reply, account);
  });

  app.get('/v1.0/accounts', { config }, async (request) => {
    const p = paging(request.query as Record<string, unknown>);
    const all = [...state.accounts.values()];
    return pageOf(p.sortOrderAsc ? all : all.reverse(), p);
  });

  app.get<AccountParams>('/v1.0/accounts/:accountId', { config }, async (request) =>
    state.getAccount(request.params.accountId),
  );

  app.put<AccountParams>('/v1.0/accounts/:accountId', { config }, async (request, reply) => {
    const account = state.updateAccount(request.params.accountId, objectBody(request.body));
    return committed(ctx, request, reply, account);
  });

  app.delete<AccountParams>('/v1.0/accounts/:accountId', { config }, async (request, reply) => {
    state.deleteAccount(request.params.accountId);
    const r = committed(ctx, request, reply, '');
    return r === reply ? reply : reply.code(200).send();
  });

  app.get<AccountParams>('/v1.0/accounts/:accountId/users', { config }, async (request) =>
    state.listUsers(request.params.accountId),
  );

  // Note the casing: the users endpoints take `UserName`, signintoken takes `Username`.
  app.put<AccountParams>('/v1.0/accounts/:accountId/users', { config }, async (request, reply) => {
    const body = objectBody(request.body);
    if (typeof body.UserName !== 'string' || !body.UserName) throw new CyclrError(400, 'UserName is required.');
    state.addUser(request.params.accountId, body.UserName);
    const r = committed(ctx, request, reply, '');
    return r === reply ? reply : reply.code(200).send();
  });

  app.post<AccountParams>(
    '/v1.0/accounts/:accountId/signintoken',
    { config: { group: 'signintoken', auth: 'partner' } },
    async (request, reply) => {
      state.getAccount(request.params.accountId);
      const body = objectBody(request.body);
      if (typeof body.Username !== 'string' || !body.Username.trim()) {
        const hint = 'UserName' in body ? " (this endpoint spells it 'Username', not 'UserName')" : '';
        throw new CyclrError(400, `Username is required${hint}.`);
      }
      const token = state.mintSignInToken(request.params.accountId, body.Username);
      reply.header('Cache-Control', 'no-store');
      return committed(ctx, request, reply, token);
    },
  );
}
