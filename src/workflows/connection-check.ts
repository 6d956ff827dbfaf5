/**
 * checkConnections: run by the connection-check Schedule. It looks at every account with a completed provisioning,
 * one Cyclr list per account, and for each connection Cyclr no longer reports authenticated sends
 * `provisioning.connection_lapsed` and, when asked to, starts a reconnect. Its result is what `list --lapsed` shows.
 */
import { ActivityFailure, continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ConnectionCheckActivities } from '../activities/connection-check.js';
import {
  lapseEventId,
  MAX_LAPSES_LISTED,
  type AccountCheck,
  type ConnectionCheckInput,
  type ConnectionCheckResult,
} from '../contract/connection-check.js';
import { NON_RETRYABLE } from '../contract/failures.js';
import { events } from './provisioning-activities.js';

/** Accounts looked at together; the shared request rate paces the Cyclr side whatever this is. */
const ACCOUNTS_AT_ONCE = 10;

/** An account Cyclr keeps failing on is left for the next check rather than holding this one up. */
const retry = {
  initialInterval: '1s',
  maximumInterval: '30s',
  maximumAttempts: 5,
  nonRetryableErrorTypes: [...NON_RETRYABLE],
};

/** One account's look heartbeats, so a worker that dies mid-account hands it on within seconds. */
const look = proxyActivities<Pick<ConnectionCheckActivities, 'checkAccount'>>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '15s',
  retry,
});

const check = proxyActivities<Pick<ConnectionCheckActivities, 'accountsToCheck' | 'reconnectLapsed'>>({
  startToCloseTimeout: '5m',
  retry,
});

export async function checkConnections(input: ConnectionCheckInput = {}): Promise<ConnectionCheckResult> {
  const found: ConnectionCheckResult = input.sofar ?? {
    startedAt: new Date().toISOString(),
    accounts: 0,
    connections: 0,
    cyclrRequests: 0,
    lapsedTotal: 0,
    lapsed: [],
    reconnectsStarted: 0,
    failedAccounts: [],
  };
  const accounts = input.remaining ?? (await check.accountsToCheck());
  for (let next = 0; next < accounts.length; next += ACCOUNTS_AT_ONCE) {
    if (workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof checkConnections>({ ...input, remaining: accounts.slice(next), sofar: found });
    }
    const group = accounts.slice(next, next + ACCOUNTS_AT_ONCE);
    await Promise.all(group.map((accountId) => checkOne(accountId, found, input.autoReconnect === true)));
  }
  return { ...found, finishedAt: new Date().toISOString() };
}

async function checkOne(accountId: string, found: ConnectionCheckResult, autoReconnect: boolean): Promise<void> {
  let result: AccountCheck;
  try {
    result = await look.checkAccount({ accountId });
  } catch (err) {
    const error = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
    log.warn('connection check: account not checked', { accountId, error });
    found.failedAccounts.push({ accountId, error });
    return;
  }
  found.accounts++;
  found.connections += result.connections;
  found.cyclrRequests += result.cyclrRequests;
  found.lapsedTotal += result.lapsed.length;
  await Promise.all(
    result.lapsed.map(async ({ notifyUrl, ...lapse }) => {
      if (found.lapsed.length < MAX_LAPSES_LISTED) found.lapsed.push(lapse);
      if (notifyUrl) {
        const event = {
          id: lapseEventId(lapse),
          type: 'provisioning.connection_lapsed' as const,
          timestamp: new Date().toISOString(),
          data: {
            workflowId: lapse.workflowId,
            accountId: lapse.accountId,
            connector: lapse.connector,
            accountConnectorId: lapse.accountConnectorId,
            reason:
              lapse.reason === 'gone'
                ? 'Cyclr no longer lists this account connector'
                : 'Cyclr no longer reports this account connector authenticated',
          },
        };
        await events.sendEvent({ notifyUrl, event }).catch((err: unknown) => {
          log.warn('event not delivered', { type: event.type, workflowId: lapse.workflowId, error: String(err) });
        });
      }
      if (!autoReconnect) return;
      const started = await check.reconnectLapsed({ workflowId: lapse.workflowId }).catch((err: unknown) => {
        log.warn('connection check: reconnect not started', { workflowId: lapse.workflowId, error: String(err) });
        return false;
      });
      if (started) found.reconnectsStarted++;
    }),
  );
}
