/** Install and the account-connector endpoints; all scoped by X-Cyclr-Account. */
import type { FastifyInstance } from 'fastify';
import { accountOf, committed, intParam, objectBody, pageOf, paging, type SimContext } from '../http.js';

const NOT_FOUND = 'Account connector not found.';

export function registerAccountConnectorRoutes(app: FastifyInstance, ctx: SimContext) {
  const { state } = ctx;
  const config = { group: 'accountConnectors', auth: 'account' } as const;

  app.post<{ Params: { idOrName: string } }>(
    '/v1.0/connectors/:idOrName/install',
    { config: { group: 'install', auth: 'account' } },
    async (request, reply) => {
      const accountId = accountOf(request);
      const ac = state.install(accountId, request.params.idOrName, request.body);
      ctx.stats.installed(accountId, ac.name);
      return committed(ctx, request, reply, state.toWire(ac));
    },
  );

  app.get('/v1.0/account/connectors', { config }, async (request) => {
    const list = state.listAccountConnectors(accountOf(request));
    return pageOf(list, paging(request.query as Record<string, unknown>)).map((ac) => state.toWire(ac));
  });

  type IdParams = { Params: { id: string } };
  app.get<IdParams>('/v1.0/account/connectors/:id', { config }, async (request) =>
    state.toWire(state.getAccountConnector(accountOf(request), intParam(request.params.id, NOT_FOUND))),
  );

  app.put<IdParams>('/v1.0/account/connectors/:id', { config }, async (request, reply) => {
    const id = intParam(request.params.id, NOT_FOUND);
    const ac = state.updateAccountConnector(accountOf(request), id, request.body);
    return committed(ctx, request, reply, state.toWire(ac));
  });

  app.delete<IdParams>('/v1.0/account/connectors/:id', { config }, async (request, reply) => {
    const accountId = accountOf(request);
    const id = intParam(request.params.id, NOT_FOUND);
    state.deleteAccountConnector(accountId, id);
    ctx.stats.uninstalled(accountId, id);
    // Web API's Ok(): 200 with an empty body.
    const r = committed(ctx, request, reply, '');
    return r === reply ? reply : reply.code(200).send();
  });

  app.put<IdParams>('/v1.0/account/connectors/:id/deauthenticate', { config }, async (request, reply) => {
    const accountId = accountOf(request);
    const ac = state.deauthenticate(accountId, intParam(request.params.id, NOT_FOUND));
    ctx.stats.deauthenticated(accountId, ac.id);
    return committed(ctx, request, reply, { Message: `Connector '${ac.name}' successfully de-authenticated.` });
  });

  // Account connector properties: {Name, Value, Id, AccountConnectorId}.
  const withAc = (id: number) => (p: { Id: number; Name: string; Value: string }) => ({ ...p, AccountConnectorId: id });

  app.get<IdParams>('/v1.0/account/connectors/:id/properties', { config }, async (request) => {
    const id = intParam(request.params.id, NOT_FOUND);
    return [...state.getAccountConnector(accountOf(request), id).properties.values()].map(withAc(id));
  });

  app.post<IdParams>('/v1.0/account/connectors/:id/properties', { config }, async (request, reply) => {
    const id = intParam(request.params.id, NOT_FOUND);
    const p = state.addProperty(accountOf(request), id, objectBody(request.body));
    return committed(ctx, request, reply, withAc(id)(p));
  });

  type PropParams = { Params: { id: string; propertyId: string } };
  const ids = (params: PropParams['Params']) =>
    [intParam(params.id, NOT_FOUND), intParam(params.propertyId, 'Account connector property not found.')] as const;

  app.get<PropParams>('/v1.0/account/connectors/:id/properties/:propertyId', { config }, async (request) => {
    const [id, propertyId] = ids(request.params);
    return withAc(id)(state.getProperty(accountOf(request), id, propertyId));
  });

  app.put<PropParams>('/v1.0/account/connectors/:id/properties/:propertyId', { config }, async (request, reply) => {
    const [id, propertyId] = ids(request.params);
    const p = state.updateProperty(accountOf(request), id, propertyId, objectBody(request.body));
    return committed(ctx, request, reply, withAc(id)(p));
  });

  app.delete<PropParams>('/v1.0/account/connectors/:id/properties/:propertyId', { config }, async (request, reply) => {
    const [id, propertyId] = ids(request.params);
    state.deleteProperty(accountOf(request), id, propertyId);
    const r = committed(ctx, request, reply, '');
    return r === reply ? reply : reply.code(200).send();
  });
}
