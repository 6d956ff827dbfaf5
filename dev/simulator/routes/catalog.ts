/** The connector catalog: GET /v1.0/connectors (paged bare array) and lookups by id, name and version. */
import type { FastifyInstance } from 'fastify';
import type { CyclrConnector } from '../../../src/activities/cyclr/types.js';
import { pageOf, paging, type SimContext } from '../http.js';
import { CyclrError } from '../records.js';

const config = { group: 'connectors', auth: 'optional-account' } as const;

export function registerCatalogRoutes(app: FastifyInstance, ctx: SimContext) {
  app.get('/v1.0/connectors', { config }, async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const p = paging(q);
    const orderBy = (q.orderBy ?? 'Name').toLowerCase();
    if (orderBy !== 'name' && orderBy !== 'id') {
      throw new CyclrError(400, `The request is invalid. orderBy '${q.orderBy}' is not supported; use Name or Id.`);
    }
    const text = q.query?.toLowerCase();
    const category = q.category?.toLowerCase();
    let list: CyclrConnector[] = ctx.state.catalog.all.filter(
      (c) =>
        (!text || c.Name.toLowerCase().includes(text)) &&
        (!category || (c.Categories ?? []).some((x) => x.toLowerCase() === category)),
    );
    if (orderBy === 'id') list = [...list].sort((a, b) => a.Id - b.Id);
    if (!p.sortOrderAsc) list = [...list].reverse();
    if (ctx.state.paginationHeaders) {
      reply.header('Total-Pages', String(Math.ceil(list.length / p.pageSize)));
      reply.header('Total-Records', String(list.length));
    }
    return pageOf(list, p);
  });

  // All digits: one connector release by Id (object, 404 if unknown). Otherwise a Name: an array (may be empty).
  app.get<{ Params: { idOrName: string } }>('/v1.0/connectors/:idOrName', { config }, async (request) => {
    const { idOrName } = request.params;
    if (/^\d+$/.test(idOrName)) {
      const c = ctx.state.catalog.get(Number(idOrName));
      if (!c) throw new CyclrError(404, 'Connector not found.');
      return c;
    }
    return ctx.state.catalog.byName(idOrName);
  });

  app.get<{ Params: { name: string; version: string } }>(
    '/v1.0/connectors/:name/:version',
    { config },
    async (request) => ctx.state.catalog.byName(request.params.name, request.params.version),
  );
}
