/**
 * The connection check's calls: which accounts to look at, one account's look (one Cyclr list per account, however
 * many connections it holds), and a reconnect of a lapsed one. What is read from Temporal comes in through `deps`,
 * so these stay below the client (the worker builds them from its own connection).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { CyclrClient } from './cyclr/cyclr-client.js';
import { isBudgetBusy, isNotFound } from './cyclr/errors.js';
import { IDLE_TURN_WAIT_MS } from './cyclr/request-rate.js';
import type { AccountCheck, CompletedConnection, LapsedConnection } from '../contract/connection-check.js';

export interface ConnectionCheckDeps {
  cyclr: Pick<CyclrClient, 'listAccountConnectors'>;
  /** Accounts with at least one completed provisioning. */
  accountsWithCompleted(): Promise<string[]>;
  /** The account's completed provisionings (latest runs), each with its account connector; `onRead` per run read. */
  completedConnections(accountId: string, onRead?: () => void): Promise<CompletedConnection[]>;
  /** Where the provisioning's events go (its request's notifyUrl), if anywhere. */
  notifyUrlOf(workflowId: string): Promise<string | undefined>;
  /** Starts a reconnect (a running provisioning is left as it is); true when this call started one. */
  reconnect(workflowId: string): Promise<boolean>;
}

export function createConnectionCheckActivities(deps: ConnectionCheckDeps) {
  return {
    async accountsToCheck(): Promise<string[]> {
      return deps.accountsWithCompleted();
    },

    /** Lists the account's connectors at Cyclr once and compares each completed provisioning's with it. */
    async checkAccount(input: { accountId: string }): Promise<AccountCheck> {
      const { accountId } = input;
      // Heartbeats: a worker that dies mid-account hands it on in seconds, not at the activity's timeout.
      const alive = () => Context.current().heartbeat();
      const connections = await deps.completedConnections(accountId, alive);
      if (!connections.length) return { accountId, connections: 0, cyclrRequests: 0, lapsed: [] };
      let cyclrRequests = 0;
      const wanted = new Set(connections.map((c) => c.accountConnectorId));
      const list = () =>
        deps.cyclr.listAccountConnectors(accountId, {
          // Every one it came for is listed: the pages after cannot change the answer.
          found: (soFar) => soFar.filter((ac) => wanted.has(ac.Id)).length >= wanted.size,
          onPage: () => {
            cyclrRequests++;
            alive();
          },
          // Nobody waits on a periodic check: it gives way on a busy request budget.
          lane: 'idle',
        });
      const listed = await untilSent(list, alive).catch((err: unknown) => {
        // The account itself is gone at Cyclr (deleted): so is every connector in it.
        if (!isNotFound(err)) throw err;
        cyclrRequests++;
        return [];
      });
      const byId = new Map(listed.map((ac) => [ac.Id, ac]));
      const lapsed: AccountCheck['lapsed'] = [];
      for (const c of connections) {
        const ac = byId.get(c.accountConnectorId);
        if (ac?.Authenticated === true) continue;
        const lapse: LapsedConnection = { ...c, reason: ac ? 'not-authenticated' : 'gone' };
        const notifyUrl = await deps.notifyUrlOf(c.workflowId);
        lapsed.push(notifyUrl ? { ...lapse, notifyUrl } : lapse);
      }
      return { accountId, connections: connections.length, cyclrRequests, lapsed };
    },

    async reconnectLapsed(input: { workflowId: string }): Promise<boolean> {
      return deps.reconnect(input.workflowId);
    },
  };
}

/** Asks again, a second apart, while the request budget is busy, heartbeating. */
async function untilSent<T>(call: () => Promise<T>, alive: () => void): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isBudgetBusy(err)) throw err;
      alive();
      await sleep(IDLE_TURN_WAIT_MS);
    }
  }
}

export type ConnectionCheckActivities = ReturnType<typeof createConnectionCheckActivities>;
