/**
 * `npm run stack`: the whole local stack from a fresh clone. A Temporal dev server persisting to a SQLite file (so a
 * restart loses nothing), the Cyclr simulator when CYCLR_API_URL is unset, the worker and the gateway.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../src/local-stack/dev-server.js';
import { PROJECT_ROOT, startService, type ServiceProcess } from '../src/local-stack/processes.js';

const stateDir = join(PROJECT_ROOT, '.tmp', 'stack');
mkdirSync(stateDir, { recursive: true });

const services: ServiceProcess[] = [];
let devServer: DevServer | undefined;

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = {};
  if (!process.env.TEMPORAL_ADDRESS) {
    const port = Number(process.env.TEMPORAL_PORT ?? 7233);
    devServer = await startDevServer({ port, uiPort: port + 1000, dbFilename: join(stateDir, 'temporal.sqlite') });
    env.TEMPORAL_ADDRESS = devServer.address;
  }
  if (!process.env.CYCLR_API_URL) {
    const simulator = startService({
      name: 'simulator',
      script: 'src/simulator/main.ts',
      env: { SIMULATOR_PORT: process.env.SIMULATOR_PORT ?? '5055' },
      echo: true,
    });
    services.push(simulator);
    const [, url] = await simulator.waitFor(/listening on (http:\/\/\S+)/);
    Object.assign(env, {
      CYCLR_API_URL: url,
      CYCLR_SERVICE_DOMAIN: url,
      CYCLR_CLIENT_ID: process.env.SIMULATOR_CLIENT_ID ?? 'sim-client',
      CYCLR_CLIENT_SECRET: process.env.SIMULATOR_CLIENT_SECRET ?? 'sim-secret',
    });
  }
  const gatewayPort = process.env.GATEWAY_PORT ?? '8080';
  env.PUBLIC_BASE_URL = process.env.PUBLIC_BASE_URL ?? `http://localhost:${gatewayPort}`;

  const worker = startService({ name: 'worker', script: 'src/worker.ts', env, echo: true });
  services.push(worker);
  const gatewayEntry = 'src/gateway/main.ts';
  const gateway = existsSync(join(PROJECT_ROOT, gatewayEntry))
    ? startService({ name: 'gateway', script: gatewayEntry, env: { ...env, GATEWAY_PORT: gatewayPort }, echo: true })
    : undefined;
  if (gateway) services.push(gateway);
  await Promise.all([worker.waitFor(/worker ready/, 120_000), gateway?.waitFor(/gateway listening/, 60_000)]);

  console.log(`
Local stack is up.
  Temporal:        ${env.TEMPORAL_ADDRESS ?? process.env.TEMPORAL_ADDRESS}${devServer ? ` (state in ${join(stateDir, 'temporal.sqlite')})` : ''}
  Temporal Web UI: ${devServer?.uiUrl ?? '(external server)'}
  Cyclr:           ${env.CYCLR_API_URL ?? process.env.CYCLR_API_URL}${process.env.CYCLR_API_URL ? '' : ' (simulator)'}
  Gateway:         ${gateway ? env.PUBLIC_BASE_URL : '(not built yet)'}

Start a provisioning:
  npx provisioner start --account acme-1 --connector-name "HubSpot" --create-account \\
      --username jo@acme.test --return-url https://example.com/done
  npx provisioner status provision:acme-1:HubSpot
Ctrl-C stops everything; state survives a restart.`);
}

async function shutdown(): Promise<void> {
  await Promise.all(services.map((s) => s.kill('SIGTERM')));
  await devServer?.stop();
  process.exit(0);
}

process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

main().catch(async (err: unknown) => {
  console.error(`stack failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown();
});
