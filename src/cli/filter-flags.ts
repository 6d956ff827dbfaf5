/**
 * The CLI's face of the shared filters (src/operations/filters.ts): the flags, and a bad value as a usage error that
 * names the flag.
 */
import * as filters from '../operations/filters.js';
import { UsageError } from './command.js';

export { hasFilter, listProvisionings, type FilterValues, type ListedProvisioning } from '../operations/filters.js';

export const filterOptions = {
  stage: { type: 'string' },
  account: { type: 'string' },
  connector: { type: 'string' },
  batch: { type: 'string' },
  'older-than': { type: 'string' },
  limit: { type: 'string' },
} as const;

function flagError(err: unknown): unknown {
  return err instanceof filters.FilterError ? new UsageError(`--${err.field}: ${err.problem}`) : err;
}

/** Runs `fn` (sync or async), turning a FilterError into a UsageError worded with the flag, e.g. `--stage: ...`. */
export function asFlags<T>(fn: () => T): T {
  try {
    const result = fn();
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        throw flagError(err);
      }) as T;
    }
    return result;
  } catch (err) {
    throw flagError(err);
  }
}

export function buildQuery(v: filters.FilterValues, opts: filters.QueryOptions = {}): string {
  return asFlags(() => filters.buildQuery(v, opts));
}

export function parseLimit(raw: string | undefined, fallback: number): number {
  return asFlags(() => filters.parseLimit(raw, fallback));
}
