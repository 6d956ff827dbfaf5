/**
 * Completed provisionings as connections to check, read from Temporal (visibility and each run's result): never a
 * Cyclr request. The connection check's activities get these through the worker; `list --lapsed` reads the latest
 * check's findings from its schedule.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import pLimit from 'p-limit';
import {
  connectionCheckScheduleId,
  type CompletedConnection,
  type ConnectionCheckResult,
} from '../contract/connection-check.js';
import type { ProvisioningResult, RemovalResult } from '../contract/messages.js';
import { ConnectorName, CyclrAccountId, ProvisioningStage } from '../contract/search-attributes.js';
import { buildQuery, literal } from './filters.js';
import type { BatchStore } from '../batch/store.js';

/** Results read at once per account: each is one small history read. */
const RESULT_READS = 16;

/** Only this deployment's provisionings: a namespace may hold others' (other task queues, other Cyclr partners). */
function onQueue(query: string, taskQueue: string): string {
  return `${query} AND TaskQueue = ${literal(taskQueue)}`;
}

/**
 * The accounts with at least one provisioning whose latest run completed, or a batch row recorded in `store` (a few
 * extra are harmless).
 */
export async function accountsWithCompleted(client: Client, taskQueue: string, store?: BatchStore): Promise<string[]> {
  const accounts = new Set<string>(store ? await store.accountsWithRows() : []);
  const query = onQueue(buildQuery({ stage: 'completed' }), taskQueue);
  for await (const info of client.workflow.list({ query, pageSize: 1000 })) {
    const account = info.typedSearchAttributes.get(CyclrAccountId);
    if (account) accounts.add(account);
  }
  return [...accounts].sort();
}

/**
 * The account's provisionings whose latest run completed, each with its account connector (from that run's
 * result). Earlier runs of an id that was since reconnected or removed are not counted. With `store` (the task
 * queue's), also the account's batch rows that completed at install and have no run of their own yet.
 */
export async function completedConnections(
  client: Client,
  taskQueue: string,
  accountId: string,
  onRead: () => void = () => undefined,
  store?: BatchStore,
): Promise<CompletedConnection[]> {
  const latest = new Map<string, WorkflowExecutionInfo>();
  const query = onQueue(buildQuery({ account: accountId }), taskQueue);
  for await (const info of client.workflow.list({ query, pageSize: 1000 })) {
    const seen = latest.get(info.workflowId);
    if (!seen || info.startTime > seen.startTime) latest.set(info.workflowId, info);
  }
  const completed = [...latest.values()].filter(
    (info) => info.status.name === 'COMPLETED' && info.typedSearchAttributes.get(ProvisioningStage) === 'completed',
  );
  const read = pLimit(RESULT_READS);
  const connections = await Promise.all(
    completed.map((info) =>
      read(async (): Promise<CompletedConnection | undefined> => {
        const handle = client.workflow.getHandle(info.workflowId, info.runId, { followRuns: false });
        const result = (await handle.result()) as ProvisioningResult | RemovalResult;
        onRead();
        if ('removed' in result) return undefined;
        const name = info.typedSearchAttributes.get(ConnectorName);
        return {
          workflowId: info.workflowId,
          runId: info.runId,
          accountId,
          connector: { id: result.connectorId, ...(name ? { name } : {}) },
          accountConnectorId: result.accountConnectorId,
        };
      }),
    ),
  );
  const rows = store ? await store.rowsOfAccount(accountId) : [];
  onRead();
  const batchRows = rows
    .filter((r) => !latest.has(r.workflowId))
    .filter((r) => r.status.stage === 'completed' && r.status.accountConnectorId !== undefined)
    .map((r): CompletedConnection => ({
      workflowId: r.workflowId,
      runId: `batch:${r.batchId}`,
      accountId,
      connector: { ...r.status.connector },
      accountConnectorId: r.status.accountConnectorId!,
    }));
  return [...connections.filter((c): c is CompletedConnection => c !== undefined), ...batchRows];
}

/**
 * The findings of the latest connection check that finished: the schedule's most recently closed run that completed
 * (visibility lists closed runs newest first). None before the first check has finished.
 */
export async function latestConnectionCheck(
  client: Client,
  taskQueue: string,
): Promise<ConnectionCheckResult | undefined> {
  const query = `TemporalScheduledById = ${literal(connectionCheckScheduleId(taskQueue))} AND ExecutionStatus = 'Completed'`;
  for await (const run of client.workflow.list({ query, pageSize: 1 })) {
    return client.workflow.getHandle<() => Promise<ConnectionCheckResult>>(run.workflowId, run.runId).result();
  }
  return undefined;
}
