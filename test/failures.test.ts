/** The one list of failure types (src/contract/failures.ts), the README's copy of it, and who marks what retryable. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import {
  FAILURE_TYPES,
  Failure,
  NON_RETRYABLE,
  failure,
  isRetryableType,
  type FailureType,
} from '../src/contract/failures.js';
import { budgetBusyFailure, httpFailure, networkFailure, queueTooLongFailure } from '../src/activities/cyclr/errors.js';

/** The failure table in the README's "Using it from code" section: type -> retried. */
function readmeTable(): Map<string, boolean> {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Using it from code'));
  if (!section) throw new Error('README.md has no "## Using it from code" section');
  const rows = new Map<string, boolean>();
  for (const [, type, retried] of section.matchAll(/^\| `(\w+)` +\| (yes|no) +\|/gm)) {
    if (rows.has(type!)) throw new Error(`README.md lists ${type} twice`);
    rows.set(type!, retried === 'yes');
  }
  return rows;
}

test('the README lists every failure type, each once, with the retried mark the table gives it', () => {
  const listed = readmeTable();
  expect([...listed.keys()].sort()).toEqual([...FAILURE_TYPES].sort());
  for (const [type, retried] of listed) expect([type, retried]).toEqual([type, isRetryableType(type as FailureType)]);
});

test('each name is its own string, and NON_RETRYABLE is exactly the types not marked retryable', () => {
  for (const type of FAILURE_TYPES) expect(Failure[type]).toBe(type);
  expect([...NON_RETRYABLE].sort()).toEqual(FAILURE_TYPES.filter((t) => !isRetryableType(t)).sort());
  // An activity's plain Error has type "Error": listing it would stop Temporal retrying every unexpected error.
  expect(NON_RETRYABLE).not.toContain(Failure.Error);
  expect(NON_RETRYABLE).toEqual(expect.arrayContaining([Failure.InvalidRequest, Failure.CyclrUnauthorized]));
});

test('a failure built from the table carries the mark, so a retry policy and the failure itself agree', () => {
  const final = failure(Failure.ConsentExpired, 'no consent');
  expect(final).toBeInstanceOf(ApplicationFailure);
  expect(final).toMatchObject({ type: 'ConsentExpired', message: 'no consent', nonRetryable: true });
  expect(failure(Failure.CyclrRateLimited, 'slow down', { nextRetryDelay: 3000 })).toMatchObject({
    nonRetryable: false,
    nextRetryDelay: 3000,
  });
});

test("the Cyclr client's failures are retryable exactly as the table marks their types", () => {
  const answer = (status: number) =>
    httpFailure({
      endpoint: 'GET /v1.0/connectors',
      status,
      body: '',
      headers: {},
      secrets: [],
      credentialHint: 'client-credentials',
    });
  const seen = new Set<string>();
  for (const status of [302, 400, 401, 403, 404, 408, 409, 418, 422, 429, 500, 503]) {
    const f = answer(status);
    seen.add(f.type!);
    expect([status, f.type, f.nonRetryable]).toEqual([status, f.type, !isRetryableType(f.type as FailureType)]);
  }
  const dropped = networkFailure('GET /v1.0/connectors', { code: 'ECONNRESET' }, 1000);
  expect(dropped).toMatchObject({ type: Failure.CyclrNetworkError, nonRetryable: false });
  // Requests not sent under the rate: an idle one that gave way (final for its call: the caller asks again later, and
  // benign: no WARN, no failed-activity metric), and one the queue would have held past its activity's deadline.
  const unsent = [budgetBusyFailure('GET /v1.0/account/connectors/{id}'), queueTooLongFailure('POST /x', 40_000)];
  expect(unsent[0]).toMatchObject({ type: Failure.CyclrBudgetBusy, nonRetryable: true, category: 'BENIGN' });
  expect(unsent[1]).toMatchObject({ type: Failure.CyclrRateLimited, nonRetryable: false, nextRetryDelay: 15_000 });
  // Every Cyclr* type in the table is one the client can produce.
  expect([...new Set([...seen, dropped.type, ...unsent.map((f) => f.type)])].sort()).toEqual(
    FAILURE_TYPES.filter((t) => t.startsWith('Cyclr')).sort(),
  );
});
