/**
 * The filters `list` and the bulk forms of `link`, `complete` and `cancel` share, turned into a Temporal visibility
 * query over our typed search attributes.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { isStage, STAGES } from '../workflows/stages.js';
import { BatchId, ConnectorName, CyclrAccountId, ProvisioningStage } from '../workflows/search-attributes.js';
import { UsageError } from './command.js';

export const filterOptions = {
  stage: { type: 'string' },
  account: { type: 'string' },
  connector: { type: 'string' },
  batch: { type: 'string' },
  'older-than': { type: 'string' },
  limit: { type: 'string' },
} as const;

export interface FilterValues {
  stage?: string;
  account?: string;
  connector?: string;
  batch?: string;
  'older-than'?: string;
  limit?: string;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "30m", "12h", "14d", "2w" -> milliseconds. */
export function parseAge(flag: string, raw: string): number {
  const m = /^(\d+)([smhdw])$/.exec(raw.trim());
  if (!m) throw new UsageError(`${flag}: "${raw}" is not an age; use a number and a unit, e.g. 30m, 12h, 14d, 2w`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

export function parseLimit(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit: "${raw}" must be a whole number of at least 1`);
  return n;
}

/** Visibility queries take quoted literals; a value with both quote kinds cannot be expressed, so refuse it. */
function literal(flag: string, value: string): string {
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  throw new UsageError(`${flag}: values with both ' and " cannot be searched for`);
}

export function hasFilter(v: FilterValues): boolean {
  return Boolean(v.stage || v.account || v.connector || v.batch || v['older-than']);
}

export interface QueryOptions {
  /** Bulk actions only touch running provisionings. */
  runningOnly?: boolean;
  now?: Date;
}

export function buildQuery(v: FilterValues, opts: QueryOptions = {}): string {
  const clauses = [`WorkflowType = 'provisionConnector'`];
  if (v.stage !== undefined) {
    if (!isStage(v.stage))
      throw new UsageError(`--stage: "${v.stage}" is not a stage; use one of ${STAGES.join(', ')}`);
    clauses.push(`${ProvisioningStage.name} = ${literal('--stage', v.stage)}`);
  }
  if (v.account !== undefined) clauses.push(`${CyclrAccountId.name} = ${literal('--account', v.account)}`);
  if (v.connector !== undefined) clauses.push(`${ConnectorName.name} = ${literal('--connector', v.connector)}`);
  if (v.batch !== undefined) clauses.push(`${BatchId.name} = ${literal('--batch', v.batch)}`);
  if (v['older-than'] !== undefined) {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - parseAge('--older-than', v['older-than']));
    clauses.push(`StartTime < "${cutoff.toISOString()}"`);
  }
  if (opts.runningOnly) clauses.push(`ExecutionStatus = 'Running'`);
  return clauses.join(' AND ');
}

export interface ListedProvisioning {
  workflowId: string;
  stage?: string;
  accountId?: string;
  connector?: string;
  batchId?: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

export function toListed(info: WorkflowExecutionInfo): ListedProvisioning {
  const sa = info.typedSearchAttributes;
  const batchId = sa.get(BatchId);
  return {
    workflowId: info.workflowId,
    stage: sa.get(ProvisioningStage),
    accountId: sa.get(CyclrAccountId),
    connector: sa.get(ConnectorName),
    ...(batchId ? { batchId } : {}),
    status: info.status.name.toLowerCase(),
    startTime: info.startTime.toISOString(),
    ...(info.closeTime ? { closeTime: info.closeTime.toISOString() } : {}),
  };
}

/** Newest first (the server's order), stopping at `limit`. */
export async function listProvisionings(client: Client, query: string, limit: number): Promise<ListedProvisioning[]> {
  const found: ListedProvisioning[] = [];
  for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
    found.push(toListed(info));
    if (found.length >= limit) break;
  }
  return found;
}
