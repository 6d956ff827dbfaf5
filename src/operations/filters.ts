/**
 * Filters over provisionings, shared by the CLI (`list` and the bulk forms of `link`, `complete`, `cancel`) and the
 * support console: turned into Temporal visibility queries over our typed search attributes, so nothing is ever
 * listed by loading everything.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import pLimit from 'p-limit';
import { BatchNotFoundError, type BatchStore, type RowRecord } from '../batch/store.js';
import { provisioningWorkflowId } from '../contract/ids.js';
import { z } from 'zod';
import { isStage, STAGES, type Stage } from '../contract/stages.js';
import { BatchId, ConnectorName, CyclrAccountId, ProvisioningStage } from '../contract/search-attributes.js';

/** The filter fields, named as the CLI's flags (without `--`) and the console's form fields. */
export interface FilterValues {
  stage?: string;
  account?: string;
  connector?: string;
  batch?: string;
  'older-than'?: string;
  limit?: string;
}

/** A filter value that cannot be used; `field` names it (as in FilterValues) and `problem` says what to do. */
export class FilterError extends Error {
  constructor(
    readonly field: keyof FilterValues,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const AGE = /^(\d+)([smhdw])$/;

/** Visibility queries take quoted literals; a value with both quote kinds cannot be expressed. */
const searchable = z
  .string()
  .refine((v) => !(v.includes('"') && v.includes("'")), `values with both ' and " cannot be searched for`);

/** What each filter field may be, with the fix in the message (the CLI prefixes the flag, the console the label). */
const filterSchema = z.object({
  stage: z
    .string()
    .refine(isStage, (v) => ({ message: `"${v}" is not a stage; use one of ${STAGES.join(', ')}` }))
    .optional(),
  account: searchable.optional(),
  connector: searchable.optional(),
  batch: searchable.optional(),
  'older-than': z
    .string()
    .refine(
      (v) => AGE.test(v.trim()),
      (v) => ({ message: `"${v}" is not an age; use a number and a unit, e.g. 30m, 12h, 14d, 2w` }),
    )
    .optional(),
  limit: z
    .string()
    .refine(
      (v) => Number.isInteger(Number(v)) && Number(v) >= 1,
      (v) => ({ message: `"${v}" must be a whole number of at least 1` }),
    )
    .optional(),
});

/** The values, checked; the first bad field as a FilterError. */
export function checkFilter(v: FilterValues): FilterValues {
  const checked = filterSchema.safeParse(v);
  if (checked.success) return checked.data;
  const [issue] = checked.error.issues;
  throw new FilterError(issue!.path[0] as keyof FilterValues, issue!.message);
}

/** "90s", "30m", "12h", "14d", "2w" -> milliseconds. */
function ageMs(raw: string): number {
  const [, n, unit] = AGE.exec(raw.trim())!;
  return Number(n) * UNIT_MS[unit!]!;
}

export function parseLimit(raw: string | undefined, fallback: number): number {
  return raw === undefined ? fallback : Number(checkFilter({ limit: raw }).limit);
}

/** A value as a visibility query literal (quoted with the kind of quote it does not contain). */
export function literal(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

export function hasFilter(v: FilterValues): boolean {
  return Boolean(v.stage || v.account || v.connector || v.batch || v['older-than']);
}

export interface QueryOptions {
  /** Bulk actions only touch running provisionings. */
  runningOnly?: boolean;
  now?: Date;
}

export function buildQuery(values: FilterValues, opts: QueryOptions = {}): string {
  const v = checkFilter(values);
  const clauses = [`WorkflowType = 'provisionConnector'`];
  if (v.stage !== undefined) clauses.push(`${ProvisioningStage.name} = ${literal(v.stage)}`);
  if (v.account !== undefined) clauses.push(`${CyclrAccountId.name} = ${literal(v.account)}`);
  if (v.connector !== undefined) clauses.push(`${ConnectorName.name} = ${literal(v.connector)}`);
  if (v.batch !== undefined) clauses.push(`${BatchId.name} = ${literal(v.batch)}`);
  if (v['older-than'] !== undefined) {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - ageMs(v['older-than']));
    clauses.push(`StartTime < "${cutoff.toISOString()}"`);
  }
  if (opts.runningOnly) clauses.push(`ExecutionStatus = 'Running'`);
  return clauses.join(' AND ');
}

export interface ListedProvisioning {
  workflowId: string;
  /** The run listed: a provisioning that was reconnected or removed has several, and only the latest is listed. */
  runId?: string;
  stage?: string;
  accountId?: string;
  connector?: string;
  batchId?: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

/** A listed execution, from the client's decoded form or the service's raw one. */
interface ExecutionFields {
  workflowId: string;
  runId?: string;
  keyword(key: typeof BatchId): string | undefined;
  status: string;
  startTime: Date;
  closeTime?: Date;
}

function listed(e: ExecutionFields): ListedProvisioning {
  const batchId = e.keyword(BatchId);
  return {
    workflowId: e.workflowId,
    ...(e.runId ? { runId: e.runId } : {}),
    stage: e.keyword(ProvisioningStage),
    accountId: e.keyword(CyclrAccountId),
    connector: e.keyword(ConnectorName),
    ...(batchId ? { batchId } : {}),
    status: e.status.toLowerCase(),
    startTime: e.startTime.toISOString(),
    ...(e.closeTime ? { closeTime: e.closeTime.toISOString() } : {}),
  };
}

export function toListed(info: WorkflowExecutionInfo): ListedProvisioning {
  return listed({
    workflowId: info.workflowId,
    runId: info.runId,
    keyword: (key) => info.typedSearchAttributes.get(key),
    status: info.status.name,
    startTime: info.startTime,
    closeTime: info.closeTime,
  });
}

type RawExecution = proto.temporal.api.workflow.v1.IWorkflowExecutionInfo;
const { WorkflowExecutionStatus } = proto.temporal.api.enums.v1;

/** The status as the client names it (WorkflowExecutionStatusName: CANCELLED with two Ls). */
function statusName(code: RawExecution['status']): string {
  const name = WorkflowExecutionStatus[code ?? 0]?.replace('WORKFLOW_EXECUTION_STATUS_', '') ?? 'UNKNOWN';
  return name === 'CANCELED' ? 'CANCELLED' : name;
}

/** A protobuf timestamp as a Date (undefined when unset). */
export function dateOf(ts: proto.google.protobuf.ITimestamp | null | undefined): Date | undefined {
  if (!ts?.seconds) return undefined;
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000));
}

/**
 * A raw visibility row (listWorkflowExecutions) as a list entry, by public API. Our search attributes are keywords,
 * and a keyword's payload is plain JSON; the memo (which may be encrypted) is not needed.
 */
export function rawToListed(raw: RawExecution): ListedProvisioning {
  const fields = raw.searchAttributes?.indexedFields ?? {};
  return listed({
    workflowId: raw.execution?.workflowId ?? '',
    runId: raw.execution?.runId ?? undefined,
    keyword: (key) => {
      const payload = fields[key.name];
      const value = payload ? defaultPayloadConverter.fromPayload<unknown>(payload) : undefined;
      return typeof value === 'string' ? value : undefined;
    },
    status: statusName(raw.status),
    startTime: dateOf(raw.startTime) ?? new Date(0),
    closeTime: dateOf(raw.closeTime),
  });
}

/** Newest first (the server's order), stopping at `limit`; the latest run of each provisioning only. */
export async function listProvisionings(client: Client, query: string, limit: number): Promise<ListedProvisioning[]> {
  const found: ListedProvisioning[] = [];
  for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
    found.push(toListed(info));
    if (found.length >= limit) break;
  }
  return latestRunsOnly(client, found);
}

/** Runs described at once when a list is checked for superseded runs. */
const DESCRIBES_AT_ONCE = 16;

/**
 * Visibility keeps every run: a provisioning reconnected or removed has an earlier run that still matches its old
 * stage (`--stage completed` would list a removed one). A closed run is kept only if it is its id's latest; a
 * running one always is.
 */
async function latestRunsOnly(client: Client, rows: ListedProvisioning[]): Promise<ListedProvisioning[]> {
  const describe = pLimit(DESCRIBES_AT_ONCE);
  const closed = [...new Set(rows.filter((r) => r.status !== 'running' && r.runId).map((r) => r.workflowId))];
  const latest = new Map(
    await Promise.all(
      closed.map((id) => describe(async () => [id, (await client.workflow.getHandle(id).describe()).runId] as const)),
    ),
  );
  return rows.filter((r) => r.status === 'running' || !r.runId || latest.get(r.workflowId) === r.runId);
}

export interface ListedPage {
  rows: ListedProvisioning[];
  /** Opaque (base64url); pass it back for the next page. Absent on the last page. */
  nextPage?: string;
}

/**
 * One page of a visibility query, and a cursor for the next. `workflow.list` only iterates from the start, so a page
 * far down a list of tens of thousands would mean reading every page before it; the server's page token does not.
 */
export async function listPage(client: Client, query: string, pageSize: number, page?: string): Promise<ListedPage> {
  const { namespace } = client.workflow.options;
  const response = await client.workflowService.listWorkflowExecutions({
    namespace,
    query,
    pageSize,
    nextPageToken: page ? Buffer.from(page, 'base64url') : undefined,
  });
  const rows = await latestRunsOnly(client, response.executions.map(rawToListed));
  const token = response.nextPageToken;
  return { rows, ...(token && token.length ? { nextPage: Buffer.from(token).toString('base64url') } : {}) };
}

/** How many provisionings a query matches at each stage (one count per stage; visibility counts are cheap). */
export async function countByStage(client: Client, query: string): Promise<Record<Stage, number>> {
  const counts = await Promise.all(
    STAGES.map(async (stage) => {
      const { count } = await client.workflow.count(`${query} AND ${ProvisioningStage.name} = "${stage}"`);
      return [stage, count] as const;
    }),
  );
  return Object.fromEntries(counts) as Record<Stage, number>;
}

/**
 * The rows of batch `batchId` that ran without a workflow of their own (their outcome is in the batch store), as
 * list entries matching the same filters; `skip` holds ids already listed from Temporal (a row that ran as a child).
 */
export async function listBatchRows(
  store: BatchStore,
  v: FilterValues & { batch: string },
  limit: number,
  skip: ReadonlySet<string>,
  now = new Date(),
): Promise<ListedProvisioning[]> {
  checkFilter(v);
  const found: ListedProvisioning[] = [];
  for await (const row of rowsOrNone(store.rows(v.batch))) {
    if (found.length >= limit) break;
    const workflowId = provisioningWorkflowId(row.request);
    if (skip.has(workflowId)) continue;
    const record = await store.readRow(workflowId);
    const entry = record && record.batchId === v.batch ? rowEntry(record, v, now) : undefined;
    if (entry) found.push(entry);
  }
  return found;
}

/**
 * An account's batch rows that ran without a workflow of their own (newest first), as list entries matching the
 * same filters; `skip` holds ids already listed from Temporal.
 */
export async function listAccountRows(
  store: BatchStore,
  v: FilterValues & { account: string },
  limit: number,
  skip: ReadonlySet<string>,
  now = new Date(),
): Promise<ListedProvisioning[]> {
  checkFilter(v);
  return (await store.rowsOfAccount(v.account))
    .filter((record) => !skip.has(record.workflowId) && (v.batch === undefined || record.batchId === v.batch))
    .map((record) => rowEntry(record, v, now))
    .filter((entry): entry is ListedProvisioning => entry !== undefined)
    .sort((a, b) => b.startTime.localeCompare(a.startTime))
    .slice(0, limit);
}

/** A row's recorded outcome as a list entry, if it matches the filters. */
function rowEntry(record: RowRecord, v: FilterValues, now: Date): ListedProvisioning | undefined {
  const { status } = record;
  const startTime = status.history[0]?.at ?? '';
  const cutoff = v['older-than'] !== undefined ? now.getTime() - ageMs(v['older-than']) : undefined;
  if (v.stage !== undefined && status.stage !== v.stage) return undefined;
  if (v.account !== undefined && status.accountId !== v.account) return undefined;
  if (v.connector !== undefined && status.connector.name !== v.connector) return undefined;
  if (cutoff !== undefined && !(Date.parse(startTime) < cutoff)) return undefined;
  return {
    workflowId: record.workflowId,
    stage: status.stage,
    accountId: status.accountId,
    ...(status.connector.name ? { connector: status.connector.name } : {}),
    batchId: record.batchId,
    status: 'batch row',
    startTime,
    ...(status.history.at(-1)?.at ? { closeTime: status.history.at(-1)!.at } : {}),
  };
}

/** A batch the store does not hold (another deployment's, or a mistyped id) has no rows to add. */
async function* rowsOrNone<T>(rows: AsyncGenerator<T>): AsyncGenerator<T> {
  try {
    yield* rows;
  } catch (err) {
    if (!(err instanceof BatchNotFoundError)) throw err;
  }
}
