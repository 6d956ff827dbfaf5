/**
 * The support console at /console: server-rendered pages over the same client, visibility queries and batch
 * functions as the API and the CLI. It protects itself (the API's bearer check skips /console): sign-in with a
 * gateway token, then a signed, expiring, httpOnly, SameSite=Strict session cookie; a CSRF token on every form that
 * writes; a read-only sign-in sees no actions and its writes are refused here too. Pages carry a strict CSP (no
 * inline code; scripts and styles come from /console/assets).
 */
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { batchFailures, batchProgress, BatchError } from '../../batch/batch-client.js';
import { checkBatchId } from '../../batch/store.js';
import { ProvisioningError } from '../../client.js';
import {
  actOnAll,
  BULK_ACTIONS,
  BULK_DEFAULT_LIMIT,
  findBulkTargets,
  isBulkActionName,
  type BulkAction,
} from '../../operations/bulk.js';
import {
  buildQuery,
  countByStage,
  FilterError,
  hasFilter,
  listPage,
  type FilterValues,
  type ListedPage,
  type ListedProvisioning,
} from '../../operations/filters.js';
import type { ConsentLink, ProvisioningStatus } from '../../contract/messages.js';
import { STAGES } from '../../contract/stages.js';
import { scopeOf, type Scope } from '../auth.js';
import type { GatewayDeps, GatewayRoutes } from '../deps.js';
import { consoleAsset } from './assets.js';
import {
  cookieOptions,
  CSRF_COOKIE,
  clearSession,
  newSession,
  readSession,
  sessionKeys,
  signPage,
  verifyPage,
  writeSession,
  type ConsoleSession,
} from './session.js';
import * as views from './views.js';

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
/** A row's "time in stage" asks the provisioning; one that does not answer quickly shows "?" rather than stall. */
const STATUS_TIMEOUT_MS = 3000;
const SIGNED_OUT = 'signed-out';

type Body = Record<string, string | string[] | undefined>;

function one(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function filterOf(input: unknown): FilterValues {
  const q = (input ?? {}) as Body;
  return {
    stage: one(q.stage),
    account: one(q.account),
    connector: one(q.connector),
    batch: one(q.batch),
    'older-than': one(q['older-than']),
  };
}

/** Words for a filter problem, naming the form field. */
const FIELD_LABELS: Record<keyof FilterValues, string> = {
  stage: 'Stage',
  account: 'Account id',
  connector: 'Connector',
  batch: 'Batch id',
  'older-than': 'Older than',
  limit: 'Limit',
};

function filterProblem(err: unknown): string {
  if (err instanceof FilterError) return `${FIELD_LABELS[err.field]}: ${err.problem}`;
  throw err;
}

/** A page token the server no longer accepts (they are tied to the query that made them). */
class StalePage extends Error {}

async function consolePlugin(app: FastifyInstance, { client, config, batchStore }: GatewayDeps): Promise<void> {
  const keys = sessionKeys(config.consoleSessionKey);
  const secure = config.publicBaseUrl.startsWith('https:');
  await app.register(fastifyCookie, { secret: keys.cookie });
  await app.register(fastifyFormbody, { bodyLimit: 1024 * 1024 });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    hsts: secure ? { maxAge: 31_536_000 } : false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: cookieOptions(secure),
    // Bound to the session id, so a token from one sign-in (or from before it) is refused in another.
    getUserInfo: (request: FastifyRequest) => readSession(request)?.id ?? SIGNED_OUT,
    csrfOpts: { hmacKey: keys.csrf },
  });

  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('Cache-Control', 'no-store');
  });

  const page = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    render: (ctx: views.PageContext) => string,
  ) => {
    const session = readSession(request);
    const ctx = { scope: session?.scope, csrf: reply.generateCsrf({ userInfo: session?.id ?? SIGNED_OUT }) };
    return reply.code(status).type('text/html; charset=utf-8').send(render(ctx));
  };

  const message = (request: FastifyRequest, reply: FastifyReply, status: number, title: string, text: string) =>
    page(request, reply, status, (ctx) =>
      views.messagePage(ctx, title, text, { href: '/console', label: 'Back to the console' }),
    );

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') {
      return message(
        request,
        reply,
        403,
        'Form expired',
        'This form has expired or did not come from this console (or you signed in again since). Go back, reload the page and try again.',
      );
    }
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'console request failed');
    return message(
      request,
      reply,
      status,
      'Something went wrong',
      status >= 500 ? 'The console could not do that; the gateway log has the details.' : err.message,
    );
  });
  app.setNotFoundHandler((request, reply) =>
    message(request, reply, 404, 'Not found', 'There is no console page at that address.'),
  );

  /** The session, or a reply already sent (sign-in needed, or a read-only session asking to write). */
  function guard(request: FastifyRequest, reply: FastifyReply, need: Scope): ConsoleSession | undefined {
    const session = readSession(request);
    if (!session) {
      if (request.method === 'GET') void reply.redirect('/console', 303);
      else void message(request, reply, 401, 'Signed out', 'Your session has ended; sign in again.');
      return undefined;
    }
    if (need === 'write' && session.scope !== 'write') {
      void message(
        request,
        reply,
        403,
        'Read-only',
        'You signed in with a read token; this needs a write token (GATEWAY_API_TOKENS).',
      );
      return undefined;
    }
    return session;
  }

  const csrf = { preHandler: app.csrfProtection };

  app.get('/assets/:name', async (request, reply) => {
    const asset = consoleAsset((request.params as { name: string }).name);
    if (!asset) return message(request, reply, 404, 'Not found', 'No such console asset.');
    return reply.header('Cache-Control', 'public, max-age=300').type(asset.type).send(asset.body);
  });

  app.post('/sign-in', csrf, async (request, reply) => {
    const token = one((request.body as Body | undefined)?.token);
    const { write, read } = config.gatewayTokens;
    let problem: string | undefined;
    if (write.length + read.length === 0) {
      problem =
        'No gateway tokens are configured: set GATEWAY_API_TOKENS (and GATEWAY_READ_TOKENS) to use the console.';
    } else {
      const scope = scopeOf(token, config.gatewayTokens);
      if (scope) {
        writeSession(reply, newSession(scope), secure);
        return reply.redirect('/console', 303);
      }
      problem = token ? 'That token is not a gateway token; check it and try again.' : 'Token: enter a gateway token.';
    }
    return page(request, reply, 401, (ctx) => views.signInPage(ctx, problem));
  });

  app.post('/sign-out', csrf, async (_request, reply) => {
    clearSession(reply, secure);
    return reply.redirect('/console', 303);
  });

  /** One page of a query; the page tokens in links are signed for their query (see signPage). */
  async function pagedList(
    query: string,
    pageSize: number,
    page: string | undefined,
    /** What the token is signed with: the filter as given (the query itself moves with "older than"). */
    signedFor: string,
  ): Promise<ListedPage> {
    const token = page === undefined ? undefined : verifyPage(keys.paging, signedFor, page);
    if (page !== undefined && token === undefined) throw new StalePage();
    const listed = await listPage(client.temporal, query, pageSize, token).catch((err: unknown) => {
      if (page) throw new StalePage();
      throw err;
    });
    return {
      rows: listed.rows,
      ...(listed.nextPage ? { nextPage: signPage(keys.paging, signedFor, listed.nextPage) } : {}),
    };
  }

  /** When each listed row entered its stage: asked of running ones, in parallel; a closed one has its close time. */
  async function withStageSince(rows: ListedProvisioning[]): Promise<views.ListRow[]> {
    return Promise.all(
      rows.map(async (r) => {
        if (r.status !== 'running') return { ...r, stageSince: r.closeTime };
        const status = await client.status(r.workflowId, { timeoutMs: STATUS_TIMEOUT_MS }).catch(() => undefined);
        return { ...r, stageSince: status?.history.at(-1)?.at };
      }),
    );
  }

  app.get('/', async (request, reply) => {
    const session = readSession(request);
    if (!session) return page(request, reply, 200, (ctx) => views.signInPage(ctx));
    const query = request.query as Body;
    const filter = filterOf(query);
    const pageToken = one(query.page);
    const size = Number(one(query.size) ?? PAGE_SIZE);
    const pageSize = Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : PAGE_SIZE;
    const now = Date.now();
    let problem: string | undefined;
    let counts = Object.fromEntries(STAGES.map((s) => [s, 0])) as views.ListView['counts'];
    let rows: views.ListRow[] = [];
    let nextPage: string | undefined;
    try {
      const q = buildQuery(filter);
      const qAnyStage = buildQuery({ ...filter, stage: undefined });
      const [c, listed] = await Promise.all([
        countByStage(client.temporal, qAnyStage),
        pagedList(q, pageSize, pageToken, JSON.stringify(filter)),
      ]);
      counts = c;
      rows = await withStageSince(listed.rows);
      nextPage = listed.nextPage;
    } catch (err) {
      problem =
        err instanceof StalePage
          ? 'That page link is no longer valid (the list changed, or the link is from another filter); start again from the first page.'
          : filterProblem(err);
    }
    return page(request, reply, problem ? 400 : 200, (ctx) =>
      views.listPage(ctx, {
        filter,
        counts,
        rows,
        page: pageToken,
        nextPage,
        size: pageSize === PAGE_SIZE ? undefined : String(pageSize),
        problem,
        now,
      }),
    );
  });

  async function statusOrMessage(
    request: FastifyRequest,
    reply: FastifyReply,
    workflowId: string,
  ): Promise<{ status: ProvisioningStatus; running: boolean } | undefined> {
    try {
      const [status, description] = await Promise.all([
        client.status(workflowId),
        client.handle(workflowId).describe(),
      ]);
      return { status, running: description.status.name === 'RUNNING' };
    } catch (err) {
      if (err instanceof ProvisioningError || (err as Error).name === 'WorkflowNotFoundError') {
        void message(
          request,
          reply,
          404,
          'No such provisioning',
          `There is no provisioning "${workflowId}". Find it from the list.`,
        );
        return undefined;
      }
      throw err;
    }
  }

  app.get('/provisionings/:id', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const { id } = request.params as { id: string };
    const found = await statusOrMessage(request, reply, id);
    if (!found) return reply;
    return page(request, reply, 200, (ctx) => views.detailPage(ctx, { workflowId: id, ...found, now: Date.now() }));
  });

  app.post('/provisionings/:id/:action', csrf, async (request, reply) => {
    if (!guard(request, reply, 'write')) return reply;
    const { id, action } = request.params as { id: string; action: string };
    if (!isBulkActionName(action)) return message(request, reply, 404, 'Not found', `No action "${action}".`);
    const body = (request.body ?? {}) as Body;
    const reason = one(body.reason);
    if (one(body.confirmed) !== 'yes') {
      return page(request, reply, 200, (ctx) => views.confirmPage(ctx, action, id, reason ? { reason } : {}));
    }
    const [outcome] = await actOnAll(client, [id], BULK_ACTIONS[action] as BulkAction<unknown>, {
      source: 'console',
      reason,
    });
    const shown = outcome!.ok
      ? { ok: true as const, link: action === 'link' ? (outcome!.result as ConsentLink) : undefined }
      : { ok: false as const, error: outcome!.error! };
    return page(request, reply, outcome!.ok ? 200 : 409, (ctx) => views.outcomePage(ctx, action, id, shown));
  });

  app.get('/bulk', async (request, reply) => {
    if (!guard(request, reply, 'write')) return reply;
    const query = request.query as Body;
    const filter = filterOf(query);
    const requested = one(query.action);
    const action = requested && isBulkActionName(requested) ? requested : undefined;
    const reason = one(query.reason);
    const view: views.BulkView = { action, filter, reason, limit: BULK_DEFAULT_LIMIT, now: Date.now() };
    if (requested && !action) view.problem = `Action: "${requested}" is not one of link, complete, cancel.`;
    else if (action && !hasFilter(filter)) {
      view.problem =
        'Choose at least one filter (stage, account, connector, batch or age): a bulk action never touches everything.';
    } else if (action) {
      try {
        view.targets = (await findBulkTargets(client, filter, BULK_DEFAULT_LIMIT)).targets;
      } catch (err) {
        view.problem = filterProblem(err);
      }
    }
    return page(request, reply, view.problem ? 400 : 200, (ctx) => views.bulkPage(ctx, view));
  });

  app.post('/bulk', csrf, async (request, reply) => {
    if (!guard(request, reply, 'write')) return reply;
    const body = (request.body ?? {}) as Body;
    const action = one(body.action);
    const filter = filterOf(body);
    if (!action || !isBulkActionName(action) || !hasFilter(filter)) {
      return message(
        request,
        reply,
        400,
        'Nothing done',
        'A bulk action needs an action and at least one filter; start from the dry run.',
      );
    }
    const chosen = new Set((Array.isArray(body.id) ? body.id : body.id ? [body.id] : []).filter(Boolean));
    // Only what the dry run listed, and only if it still matches: a provisioning that finished or moved on since
    // the dry run is skipped, not acted on by surprise.
    const { targets } = await findBulkTargets(client, filter, BULK_DEFAULT_LIMIT);
    const ids = targets.map((t) => t.workflowId).filter((id) => chosen.has(id));
    const outcomes = await actOnAll(client, ids, BULK_ACTIONS[action] as BulkAction<unknown>, {
      source: 'console',
      reason: one(body.reason),
    });
    return page(request, reply, 200, (ctx) => views.bulkOutcomePage(ctx, action, outcomes, chosen.size - ids.length));
  });

  app.get('/batches', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const pageToken = one((request.query as Body).page);
    let listed: ListedPage;
    try {
      listed = await pagedList(`WorkflowType = 'provisionBatch'`, PAGE_SIZE, pageToken, 'batches');
    } catch (err) {
      if (!(err instanceof StalePage)) throw err;
      return message(
        request,
        reply,
        400,
        'Stale page link',
        'That page link is no longer valid; start again from the first page.',
      );
    }
    const rows = listed.rows.map((r) => ({
      batchId: r.batchId ?? r.workflowId.replace(/^batch:/, ''),
      status: r.status,
      startTime: r.startTime,
      closeTime: r.closeTime,
    }));
    return page(request, reply, 200, (ctx) => views.batchesPage(ctx, rows, Date.now(), pageToken, listed.nextPage));
  });

  /** The batch named by the path, or a reply already sent for a bad or unknown id. */
  async function batchOf(request: FastifyRequest, reply: FastifyReply) {
    const { id } = request.params as { id: string };
    try {
      checkBatchId(id);
      return { batchId: id, snapshot: await batchProgress(client.temporal, id) };
    } catch (err) {
      if (err instanceof BatchError && err.type !== 'BatchNotFound') throw err;
      void message(request, reply, 404, 'No such batch', `There is no batch "${id}". Find it in the list of batches.`);
      return undefined;
    }
  }

  app.get('/batches/:id', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const found = await batchOf(request, reply);
    if (!found) return reply;
    const failures = await batchFailures(batchStore, found.batchId, found.snapshot.progress);
    return page(request, reply, 200, (ctx) => views.batchPage(ctx, found.batchId, found.snapshot, failures));
  });

  /** Sampled by the batch page every few seconds while it is open: counts only, no failures' text. */
  app.get('/batches/:id/progress.json', async (request, reply) => {
    if (!readSession(request)) return reply.code(401).send({ error: 'SignedOut', message: 'sign in again' });
    const found = await batchOf(request, reply);
    if (!found) return reply;
    const { failures: _failures, ...counts } = found.snapshot.progress;
    return { status: found.snapshot.status, at: new Date().toISOString(), ...counts };
  });

  /** The same lines as the CLI's `<batchId>.failures.jsonl`. */
  app.get('/batches/:id/failures.jsonl', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const found = await batchOf(request, reply);
    if (!found) return reply;
    const failures = await batchFailures(batchStore, found.batchId, found.snapshot.progress);
    const text = failures
      .map(
        (f) =>
          JSON.stringify({ line: f.line ?? null, workflowId: f.workflowId ?? null, type: f.type, message: f.message }) +
          '\n',
      )
      .join('');
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${found.batchId}.failures.jsonl"`)
      .send(text);
  });
}

/** Documented so the OpenAPI document lists every route served; these are pages and forms, not an API. */
function consolePaths(): GatewayRoutes['paths'] {
  const op = (operationId: string, summary: string, type = 'text/html', params: string[] = []) => ({
    operationId,
    summary,
    tags: ['console'],
    ...(params.length
      ? { parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) }
      : {}),
    responses: { '200': { description: summary, content: { [type]: { schema: { type: 'string' } } } } },
  });
  const list = op('consoleList', 'The support console: sign-in, or the list of provisionings');
  return {
    '/console': { get: list },
    '/console/': { get: { ...list, operationId: 'consoleListSlash' } },
    '/console/assets/{name}': {
      get: op('consoleAsset', 'A console script or stylesheet', 'text/javascript', ['name']),
    },
    '/console/sign-in': { post: op('consoleSignIn', 'Sign in with a gateway token (form post)') },
    '/console/sign-out': { post: op('consoleSignOut', 'Sign out (form post)') },
    '/console/provisionings/{id}': { get: op('consoleProvisioning', "A provisioning's page", 'text/html', ['id']) },
    '/console/provisionings/{id}/{action}': {
      post: op('consoleAction', 'Re-send link, mark complete or cancel (confirmed)', 'text/html', ['id', 'action']),
    },
    '/console/bulk': {
      get: op('consoleBulkDryRun', 'Bulk action: choose by filter, dry run'),
      post: op('consoleBulkConfirm', 'Bulk action: confirmed'),
    },
    '/console/batches': { get: op('consoleBatches', 'The list of batches') },
    '/console/batches/{id}': { get: op('consoleBatch', "A batch's page", 'text/html', ['id']) },
    '/console/batches/{id}/progress.json': {
      get: op('consoleBatchProgress', "A batch's counts, sampled by its page", 'application/json', ['id']),
    },
    '/console/batches/{id}/failures.jsonl': {
      get: op('consoleBatchFailures', "A batch's failures file", 'application/x-ndjson', ['id']),
    },
  };
}

export const consoleRoutes: GatewayRoutes = {
  register(app, deps) {
    void app.register((scope) => consolePlugin(scope, deps), { prefix: '/console' });
  },
  paths: consolePaths(),
};
