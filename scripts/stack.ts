/**
 * `npm run stack`: the whole local stack from a fresh clone. A Temporal dev server persisting to a SQLite file (so a
 * restart loses nothing), the Cyclr simulator when CYCLR_API_URL is unset, the worker and the gateway.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../dev/local-stack/dev-server.js';
import { PROJECT_ROOT, startService, type ServiceProcess } from '../dev/local-stack/processes.js';

// STACK_STATE_DIR: where the stack keeps its state and secrets (a test runs a stack of its own beside yours).
const stateDir = process.env.STACK_STATE_DIR ?? join(PROJECT_ROOT, '.tmp', 'stack');
mkdirSync(stateDir, { recursive: true });

const services: ServiceProcess[] = [];

/**
 * A secret of the stack's: the variable's value if set, else one generated on the first run and kept beside the
 * stack's state (owner-only), so a restart does not invalidate what people exported or configured elsewhere.
 */
function keptSecret(
  given: string | undefined,
  file: string,
  make: () => string,
): { value: string; generated: boolean } {
  if (given) return { value: given, generated: false };
  const path = join(stateDir, file);
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), generated: true };
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return { value, generated: true };
}

/** The gateway's write token. */
function gatewayToken(): { token: string; generated: boolean } {
  const { value, generated } = keptSecret(process.env.GATEWAY_API_TOKENS?.split(',')[0]?.trim(), 'gateway-token', () =>
    randomBytes(32).toString('base64url'),
  );
  return { token: value, generated };
}

/** The secret events to `notifyUrl` are signed with: a local webhook receiver needs it to verify them. */
function notifySigningSecret(): { value: string; generated: boolean } {
  return keptSecret(
    process.env.NOTIFY_SIGNING_SECRET,
    'notify-signing-secret',
    () => `whsec_${randomBytes(32).toString('base64')}`,
  );
}
let devServer: DevServer | undefined;

async function main(): Promise<void> {
  // Told so explicitly: only a development process uses the keys written in the source (src/config.ts).
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'development' };
  // The gateway's URL comes first: the Web UI is started pointing at its codec.
  const gatewayPort = process.env.GATEWAY_PORT ?? '8080';
  env.PUBLIC_BASE_URL = (process.env.PUBLIC_BASE_URL ?? `http://localhost:${gatewayPort}`).replace(/\/+$/, '');
  const { token, generated } = gatewayToken();
  const notify = notifySigningSecret();
  env.NOTIFY_SIGNING_SECRET = notify.value;
  const gatewayEnv: NodeJS.ProcessEnv = {
    GATEWAY_PORT: gatewayPort,
    GATEWAY_API_TOKENS: process.env.GATEWAY_API_TOKENS ?? token,
    // A laptop's stack answers the laptop only, unless asked otherwise (its codec takes no token, below).
    GATEWAY_HOST: process.env.GATEWAY_HOST ?? '127.0.0.1',
  };
  if (!process.env.TEMPORAL_ADDRESS) {
    const port = Number(process.env.TEMPORAL_PORT ?? 7233);
    const uiPort = port + 1000;
    devServer = await startDevServer({
      port,
      uiPort,
      dbFilename: join(stateDir, 'temporal.sqlite'),
      uiCodecEndpoint: `${env.PUBLIC_BASE_URL}/codec`,
    });
    env.TEMPORAL_ADDRESS = devServer.address;
    // The UI calls the codec from the browser: its origin (either host name) must pass CORS, and it sends no
    // token, so the local stack's codec takes none (development only: the gateway refuses this in production).
    Object.assign(gatewayEnv, {
      CODEC_CORS_ORIGINS: [process.env.CODEC_CORS_ORIGINS, `http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`]
        .filter(Boolean)
        .join(','),
      CODEC_ALLOW_UNAUTHENTICATED: 'true',
    });
  }
  if (!process.env.CYCLR_API_URL) {
    const simulator = startService({
      name: 'simulator',
      script: 'dev/simulator/main.ts',
      // Its accounts and account connectors are kept beside the dev server's state, so a restart loses neither.
      env: {
        SIMULATOR_PORT: process.env.SIMULATOR_PORT ?? '5055',
        SIMULATOR_STATE_FILE: join(stateDir, 'simulator.json'),
      },
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
  const worker = startService({ name: 'worker', script: 'src/worker.ts', env, echo: true });
  services.push(worker);
  const gatewayEntry = 'src/gateway/main.ts';
  const gateway = existsSync(join(PROJECT_ROOT, gatewayEntry))
    ? startService({ name: 'gateway', script: gatewayEntry, env: { ...env, ...gatewayEnv }, echo: true })
    : undefined;
  if (gateway) services.push(gateway);
  await Promise.all([worker.waitFor(/worker ready/, 120_000), gateway?.waitFor(/gateway listening/, 60_000)]);

  console.log(`
Local stack is up.
  Temporal:        ${env.TEMPORAL_ADDRESS ?? process.env.TEMPORAL_ADDRESS}${devServer ? ` (state in ${join(stateDir, 'temporal.sqlite')})` : ''}
  Temporal Web UI: ${devServer?.uiUrl ? `${devServer.uiUrl} (payloads decoded by ${env.PUBLIC_BASE_URL}/codec)` : '(external server)'}
  Cyclr:           ${env.CYCLR_API_URL ?? process.env.CYCLR_API_URL}${process.env.CYCLR_API_URL ? '' : ' (simulator)'}
  Gateway:         ${gateway ? env.PUBLIC_BASE_URL : '(not built yet)'}
  Gateway token:   ${generated ? `${token} (generated; kept in ${join(stateDir, 'gateway-token')})` : 'from GATEWAY_API_TOKENS'}
  Events signed:   ${notify.generated ? `NOTIFY_SIGNING_SECRET=${notify.value} (generated; kept in ${join(stateDir, 'notify-signing-secret')})` : 'with your NOTIFY_SIGNING_SECRET'}

Call the gateway (every route but /connect, /oauth/callback, /healthz and /readyz needs the token):
  export GATEWAY_TOKEN=${generated ? token : '<one of your GATEWAY_API_TOKENS>'}
  curl -H "Authorization: Bearer $GATEWAY_TOKEN" ${env.PUBLIC_BASE_URL}/openapi.json

Start a provisioning (the CLI talks to Temporal directly: no token):
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
