/**
 * The routes that write, each confirmed first: re-send link, mark complete or cancel on one provisioning, and the
 * same in bulk (by filter, after a dry run); reconnect or remove one provisioning that has ended. The same semantics
 * as the CLI's, from src/operations/bulk.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ProvisioningClient } from '../../client.js';
import type { ConsentLink } from '../../contract/messages.js';
import {
  actOnAll,
  BULK_ACTIONS,
  BULK_DEFAULT_LIMIT,
  findBulkTargets,
  isBulkActionName,
  isProvisioningActionName,
  PROVISIONING_ACTIONS,
  type BulkAction,
} from '../../operations/bulk.js';
import { hasFilter } from '../../operations/filters.js';
import type { ConsoleContext } from './context.js';
import { filterOf, filterProblem, one, type Body } from './form.js';
import { guard, message, page } from './replies.js';
import { bulkOutcomePage, bulkPage, type BulkView } from './views/bulk.js';
import { confirmPage, outcomePage } from './views/provisioning.js';

function actingAs(client: ProvisioningClient, session: { tokenName: string }): ProvisioningClient {
  return client.actingAs(`${session.tokenName} via the console`);
}

export function registerActionRoutes(app: FastifyInstance, { deps: { client }, csrf }: ConsoleContext): void {
  app.post('/provisionings/:id/:action', csrf, async (request, reply) => {
    const session = guard(request, reply, 'write');
    if (!session) return reply;
    const { id, action } = request.params as { id: string; action: string };
    if (!isProvisioningActionName(action)) return message(request, reply, 404, 'Not found', `No action "${action}".`);
    const body = (request.body ?? {}) as Body;
    const reason = one(body.reason);
    if (one(body.confirmed) !== 'yes') {
      return page(request, reply, 200, (ctx) => confirmPage(ctx, action, id, reason ? { reason } : {}));
    }
    // Who did it: the token's name (never the token), in the log and in the provisioning's history (the identity
    // Temporal records with the signal, update or start), so support can answer "who cancelled this?".
    request.log.info({ action, workflowId: id, token: session.tokenName }, 'console action');
    const [outcome] = await actOnAll(
      actingAs(client, session),
      [id],
      PROVISIONING_ACTIONS[action] as BulkAction<unknown>,
      {
        source: 'console',
        reason,
      },
    );
    const shown = outcome!.ok
      ? { ok: true as const, link: action === 'link' ? (outcome!.result as ConsentLink) : undefined }
      : { ok: false as const, error: outcome!.error! };
    return page(request, reply, outcome!.ok ? 200 : 409, (ctx) => outcomePage(ctx, action, id, shown));
  });

  app.get('/bulk', async (request, reply) => {
    if (!guard(request, reply, 'write')) return reply;
    const query = request.query as Body;
    const filter = filterOf(query);
    const requested = one(query.action);
    const action = requested && isBulkActionName(requested) ? requested : undefined;
    const reason = one(query.reason);
    const view: BulkView = { action, filter, reason, limit: BULK_DEFAULT_LIMIT, now: Date.now() };
    if (requested && !action) {
      view.problem = `Action: "${requested}" is not one of ${Object.keys(BULK_ACTIONS).join(', ')}.`;
    } else if (action && !hasFilter(filter)) {
      view.problem =
        'Choose at least one filter (stage, account, connector, batch or age): a bulk action never touches everything.';
    } else if (action) {
      try {
        const { targets } = BULK_ACTIONS[action];
        view.targets = (await findBulkTargets(client, filter, BULK_DEFAULT_LIMIT, new Date(), targets)).targets;
      } catch (err) {
        view.problem = filterProblem(err);
      }
    }
    return page(request, reply, view.problem ? 400 : 200, (ctx) => bulkPage(ctx, view));
  });

  app.post('/bulk', csrf, async (request, reply) => {
    const session = guard(request, reply, 'write');
    if (!session) return reply;
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
    const { targets } = await findBulkTargets(
      client,
      filter,
      BULK_DEFAULT_LIMIT,
      new Date(),
      BULK_ACTIONS[action].targets,
    );
    const ids = targets.map((t) => t.workflowId).filter((id) => chosen.has(id));
    request.log.info({ action, workflowIds: ids, token: session.tokenName }, 'console bulk action');
    const outcomes = await actOnAll(actingAs(client, session), ids, BULK_ACTIONS[action] as BulkAction<unknown>, {
      source: 'console',
      reason: one(body.reason),
    });
    return page(request, reply, 200, (ctx) => bulkOutcomePage(ctx, action, outcomes, chosen.size - ids.length));
  });
}
