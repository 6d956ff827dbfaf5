/**
 * The connection check: a Temporal Schedule runs `checkConnections`, which asks Cyclr about every completed
 * provisioning's account connector, one request per account, and reports each one Cyclr no longer reports
 * authenticated (an event, and a reconnect when configured). Shared by the workflow, the worker and the client.
 */

/** One schedule per namespace and task queue; every worker ensures it at start (the last one started sets it). */
export function connectionCheckScheduleId(taskQueue: string): string {
  return `connection-check:${taskQueue}`;
}

/** Why a completed connection counts as lapsed. */
export type LapseReason =
  /** Cyclr lists the account connector, but no longer reports it `Authenticated` (revoked, expired). */
  | 'not-authenticated'
  /** Cyclr no longer lists it: uninstalled outside the provisioner. */
  | 'gone';

/** A completed provisioning, as the check sees it: the run that completed and the account connector it made. */
export interface CompletedConnection {
  workflowId: string;
  /**
   * The run that completed: a later lapse of a reconnected provisioning is another lapse (another event id). A batch
   * row that completed at install without a run of its own: `batch:<batchId>`.
   */
  runId: string;
  accountId: string;
  connector: { id?: number; name?: string };
  accountConnectorId: number;
}

export interface LapsedConnection extends CompletedConnection {
  reason: LapseReason;
}

/** One account's check: what it found, and where each lapse is reported (the request's own notifyUrl). */
export interface AccountCheck {
  accountId: string;
  /** Completed provisionings in the account. */
  connections: number;
  /** Requests sent to Cyclr for this account (its connector list, one per page). */
  cyclrRequests: number;
  lapsed: (LapsedConnection & { notifyUrl?: string })[];
}

export interface ConnectionCheckInput {
  /** Start a reconnect for each lapse found (CONNECTION_AUTO_RECONNECT). */
  autoReconnect?: boolean;
  /** Carried over by continue-as-new: the accounts still to check, and the findings so far. */
  remaining?: string[];
  sofar?: ConnectionCheckResult;
}

/** At most this many lapses are kept in a check's result (the count is exact); `list --lapsed` reads it. */
export const MAX_LAPSES_LISTED = 5_000;

export interface ConnectionCheckResult {
  startedAt: string;
  finishedAt?: string;
  accounts: number;
  connections: number;
  cyclrRequests: number;
  lapsedTotal: number;
  lapsed: LapsedConnection[];
  reconnectsStarted: number;
  /** Accounts the check could not finish (Cyclr kept failing); they are checked again next time. */
  failedAccounts: { accountId: string; error: string }[];
}

/** Stable per lapse (the completed run it ended), so a receiver drops the repeats of later checks. */
export function lapseEventId(lapse: Pick<LapsedConnection, 'workflowId' | 'runId'>): string {
  return `${lapse.workflowId}/${lapse.runId}/connection_lapsed`;
}
