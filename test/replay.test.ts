/**
 * Replays recorded histories of real runs (every ending, and a batch) against the current workflow bundle: a change
 * that would break workflows already running (nondeterminism) fails here. Fixtures come from
 * `npx tsx scripts/record-histories.ts`; re-record only with an intended, versioned (patched) workflow change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { dataConverter } from '../src/temporal/connection.js';
import { TEST_PAYLOAD_KEY } from './support/harness.js';

const { History } = proto.temporal.api.history.v1;
const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => {
    const { workflowId, history } = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as {
      workflowId: string;
      history: object;
    };
    return { name: file.replace(/\.json$/, ''), workflowId, history: History.fromObject(history) };
  });

const ENDINGS = [
  'completed-apikey',
  'completed-oauth-consent',
  'completed-oauth-polled',
  'failed-connector-not-found',
  'expired',
  'cancelled',
  'batch',
];

test('the fixtures cover every ending, a batch and the rate lease, of the current code and of the version before it', () => {
  const names = fixtures.map((f) => f.name);
  // Recorded by today's code (provisionings v3: idle checks back off; batches v5: a round runs as small slices taken
  // as places in the window free) ...
  expect(names).toEqual(expect.arrayContaining([...ENDINGS, 'batch-child-consent']));
  // The request-rate lease the workers renew (one long run of updates; its grants never reach a command).
  expect(names).toContain('rate-lease');
  // Provisionings of v2 (checks every checkEvery), kept when v3 became current; a batch of v2 (rows in one activity).
  expect(names).toEqual(
    expect.arrayContaining([...ENDINGS.filter((e) => e !== 'batch').map((e) => `v2-${e}`), 'v2-batch-child-consent']),
  );
  // Batches of v4 (a slice per place), v3 (consent rows queued behind the rounds) and v2 (rows in one activity).
  expect(names).toEqual(expect.arrayContaining(['v4-batch', 'v3-batch', 'v2-batch']));
  // ... and kept from before it (v1-*): runs still waiting in production replay these paths (patched()).
  expect(names).toEqual(expect.arrayContaining([...ENDINGS.map((e) => `v1-${e}`), 'v1-batch-child-completed']));
});

test('every recorded history replays deterministically against the current workflow code', async () => {
  const bundlePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (!bundlePath)
    throw new Error('TEST_WORKFLOW_BUNDLE is unset: run with `npm test` (global-setup bundles the workflows)');
  const results: { name: string; error?: string }[] = [];
  const byId = new Map(fixtures.map((f) => [f.workflowId, f.name]));
  const replays = Worker.runReplayHistories(
    {
      workflowBundle: { codePath: bundlePath },
      // The fixtures' payloads are encrypted with the test key, as the recording worker wrote them.
      dataConverter: dataConverter(loadConfig('client', { PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY })),
      replayName: 'fixtures',
    },
    fixtures.map((f) => ({ workflowId: f.workflowId, history: f.history })),
  );
  for await (const result of replays) {
    results.push({
      name: byId.get(result.workflowId) ?? result.workflowId,
      ...(result.error ? { error: String(result.error) } : {}),
    });
  }
  expect(results.filter((r) => r.error)).toEqual([]);
  expect(results).toHaveLength(fixtures.length);
});
