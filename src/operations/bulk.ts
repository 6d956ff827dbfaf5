/**
 * Acting on many provisionings at once, with one set of semantics for the CLI and the support console: a filter
 * chooses running provisionings only (at most a limit), the caller shows that list (a dry run) and asks for
 * confirmation, then each is acted on, a few at a time, and every outcome is reported.
 */
import pLimit from 'p-limit';
import type { ProvisioningClient, RemovedProvisioning, StartedProvisioning } from '../client.js';
import type { ConsentLink } from '../contract/messages.js';
import { buildQuery, listProvisionings, type FilterValues, type ListedProvisioning } from './filters.js';
import { Failure } from '../contract/failures.js';

/** Targets of one bulk action unless a limit is given: enough for any real clean-up, bounded against a typo. */
export const BULK_DEFAULT_LIMIT = 1000;

export interface ActionInput {
  /** Who asked, recorded with the signal (e.g. "cli", "console"). */
  source: 'cli' | 'console';
  reason?: string;
}

export interface BulkAction<R> {
  /** The verb for prompts and summaries, e.g. "cancel". */
  verb: string;
  /** Which provisionings a filter chooses: running ones (the default), or any not removed yet (offboarding). */
  targets?: 'running' | 'not-removed';
  act(client: ProvisioningClient, workflowId: string, input: ActionInput): Promise<R>;
}

export const linkAction: BulkAction<ConsentLink> = {
  verb: 'issue new links for',
  act: (client, id) => client.issueConsentLink(id),
};

export const completeAction: BulkAction<{ signalled: true }> = {
  verb: 'mark complete',
  act: async (client, id, { source }) => {
    await client.completeConsent(id, source);
    return { signalled: true };
  },
};

export const cancelAction: BulkAction<{ cancelled: true }> = {
  verb: 'cancel',
  act: async (client, id, { source, reason }) => {
    await client.cancel(
      id,
      reason?.trim() || (source === 'cli' ? 'cancelled from the CLI' : 'cancelled from the console'),
    );
    return { cancelled: true };
  },
};

/** Offboarding: ended provisionings as well as running ones (those are cancelled first); removed ones are skipped. */
export const removeAction: BulkAction<RemovedProvisioning> = {
  verb: 'remove',
  targets: 'not-removed',
  act: (client, id) => client.remove(id),
};

/** A new run under the same id: completes at once if Cyclr still holds the connection, else asks for consent again. */
export const reconnectAction: BulkAction<StartedProvisioning> = {
  verb: 'reconnect',
  targets: 'not-removed',
  act: (client, id) => client.reconnect(id),
};

/** What may be done to many at once (the CLI's bulk forms and the console's bulk page). */
export const BULK_ACTIONS = {
  link: linkAction,
  complete: completeAction,
  cancel: cancelAction,
  remove: removeAction,
} as const;
export type BulkActionName = keyof typeof BULK_ACTIONS;

export function isBulkActionName(name: string): name is BulkActionName {
  return Object.hasOwn(BULK_ACTIONS, name);
}

/** What support may do to one provisioning: the bulk actions, and reconnect one that has ended. */
export const PROVISIONING_ACTIONS = { ...BULK_ACTIONS, reconnect: reconnectAction } as const;
export type ProvisioningActionName = keyof typeof PROVISIONING_ACTIONS;

export function isProvisioningActionName(name: string): name is ProvisioningActionName {
  return Object.hasOwn(PROVISIONING_ACTIONS, name);
}

export interface BulkTargets {
  query: string;
  targets: ListedProvisioning[];
  limit: number;
}

/** What a bulk action would touch: running provisionings matching the filter, newest first, at most `limit`. */
export async function findBulkTargets(
  client: ProvisioningClient,
  filter: FilterValues,
  limit = BULK_DEFAULT_LIMIT,
  now = new Date(),
  targets: BulkAction<unknown>['targets'] = 'running',
): Promise<BulkTargets> {
  const query = buildQuery(filter, { runningOnly: targets === 'running', now });
  const listed = await listProvisionings(client.temporal, query, limit);
  if (targets === 'running') return { query, limit, targets: listed };
  // Every run of an id is listed (a removal is a run of its own): each id counts by its newest run (listed first).
  const newest = new Map<string, ListedProvisioning>();
  for (const p of listed) if (!newest.has(p.workflowId)) newest.set(p.workflowId, p);
  return { query, limit, targets: [...newest.values()].filter((p) => p.stage !== 'removed') };
}

export interface Outcome<R> {
  workflowId: string;
  ok: boolean;
  result?: R;
  error?: { type: string; message: string };
}

/** A few at a time: enough to be quick, gentle on the server. One failure never stops the others. */
export async function actOnAll<R>(
  client: ProvisioningClient,
  workflowIds: readonly string[],
  action: BulkAction<R>,
  input: ActionInput,
): Promise<Outcome<R>[]> {
  return pLimit(8).map(workflowIds, async (workflowId): Promise<Outcome<R>> => {
    try {
      return { workflowId, ok: true, result: await action.act(client, workflowId, input) };
    } catch (err) {
      const e = err as { type?: string; message?: string };
      return { workflowId, ok: false, error: { type: e.type ?? Failure.Error, message: e.message ?? String(err) } };
    }
  });
}
