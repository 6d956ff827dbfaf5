/** Reading the console's forms and query strings: one trimmed value per field, the filter, a filter problem in words. */
import { FilterError, type FilterValues } from '../../operations/filters.js';

/** A parsed form body or query string. */
export type Body = Record<string, string | string[] | undefined>;

/** The field's (first) value, trimmed; undefined when absent or blank. */
export function one(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function filterOf(input: unknown): FilterValues {
  const q = (input ?? {}) as Body;
  return {
    stage: one(q.stage),
    account: one(q.account),
    connector: one(q.connector),
    batch: one(q.batch),
    'older-than': one(q['older-than']),
  };
}

/** Words for a filter problem, naming the form field. */
const FIELD_LABELS: Record<keyof FilterValues, string> = {
  stage: 'Stage',
  account: 'Account id',
  connector: 'Connector',
  batch: 'Batch id',
  'older-than': 'Older than',
  limit: 'Limit',
};

/** A FilterError in the form's words; anything else is rethrown. */
export function filterProblem(err: unknown): string {
  if (err instanceof FilterError) return `${FIELD_LABELS[err.field]}: ${err.problem}`;
  throw err;
}
