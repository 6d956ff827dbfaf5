/**
 * Many batch rows in one activity (Temporal's guidance for many short items): each row is installed with one Cyclr
 * request in the normal case, its outcome written to the batch store under its workflow id (so `status <id>`
 * answers for it), and progress reported to the batch about once a second. A row that needs a customer's consent
 * is handed back: it runs as a provisionConnector child, which can wait for weeks.
 *
 * Nothing is lost or done twice: a retried activity (a worker died) skips rows whose outcome is recorded, and a
 * row that was in flight installs again idempotently (Cyclr says the Name is in use; the client adopts it).
 * Retryable failures (429, 5xx, network) are retried here, row by row, for up to a day; 429s also slow every
 * request of the worker (request-rate.ts), so the whole load backs off and no row fails because of them.
 */
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import pLimit from 'p-limit';
import type { BatchStore } from '../batch/store.js';
import {
  rowsProgressUpdate,
  type BatchFailure,
  type BatchRow,
  type ConcurrencyCap,
  type RowsResult,
} from '../contract/batch-messages.js';
import { METRIC } from '../contract/metric-names.js';
import { chooseAuthMethod, installInput, needsConsent } from '../contract/connector.js';
import { Failure, failure, failureOf } from '../contract/failures.js';
import { batchWorkflowId, provisioningWorkflowId } from '../contract/ids.js';
import { initialStatus, type ProvisioningStatus } from '../contract/messages.js';
import type { Stage } from '../contract/stages.js';
import { isRetryable } from './cyclr/errors.js';
import type { ProvisioningActivities } from './provisioning.js';
import { storeFailure } from './batch.js';

export interface BatchRowDeps {
  store: BatchStore;
  /** The provisioning activities' own calls: one way to resolve (cached), install and check. */
  provisioning: Pick<
    ProvisioningActivities,
    'resolveConnector' | 'ensureAccount' | 'installConnector' | 'checkAuthenticated' | 'removeAccountConnector'
  >;
  /** How long a row's retryable failures are retried before it fails. Default one day, as a provisioning's. */
  retryForMs?: number;
  /** CYCLR_MAX_CONCURRENT_REQUESTS: this worker's cap on requests in flight, reported when it holds a window lower. */
  maxConcurrentRequests?: number;
  /** Named in each slice's result and log line; Temporal's default worker identity unless given. */
  workerIdentity?: string;
}

export interface RowsInput {
  batchId: string;
  fromRow: number;
  toRow: number;
  pageSize: number;
  concurrency: number;
  /** Set by v3 batches, whose rows run as parallel slices: the result names the worker and any cap it met. */
  slice?: boolean;
}

type Outcome =
  | { kind: 'completed'; connector: ConnectorId; accountConnectorId: number }
  | {
      kind: 'failed';
      connector?: ConnectorId;
      error: { type: string; message: string };
      accountConnectorId?: number;
      /** False when it failed before anything was sent to the account (e.g. an unknown connector). */
      started?: boolean;
    }
  | { kind: 'needs-consent' };

type ConnectorId = { id: number; name: string };

const REPORT_EVERY_MS = 1000;
const MAX_FAILURES_PER_REPORT = 100;

export function createBatchRowActivities({
  store,
  provisioning,
  retryForMs = 24 * 3600_000,
  maxConcurrentRequests,
  workerIdentity = `${process.pid}@${hostname()}`,
}: BatchRowDeps) {
  /** The windows of the slices running in this process now, summed: what they ask of this worker at once. */
  let windowsHere = 0;

  function capHere(): ConcurrencyCap | undefined {
    if (maxConcurrentRequests === undefined || windowsHere <= maxConcurrentRequests) return undefined;
    return {
      setting: 'CYCLR_MAX_CONCURRENT_REQUESTS',
      value: maxConcurrentRequests,
      worker: workerIdentity,
      message:
        `CYCLR_MAX_CONCURRENT_REQUESTS=${maxConcurrentRequests} on worker ${workerIdentity} holds its Cyclr requests ` +
        `in flight to ${maxConcurrentRequests}, below the ${windowsHere} its batch rows ask for; raise it on the workers (or run more workers)`,
    };
  }

  /** One row, start to end, without retries of its own (see `withRetries`); `reached` says how far it got. */
  async function provisionRow(row: BatchRow, reached: { account: boolean }): Promise<Outcome> {
    const request = row.request;
    const connector = await provisioning.resolveConnector(request.connector);
    const named = { id: connector.id, name: connector.name };
    const method = chooseAuthMethod(connector, request);
    if (needsConsent(method)) return { kind: 'needs-consent' };
    reached.account = true;
    if (request.account?.create) {
      const { name, timezone } = request.account;
      await provisioning.ensureAccount({ id: request.accountId, name: name ?? request.accountId, timezone });
    }
    const input = installInput(request, connector, method);
    const installed = await provisioning.installConnector(input);
    const ref = { accountId: request.accountId, accountConnectorId: installed.accountConnectorId };
    if (installed.authenticated || (await provisioning.checkAuthenticated(ref))) {
      return { kind: 'completed', connector: named, accountConnectorId: installed.accountConnectorId };
    }
    // As a provisioning does: what cannot authenticate is not left behind.
    await provisioning.removeAccountConnector(ref);
    return {
      kind: 'failed',
      connector: named,
      error: {
        type: Failure.NotAuthenticated,
        message: `Cyclr installed ${connector.name} (account connector ${installed.accountConnectorId}) but does not report it authenticated; check authValue and properties`,
      },
    };
  }

  async function withRetries(row: BatchRow, stopped: () => boolean): Promise<Outcome> {
    const giveUpAt = Date.now() + retryForMs;
    const reached = { account: false };
    for (let attempt = 1; ; attempt++) {
      try {
        return await provisionRow(row, reached);
      } catch (err) {
        if (!isRetryable(err) || Date.now() >= giveUpAt || stopped()) {
          return { kind: 'failed', error: failureOf(err), started: reached.account };
        }
        const asked = err instanceof ApplicationFailure ? err.nextRetryDelay : undefined;
        const delay = typeof asked === 'number' ? asked : Math.min(15_000, 500 * 2 ** Math.min(attempt, 5));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  return {
    /** Rows [fromRow, toRow) of a batch; returns counts and the rows that need consent. */
    async provisionBatchRows(input: RowsInput): Promise<RowsResult> {
      const ctx = Context.current();
      const handle = ctx.client.workflow.getHandle(batchWorkflowId(input.batchId));
      const limit = pLimit(input.concurrency);
      const result: RowsResult = {
        fromRow: input.fromRow,
        takenTo: input.fromRow,
        completed: 0,
        failed: 0,
        unstarted: 0,
        consentRows: [],
        failures: [],
      };
      const failures: BatchFailure[] = [];
      let unreported: BatchFailure[] = [];
      windowsHere += input.concurrency;
      let cap = capHere();
      let stop = false;
      const stopped = () => stop || ctx.cancellationSignal.aborted;

      const report = async () => {
        const sent = unreported.slice(0, MAX_FAILURES_PER_REPORT);
        unreported = unreported.slice(sent.length);
        const answer = await handle
          .executeUpdate(rowsProgressUpdate, {
            args: [
              {
                fromRow: input.fromRow,
                completed: result.completed,
                failed: result.failed,
                inFlight: limit.activeCount,
                failures: sent,
                ...(input.slice ? { worker: workerIdentity } : {}),
                ...(input.slice && cap ? { cap } : {}),
              },
            ],
          })
          .catch(() => ({ stop: false }));
        if (answer.stop) stop = true;
      };
      let reporting = Promise.resolve();
      const timer = setInterval(() => {
        // The heartbeat does not wait for a slow report: it is how a dead worker's rows are noticed within seconds.
        ctx.heartbeat({ completed: result.completed, failed: result.failed });
        reporting = reporting.then(report);
      }, REPORT_EVERY_MS);

      // The store's first error (unreachable, a page no key opens): no new row starts, those in flight end, and the
      // activity fails with it (storeFailure: retried with back-off, or final), never recording rows as failed for it.
      let storeError: unknown;
      try {
        try {
          const rows = await readRows(store, input);
          let taken = 0;
          // p-limit starts rows in file order, so rows skipped after a stop are the tail: counted as not started.
          await Promise.all(
            rows.map((row) =>
              limit(async () => {
                if (stopped() || storeError) return;
                taken += 1;
                await settleRow(row).catch((err: unknown) => {
                  storeError ??= err;
                });
              }),
            ),
          );
          result.takenTo = input.fromRow + taken;
          if (storeError) throw storeError;
        } finally {
          clearInterval(timer);
          cap ??= capHere();
          windowsHere -= input.concurrency;
        }
        await reporting;
        await store.appendFailures(input.batchId, failures);
      } catch (err) {
        throw storeFailure(err);
      }
      result.failures = failures.slice(0, MAX_FAILURES_PER_REPORT);
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      if (input.slice) {
        // Per process, how many rows each worker ran: a log line per slice and a counter on its /metrics.
        const rows = result.takenTo - input.fromRow;
        ctx.log.info('batch slice done', {
          batchId: input.batchId,
          fromRow: input.fromRow,
          toRow: input.toRow,
          rows,
          worker: workerIdentity,
        });
        const counter = ctx.metricMeter.createCounter(METRIC.batchRows, 'rows', 'Batch rows run by this worker');
        counter.add(result.completed, { outcome: 'completed' });
        counter.add(result.failed, { outcome: 'failed' });
        counter.add(result.consentRows.length, { outcome: 'needs-consent' });
        return { ...result, worker: workerIdentity, ...(cap ? { cap } : {}) };
      }
      return result;

      async function settleRow(row: BatchRow): Promise<void> {
        const workflowId = provisioningWorkflowId(row.request);
        const known = await store.readRow(workflowId, { olderLayout: false });
        if (known?.status.stage === 'completed') {
          result.completed += 1; // a re-run, or a retried activity: done already
          return;
        }
        const startedAt = new Date().toISOString();
        const outcome = await withRetries(row, stopped);
        if (outcome.kind === 'needs-consent') {
          result.consentRows.push(row);
          return;
        }
        const stage: Stage = outcome.kind;
        const begun = initialStatus(row.request);
        const status: ProvisioningStatus = {
          ...begun,
          stage,
          connector: outcome.connector ?? begun.connector,
          ...(outcome.accountConnectorId !== undefined ? { accountConnectorId: outcome.accountConnectorId } : {}),
          history: [
            { stage: 'installing', at: startedAt },
            { stage, at: new Date().toISOString() },
          ],
          batchId: input.batchId,
          ...(outcome.kind === 'failed' ? { lastError: outcome.error } : {}),
        };
        await store.writeRow({ workflowId, batchId: input.batchId, line: row.line, status });
        if (outcome.kind === 'completed') {
          result.completed += 1;
        } else {
          result.failed += 1;
          if (outcome.started === false) result.unstarted += 1;
          const failure = { workflowId, line: row.line, ...outcome.error };
          failures.push(failure);
          unreported.push(failure);
        }
      }
    },
  };
}

/** The rows [fromRow, toRow), read page by page from the store. */
async function readRows(store: BatchStore, { batchId, fromRow, toRow, pageSize }: RowsInput): Promise<BatchRow[]> {
  const rows: BatchRow[] = [];
  for (let page = Math.floor(fromRow / pageSize); page * pageSize < toRow; page++) {
    const first = page * pageSize;
    const slice = (await store.readPage(batchId, page)).slice(Math.max(0, fromRow - first), toRow - first);
    rows.push(...slice);
  }
  if (rows.length !== toRow - fromRow) {
    throw failure(
      Failure.BatchStoreCorrupt,
      `batch "${batchId}" has fewer rows than its manifest says (rows ${fromRow}-${toRow - 1})`,
    );
  }
  return rows;
}

export type BatchRowActivities = ReturnType<typeof createBatchRowActivities>;
