/**
 * `npm run bench:cli`: how long the compiled `provisioner` CLI takes from start to exit for `status <id>` and `list`
 * (issue 23, item 6: under 0.5 s), each run 10 times in a row through `bin/provisioner.js`, as a user types it, and
 * beside it the floor: `node -e ""`, a Node process that does nothing. Builds `dist/` first when it is missing.
 *
 * Self-contained: its own dev server, the simulator in this process, a worker process, one completed provisioning.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer } from '../dev/local-stack/dev-server.js';
import { PROJECT_ROOT, startService } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS, startSimulator } from '../dev/simulator/server.js';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { connectClient } from '../src/temporal/connection.js';
import { changedSettings, percentile } from './support.js';

const RUNS = 10;
const TARGET_MS = 500;
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-client-secret-0123456789';

function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`${args.join(' ')}: exit ${code}\n${stderr}`)),
    );
  });
}

async function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) ms.push(await run(args, env));
  return ms;
}

async function main(): Promise<void> {
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) {
    console.log('dist/ is missing: npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  }
  const [server, sim] = await Promise.all([
    startDevServer({ headless: true }),
    startSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
  ]);
  const env = {
    // The development keys in the source (said explicitly: no other run may use them).
    NODE_ENV: 'development',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: `bench-cli-${Date.now()}`,
    CYCLR_API_URL: sim.url,
    CYCLR_SERVICE_DOMAIN: sim.url,
    CYCLR_CLIENT_ID: CLIENT_ID,
    CYCLR_CLIENT_SECRET: CLIENT_SECRET,
  };
  const worker = startService({ name: 'worker', script: 'src/worker.ts', env });
  const config = loadConfig('client', env);
  const client = new ProvisioningClient(await connectClient(config), config.temporal.taskQueue);
  try {
    await worker.waitFor(/worker ready/, 120_000);
    const accountId = `cli-${Date.now().toString(36)}`;
    sim.seedAccount(accountId);
    const { workflowId } = await client.start({
      accountId,
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'bench-api-key',
    });
    await client.result(workflowId);

    const bin = join(PROJECT_ROOT, 'bin', 'provisioner.js');
    console.log(`bench:cli: the compiled CLI (dist/), ${RUNS} runs each, one after another`);
    console.log(`settings: a new user's defaults; changed: ${changedSettings(env)}`);
    const rows: [string, number[], boolean][] = [
      ['floor: node -e ""', await timed(['-e', ''], env), false],
      ['provisioner status <id>', await timed([bin, 'status', workflowId], env), true],
      ['provisioner list --limit 20', await timed([bin, 'list', '--limit', '20'], env), true],
      ['provisioner --help', await timed([bin, '--help'], env), false],
    ];
    for (const [what, ms, judged] of rows) {
      const p50 = percentile(ms, 50);
      const verdict = judged ? ` (target < ${TARGET_MS} ms: ${p50 < TARGET_MS ? 'met' : 'MISSED'})` : '';
      console.log(`  ${what}: median ${p50.toFixed(0)} ms, slowest ${Math.max(...ms).toFixed(0)} ms${verdict}`);
    }
  } finally {
    await worker.kill();
    await client.temporal.connection.close();
    await sim.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
