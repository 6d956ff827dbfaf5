/**
 * Nothing lost: 300 provisionings (ApiKey and OAuth) against a Cyclr that fails, rate-limits, stalls and drops
 * connections after committing installs, while the worker is SIGKILLed three times and the Temporal server (on a
 * SQLite file) is restarted once mid-consent. Everything completes, each (account, Name) is installed exactly once,
 * and no workflow is left running.
 */
import type { ProvisioningClient } from '../../src/client.js';
import { ProvisioningError } from '../../src/client.js';
import type { ServiceProcess } from '../../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../../dev/simulator/catalog.js';
import type { Simulator } from '../../dev/simulator/server.js';
import { provisioningWorkflowId } from '../../src/contract/ids.js';
import {
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  uniqueId,
  type TestStackOptions,
} from '../support/harness.js';
import { listIds, mapLimit, RestartableDevServer, retrying } from '../support/reliability-stack.js';
import {
  answerConsentPage,
  approveSilently,
  installCount,
  seedAccounts,
  setFaults,
  simulatorStats,
} from '../support/simulator-admin.js';

const ACCOUNTS = 150; // two provisionings each (ApiKey + OAuth): 300
const KILLS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: RestartableDevServer;
let simulator: Simulator;
let stack: TestStackOptions;
let client: ProvisioningClient;
let worker: ServiceProcess | undefined;
let plannedStop = false;
let unplannedWorkerExits = 0;

/** Starts a worker and restarts it should it ever die on its own (counted: the suite reports it). */
async function startWorker(): Promise<void> {
  const w = await startWorkerProcess(stack);
  worker = w;
  w.process.once('exit', () => {
    if (plannedStop || worker !== w) return;
    unplannedWorkerExits += 1;
    void startWorker();
  });
}

async function killWorker(): Promise<void> {
  const w = worker!;
  worker = undefined;
  await w.kill('SIGKILL');
  await startWorker();
}

beforeAll(async () => {
  server = new RestartableDevServer();
  [simulator] = await Promise.all([startTestSimulator(), server.start()]);
  stack = {
    taskQueue: uniqueId('reliability'),
    simulatorUrl: simulator.url,
    // The worker's own Cyclr limit keeps the retry storm bounded.
    env: { TEMPORAL_ADDRESS: server.address, CYCLR_MAX_CONCURRENT_REQUESTS: '20' },
  };
  [client] = await Promise.all([provisioningClient(stack), startWorker()]);
}, 120_000);

afterAll(async () => {
  plannedStop = true;
  await worker?.kill('SIGKILL');
  await client?.temporal.connection.close();
  await simulator?.close();
  await server?.dispose();
});

function requestsFor(accounts: string[]) {
  return accounts.flatMap((accountId, i) => {
    // A third of the accounts do not exist yet: both provisionings create them (and race each other doing so).
    const account = i % 3 === 0 ? { account: { create: true, name: `Account ${i}` } } : {};
    return [
      {
        accountId,
        connector: i % 2 ? { id: FIXTURE_CONNECTORS.apiKey.id } : { name: FIXTURE_CONNECTORS.apiKey.name },
        authValue: `api-key-${i}`,
        ...account,
      },
      {
        accountId,
        connector: i % 2 ? { name: FIXTURE_CONNECTORS.oauth.name } : { id: FIXTURE_CONNECTORS.oauth.id },
        oauth: { username: `user${i}@example.test`, returnUrl: 'https://app.example.test/done' },
        // Every 10 s, not backing off: the periodic check notices consents whose signal was lost, as before.
        timeouts: { checkEvery: '10s', checkEveryMax: '10s' },
        ...account,
      },
    ];
  });
}

test('300 provisionings through faults, 3 worker kills and a server restart: all complete, none duplicated, none stuck', async () => {
  const t0 = Date.now();
  const q = stack.taskQueue;
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `rel-${i}-${Math.random().toString(36).slice(2, 7)}`);
  await seedAccounts(
    simulator.url,
    accounts.filter((_, i) => i % 3 !== 0),
  );
  const requests = requestsFor(accounts);
  const ids = requests.map((r) => provisioningWorkflowId(r));
  const installName = (r: (typeof requests)[number]) =>
    'oauth' in r ? FIXTURE_CONNECTORS.oauth.name : FIXTURE_CONNECTORS.apiKey.name;

  await setFaults(simulator.url, {
    '*': { errorRate: 0.2, rateLimitRate: 0.03, retryAfterSeconds: 1, latencyMs: 40 },
    install: { dropAfterCommitRate: 0.2 },
    accounts: { dropAfterCommitRate: 0.2 },
    // The consent page is the user's browser, not our client: slow, but answered.
    connectorauth: { errorRate: 0, rateLimitRate: 0, latencyMs: 40 },
  });

  const figures = { kills: 0, serverRestarts: 0, repeatedStartsCreated: 0, consentsGiven: 0 };
  let started = 0;
  let serverRestarted = false;
  let done = false;

  const countOf = (query: string) =>
    retrying(async () => (await client.temporal.workflow.count(`TaskQueue="${q}" AND ${query}`)).count, 'count');
  const waitUntil = async (check: () => Promise<boolean>) => {
    while (!done && !(await check())) await sleep(1000);
  };

  // Crashes, on a schedule keyed to progress rather than to the clock.
  const chaos = (async () => {
    await waitUntil(async () => started >= 60);
    await killWorker();
    figures.kills += 1;

    await waitUntil(
      async () => (await countOf('ExecutionStatus="Running" AND ProvisioningStage="awaiting-consent"')) >= 25,
    );
    await server.stop();
    await sleep(2000);
    await server.start();
    figures.serverRestarts += 1;
    serverRestarted = true;

    await waitUntil(async () => (await countOf('ExecutionStatus="Completed"')) >= 150);
    await killWorker();
    figures.kills += 1;

    await waitUntil(async () => (await countOf('ExecutionStatus="Completed"')) >= 230);
    await killWorker();
    figures.kills += 1;
  })();

  // The customers: consent is held back until the server restart has happened with provisionings waiting.
  const consenting = new Map<string, number>();
  let consentRetries = 0;
  const giveConsent = async (workflowId: string, n: number) => {
    try {
      // An update, not a query: it waits for a worker instead of timing out while one restarts.
      const { url } = await retrying(() => client.issueAuthUrl(workflowId), `issueAuthUrl ${workflowId}`, 45_000);
      if (n % 2 === 0) {
        const answer = await answerConsentPage(url);
        expect(answer.answerStatus).toBe(302);
        // Half of these tell the workflow; the others are left for its periodic check to notice.
        if (n % 4 === 0)
          await retrying(() => client.completeConsent(workflowId, 'test'), `consent ${workflowId}`, 45_000);
      } else {
        // Approved with no redirect reaching us (a closed tab): the signal, or failing that the check, notices.
        await approveSilently(simulator.url, Number(new URL(url).searchParams.get('id')));
        await retrying(() => client.completeConsent(workflowId, 'test'), `consent ${workflowId}`, 45_000);
      }
      figures.consentsGiven += 1;
    } catch {
      // It moved on (verifying, completed), or the stack was mid-crash: a later round looks again.
      consentRetries += 1;
      consenting.delete(workflowId);
    }
  };
  const consent = (async () => {
    await waitUntil(async () => serverRestarted);
    let n = 0;
    const inFlight = new Set<Promise<void>>();
    while (!done) {
      const waiting = await retrying(
        () =>
          listIds(client, `TaskQueue="${q}" AND ExecutionStatus="Running" AND ProvisioningStage="awaiting-consent"`),
        'list awaiting',
      ).catch(() => [] as string[]);
      // A consent given >30 s ago that has not ended the wait (a killed worker, a lost signal) is given again.
      const due = waiting.filter((id) => Date.now() - (consenting.get(id) ?? 0) > 30_000);
      for (const id of due) {
        // At most 8 customers at a time; one slow answer does not hold up the others.
        while (inFlight.size >= 8) await Promise.race(inFlight);
        consenting.set(id, Date.now());
        const p = giveConsent(id, n++).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(1000);
    }
    await Promise.all(inFlight);
  })();

  // The onboarding service: every start retried through outages; the first 30 are sent twice while they run.
  const starts = await mapLimit(requests, 8, async (request, i) => {
    const s = await retrying(() => client.start(request), `start ${provisioningWorkflowId(request)}`);
    started += 1;
    if (i < 30) {
      const again = await retrying(() => client.start(request), `repeat start ${s.workflowId}`);
      expect(again.workflowId).toBe(s.workflowId);
      if (again.created) figures.repeatedStartsCreated += 1;
    }
    return s;
  });
  expect(starts.map((s) => s.workflowId)).toEqual(ids);

  // Wait for the end: nothing running on the queue (or the deadline, and whatever still runs is stuck).
  const deadline = t0 + 400_000;
  let running = Infinity;
  while (Date.now() < deadline) {
    await chaosDoneOrTimeout(chaos, 0);
    running = await countOf('ExecutionStatus="Running"');
    if (running === 0 && (await chaosDoneOrTimeout(chaos, 0))) break;
    await sleep(500);
  }
  done = true;
  await Promise.all([chaos, consent]);
  const stuckIds = await retrying(
    () => listIds(client, `TaskQueue="${q}" AND ExecutionStatus="Running"`),
    'list running',
  );

  // What a stuck one was doing, for whoever reads the failure: its stage, pending work, and the last task failure.
  for (const id of stuckIds) {
    const handle = client.temporal.workflow.getHandle(id);
    const described = await handle.describe().catch((err: unknown) => String(err));
    const history = await handle.fetchHistory().catch(() => undefined);
    const taskFailures = (history?.events ?? [])
      .filter((e) => e.workflowTaskFailedEventAttributes)
      .map((e) => e.workflowTaskFailedEventAttributes?.failure?.message);
    console.log(
      `stuck ${id}: ${JSON.stringify({
        status: typeof described === 'string' ? described : described.status.name,
        events: history?.events?.length,
        pendingActivities:
          typeof described === 'string'
            ? undefined
            : described.raw.pendingActivities?.map((a) => [a.activityType?.name, a.attempt, a.lastFailure?.message]),
        taskFailures: taskFailures.slice(-3),
        lastEvents: (history?.events ?? []).slice(-6).map((e) => e.eventType),
      })}`,
    );
  }

  const outcomes = await mapLimit(ids, 16, async (id) => {
    if (stuckIds.includes(id)) return 'stuck'; // its result would wait for it
    try {
      const result = await retrying(() => client.result(id), `result ${id}`, 20_000);
      return result.authenticated ? 'completed' : 'not-authenticated';
    } catch (err) {
      return err instanceof ProvisioningError ? `failed:${err.type}` : 'unknown';
    }
  });
  const completed = outcomes.filter((o) => o === 'completed').length;
  const stats = await simulatorStats(simulator.url);
  const perInstall = requests.map((r) => installCount(stats, r.accountId, installName(r)));
  const duplicates = perInstall.reduce((n, c) => n + Math.max(0, c - 1), 0);
  const missing = perInstall.filter((c) => c === 0).length;

  const summary = {
    provisionings: ids.length,
    completed,
    'faults 5xx': stats.faultsInjected['5xx'] ?? 0,
    'faults 429': stats.faultsInjected['429'] ?? 0,
    'faults drop-after-commit': stats.faultsInjected.drop ?? 0,
    'faults latency': stats.faultsInjected.latency ?? 0,
    'worker SIGKILLs': figures.kills,
    'worker unplanned exits': unplannedWorkerExits,
    'server restarts': figures.serverRestarts,
    'repeat starts that created a run': figures.repeatedStartsCreated,
    'consents given': figures.consentsGiven,
    'consent attempts retried': consentRetries,
    duplicates,
    'installs missing': missing,
    stuck: stuckIds.length,
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  console.log(
    `reliability figures\n${Object.entries(summary)
      .map(([k, v]) => `  ${k.padEnd(34)} ${v}`)
      .join('\n')}`,
  );
  const failures = outcomes.filter((o) => o !== 'completed');

  expect(failures).toEqual([]);
  expect(completed).toBe(300);
  expect(duplicates).toBe(0);
  expect(missing).toBe(0);
  expect(stuckIds).toEqual([]);
  expect(figures.kills).toBe(KILLS);
  expect(figures.serverRestarts).toBe(1);
  expect(figures.repeatedStartsCreated).toBe(0);
  // The faults really happened, of every kind.
  expect(stats.faultsInjected['5xx']).toBeGreaterThan(0);
  expect(stats.faultsInjected['429']).toBeGreaterThan(0);
  expect(stats.faultsInjected.drop).toBeGreaterThan(0);
}, 480_000);

/** True when the crash schedule has finished (waiting at most `ms`). */
async function chaosDoneOrTimeout(chaos: Promise<void>, ms: number): Promise<boolean> {
  let finished = false;
  await Promise.race([chaos.then(() => (finished = true)), sleep(ms)]);
  return finished;
}
