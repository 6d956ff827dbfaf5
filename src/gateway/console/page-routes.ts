/** The pages that read provisionings: the list (sign-in when signed out), a provisioning's page, lapsed connections. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProvisioningError, type ProvisioningClient } from '../../client.js';
import { STAGES } from '../../contract/stages.js';
import { whoActed } from '../../operations/acted.js';
import { buildQuery, countByStage, type ListedProvisioning } from '../../operations/filters.js';
import type { ConsoleContext } from './context.js';
import { filterOf, filterProblem, one, type Body } from './form.js';
import { PAGE_SIZE, pagedList, StalePage } from './paging.js';
import { guard, message, page } from './replies.js';
import { listPage, type ListRow, type ListView } from './views/list.js';
import { lapsedPage } from './views/lapsed.js';
import { detailPage, type DetailView } from './views/provisioning.js';
import { signInPage } from './views/sign-in.js';

const MAX_PAGE_SIZE = 200;
/** A row's "time in stage" asks the provisioning; one that does not answer quickly shows "?" rather than stall. */
const STATUS_TIMEOUT_MS = 3000;

/** When each listed row entered its stage: asked of running ones, in parallel; a closed one has its close time. */
async function withStageSince(client: ProvisioningClient, rows: ListedProvisioning[]): Promise<ListRow[]> {
  return Promise.all(
    rows.map(async (r) => {
      if (r.status !== 'running') return { ...r, stageSince: r.closeTime };
      const status = await client.status(r.workflowId, { timeoutMs: STATUS_TIMEOUT_MS }).catch(() => undefined);
      return { ...r, stageSince: status?.history.at(-1)?.at };
    }),
  );
}

/**
 * The provisioning's status, whether it still runs and who acted, or a reply already sent for an unknown id. A batch
 * row that ran without a workflow of its own has its status from the batch store, and no run to act on.
 */
async function statusOrMessage(
  client: ProvisioningClient,
  request: FastifyRequest,
  reply: FastifyReply,
  workflowId: string,
): Promise<Omit<DetailView, 'workflowId' | 'now'> | undefined> {
  try {
    const [status, description] = await Promise.all([
      client.status(workflowId),
      client
        .handle(workflowId)
        .describe()
        .catch((err: unknown) => {
          if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
          throw err;
        }),
    ]);
    const acted = description ? await whoActed(client.temporal, workflowId) : [];
    return { status, running: description?.status.name === 'RUNNING', acted, hasWorkflow: description !== undefined };
  } catch (err) {
    if (err instanceof ProvisioningError) {
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

export function registerPageRoutes(app: FastifyInstance, { deps: { client }, keys }: ConsoleContext): void {
  app.get('/', async (request, reply) => {
    const session = request.consoleSession;
    if (!session) return page(request, reply, 200, (ctx) => signInPage(ctx));
    const query = request.query as Body;
    const filter = filterOf(query);
    const pageToken = one(query.page);
    const size = Number(one(query.size) ?? PAGE_SIZE);
    const pageSize = Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : PAGE_SIZE;
    const now = Date.now();
    let problem: string | undefined;
    let counts = Object.fromEntries(STAGES.map((s) => [s, 0])) as ListView['counts'];
    let rows: ListRow[] = [];
    let nextPage: string | undefined;
    try {
      const q = buildQuery(filter);
      const qAnyStage = buildQuery({ ...filter, stage: undefined });
      const [c, listed] = await Promise.all([
        countByStage(client.temporal, qAnyStage),
        pagedList(client.temporal, keys.paging, q, pageSize, pageToken, JSON.stringify(filter)),
      ]);
      counts = c;
      rows = await withStageSince(client, listed.rows);
      nextPage = listed.nextPage;
    } catch (err) {
      problem =
        err instanceof StalePage
          ? 'That page link is no longer valid (the list changed, or the link is from another filter); start again from the first page.'
          : filterProblem(err);
    }
    return page(request, reply, problem ? 400 : 200, (ctx) =>
      listPage(ctx, {
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

  app.get('/lapsed', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const check = await client.lapsedConnections();
    return page(request, reply, 200, (ctx) => lapsedPage(ctx, check, Date.now()));
  });

  app.get('/provisionings/:id', async (request, reply) => {
    if (!guard(request, reply, 'read')) return reply;
    const { id } = request.params as { id: string };
    const found = await statusOrMessage(client, request, reply, id);
    if (!found) return reply;
    return page(request, reply, 200, (ctx) => detailPage(ctx, { workflowId: id, ...found, now: Date.now() }));
  });
}
