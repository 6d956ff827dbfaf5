/**
 * `npm run bench:connection-check`: what one connection check costs. Makes `--connections` completed ApiKey
 * provisionings spread over `--accounts` accounts (real workflows on a real Temporal dev server and worker, against
 * the simulator), lapses `--lapse` of them at the simulator, runs the check once and prints the Cyclr requests it
 * sent, what it found, its wall time and the CPU per connection of the worker and the dev server. Settings are a
 * new user's defaults; the only ones this changes are printed.
 *
 *   npm run bench:connection-check [-- --connections 10000 --accounts 100 --lapse 50]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import pLimit from 'p-limit';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { startDevServer } from '../dev/local-stack/dev-server.js';
import { startService } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startSimulator } from '../dev/simulator/server.js';
import { dataConverter } from '../src/temporal/connection.js';
import { writeWorkflowBundle } from '../src/workflow-bundle.js';
import { changedSettings, cpuMs } from './support.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    accounts: { type: 'string', default: '100' },
    lapse: { type: 'string', default: '50' },
  },
});
const CONNECTIONS = Number(values.connections);
const ACCOUNTS = Number(values.accounts);
const LAPSE = Number(values.lapse);
const LIST_ROUTE = 'GET /v1.0/account/connectors';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const [server, bundlePath, simulator] = await Promise.all([
    startDevServer({ headless: true }),
    writeWorkflowBundle(join(dir, 'workflow-bundle.js')),
    startSimulator({ clientId: 'bench', clientSecret: 'bench-secret-0123456789' }),
  ]);
  const env = {
    // The development keys in the source (said explicitly: no other run may use them).
    NODE_ENV: 'development',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: 'bench',
    CYCLR_API_URL: simulator.url,
    CYCLR_SERVICE_DOMAIN: simulator.url,
    CYCLR_CLIENT_ID: 'bench',
    CYCLR_CLIENT_SECRET: 'bench-secret-0123456789',
    WORKFLOW_BUNDLE_PATH: bundlePath,
  };
  const worker = startService({ name: 'worker', script: 'src/worker.ts', env });
  try {
    await worker.waitFor(/worker ready/);
    const config = loadConfig('client', env);
    const connection = await Connection.connect({ address: server.address });
    const client = new ProvisioningClient(
      new Client({ connection, dataConverter: dataConverter(config) }),
      config.temporal.taskQueue,
    );

    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `bench-${Date.now().toString(36)}-${i}`);
    for (const id of accounts) simulator.seedAccount(id);
    const made: number[] = [];
    const tMake = performance.now();
    const run = pLimit(50);
    await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) =>
        run(async () => {
          const { workflowId } = await client.start({
            accountId: accounts[i % ACCOUNTS]!,
            connector: { id: FIXTURE_CONNECTORS.apiKey.id },
            installName: `conn-${i}`,
            authValue: `key-${i}`,
          });
          made.push((await client.result(workflowId)).accountConnectorId);
        }),
      ),
    );
    const makeSeconds = (performance.now() - tMake) / 1000;
    // Every `step`-th connection lapses: spread over the accounts.
    const step = Math.max(1, Math.floor(CONNECTIONS / Math.max(1, LAPSE)));
    const lapsed = made.filter((_, i) => i % step === 0).slice(0, LAPSE);
    for (const id of lapsed) simulator.state.markLapsed(id);

    const listsBefore = simulator.stats().requests[LIST_ROUTE]?.total ?? 0;
    const requestsBefore = simulator.stats().totalRequests;
    const pids = { worker: worker.process.pid!, 'dev server': server.process.pid! };
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    const t0 = performance.now();
    await client.checkConnectionsNow();
    let check;
    while (!(check = await client.lapsedConnections())) await new Promise((r) => setTimeout(r, 500));
    const seconds = (performance.now() - t0) / 1000;
    const lists = (simulator.stats().requests[LIST_ROUTE]?.total ?? 0) - listsBefore;
    const requests = simulator.stats().totalRequests - requestsBefore;
    const cpu = Object.entries(pids)
      .map(([k, pid]) => `${k} ${((cpuMs(pid) - cpuBefore[k]!) / CONNECTIONS).toFixed(2)} ms`)
      .join(', ');

    console.log(
      `\nconnection check: ${CONNECTIONS} completed provisionings in ${ACCOUNTS} accounts, ${lapsed.length} lapsed`,
    );
    console.log(
      `settings changed: ${changedSettings(env)} (CONNECTION_CHECK_EVERY 1d, no rate limit); the check was triggered once`,
    );
    console.log(`  made the provisionings in ${makeSeconds.toFixed(1)} s (not part of the check)`);
    console.log(
      `  Cyclr requests: ${requests} (account-connector lists: ${lists}); target ${ACCOUNTS}: ${requests === ACCOUNTS ? 'met' : 'MISSED'}`,
    );
    console.log(
      `  found: ${check.accounts} accounts, ${check.connections} connections, ${check.lapsedTotal} lapsed ` +
        `(${check.lapsedTotal === lapsed.length ? 'all of them, no more' : `expected ${lapsed.length}: MISSED`}), ` +
        `${check.failedAccounts.length} accounts failed`,
    );
    console.log(`  wall time ${seconds.toFixed(1)} s; CPU per connection: ${cpu}`);
  } finally {
    await worker.kill();
    await simulator.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
