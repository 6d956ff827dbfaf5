/**
 * The cluster suite's processes: workers and gateways started from the compiled build (`node dist/...`), each with
 * the cluster's mTLS settings (Temporal's own names, from the env file scripts/cluster/up.sh writes).
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { startService, type ServiceProcess } from '../../dev/local-stack/processes.js';
import {
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_LINK_KEY,
  TEST_NOTIFY_SECRET,
  TEST_PAYLOAD_KEY,
} from '../support/harness.js';
import { TEST_GATEWAY_TOKEN, TEST_READ_TOKEN } from '../support/gateway-stack.js';

/** TEST_CLUSTER_ECHO=true: every process's output, prefixed with its name (to see why a test waited in vain). */
const echo = process.env.TEST_CLUSTER_ECHO === 'true';

/** TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TEMPORAL_TLS_* paths of the suite's cluster. */
export function clusterEnv(): Record<string, string> {
  const file = process.env.TEST_CLUSTER_ENV;
  if (!file) throw new Error('TEST_CLUSTER_ENV is unset: run this suite with `npm run test:cluster`');
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ClusterStackOptions {
  taskQueue: string;
  simulatorUrl: string;
  /** Where browsers reach the gateways (the links workers build): in production, the load balancer. */
  publicBaseUrl: string;
}

/**
 * What every process of ours gets: the cluster's settings (mTLS included) and the same keys. NODE_ENV is left unset:
 * no development key is used (the keys are required, as in production), while the gateways serve plain http here,
 * which production's https rule for PUBLIC_BASE_URL would refuse.
 */
function processEnv(o: ClusterStackOptions, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...clusterEnv(),
    TEMPORAL_TASK_QUEUE: o.taskQueue,
    CYCLR_API_URL: o.simulatorUrl,
    CYCLR_SERVICE_DOMAIN: o.simulatorUrl,
    CYCLR_CLIENT_ID: TEST_CLIENT_ID,
    CYCLR_CLIENT_SECRET: TEST_CLIENT_SECRET,
    LINK_SIGNING_KEY: TEST_LINK_KEY,
    PAYLOAD_ENCRYPTION_KEY: TEST_PAYLOAD_KEY,
    NOTIFY_SIGNING_SECRET: TEST_NOTIFY_SECRET,
    NOTIFY_ALLOW_PRIVATE_ADDRESSES: 'true',
    PUBLIC_BASE_URL: o.publicBaseUrl,
    WORKFLOW_BUNDLE_PATH: 'dist/workflows-bundle.js',
    ...extra,
  };
}

export async function startWorker(o: ClusterStackOptions, name: string): Promise<ServiceProcess> {
  const worker = startService({ name, script: 'dist/worker.js', env: processEnv(o), echo });
  await worker.waitFor(/worker ready/, 90_000);
  return worker;
}

export async function startGateway(o: ClusterStackOptions, name: string, port: number): Promise<ServiceProcess> {
  const gateway = startService({
    name,
    echo,
    script: 'dist/gateway/main.js',
    env: processEnv(o, {
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_LOG: 'off',
      GATEWAY_API_TOKENS: TEST_GATEWAY_TOKEN,
      GATEWAY_READ_TOKENS: TEST_READ_TOKEN,
    }),
  });
  await gateway.waitFor(/gateway listening/, 90_000);
  return gateway;
}
