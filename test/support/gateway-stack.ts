/**
 * The gateway tests' stack: simulator and gateway in-process (the gateway first, so its URL is known), then a real
 * worker process whose links and callbacks point at that gateway.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ProvisioningClient } from '../../src/client.js';
import { loadConfig } from '../../src/config.js';
import { buildApp, type BuildAppOptions, type GatewayLogOptions } from '../../src/gateway/app.js';
import type { ServiceProcess } from '../../dev/local-stack/processes.js';
import type { Simulator } from '../../dev/simulator/server.js';
import {
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  testEnv,
  uniqueId,
  type TestStackOptions,
} from './harness.js';
import { seedAccounts } from './simulator-admin.js';

/** The tests' gateway tokens: one that may do everything, one that may only read. */
export const TEST_GATEWAY_TOKEN = 'test-gateway-write-token-0123456789';
export const TEST_READ_TOKEN = 'test-gateway-read-token-0123456789';

/** `headers` with the write token (or `token`) added, unless they carry an Authorization of their own. */
export function withToken(headers: Record<string, string> = {}, token = TEST_GATEWAY_TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...headers };
}

/** The gateway's env in tests: both tokens, and rate limits no suite reaches by accident (abuse.test sets its own). */
export function gatewayEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    GATEWAY_API_TOKENS: TEST_GATEWAY_TOKEN,
    GATEWAY_READ_TOKENS: TEST_READ_TOKEN,
    GATEWAY_RATE_LIMIT: '100000',
    GATEWAY_AUTH_FAILURE_LIMIT: '100000',
    ...env,
  };
}

export interface GatewayStack {
  simulator: Simulator;
  gateway: FastifyInstance;
  gatewayUrl: string;
  /** fetch on the gateway with the write token (`path` from the root, e.g. "/provisionings"). */
  call(path: string, init?: RequestInit): Promise<Response>;
  worker: ServiceProcess;
  client: ProvisioningClient;
  options: TestStackOptions;
  newAccount(): Promise<string>;
  close(): Promise<void>;
}

/** What a test may add to the gateway built from its env: the codec at /codec, or a batch store of its own. */
export type GatewayExtras = Pick<BuildAppOptions, 'codec' | 'batchStore' | 'codecUnauthenticated'>;

/** Starts a gateway on 127.0.0.1, port 0; returns it with its URL. Its tokens are the tests' unless `env` says. */
export async function startGateway(
  client: ProvisioningClient,
  env: NodeJS.ProcessEnv,
  logger?: GatewayLogOptions,
  extras: GatewayExtras = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const config = loadConfig('gateway', gatewayEnv(env));
  const app = await buildApp({ client, config, logger, ...extras });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

export async function startGatewayStack(
  name: string,
  workerEnv: NodeJS.ProcessEnv = {},
  extras: GatewayExtras & { gatewayEnv?: NodeJS.ProcessEnv } = {},
): Promise<GatewayStack> {
  const simulator = await startTestSimulator();
  const base = { taskQueue: uniqueId(name), simulatorUrl: simulator.url };
  const client = await provisioningClient(base);
  const { gatewayEnv: ownEnv, ...gatewayExtras } = extras;
  const { app: gateway, url: gatewayUrl } = await startGateway(
    client,
    testEnv({ ...base, env: ownEnv }),
    undefined,
    gatewayExtras,
  );
  const options = { ...base, publicBaseUrl: gatewayUrl, env: workerEnv };
  const worker = await startWorkerProcess(options);
  return {
    simulator,
    gateway,
    gatewayUrl,
    call: (path, init = {}) =>
      fetch(`${gatewayUrl}${path}`, {
        ...init,
        headers: withToken(Object.fromEntries(new Headers(init.headers).entries())),
      }),
    worker,
    client,
    options,
    async newAccount() {
      const accountId = uniqueId('acct');
      await seedAccounts(simulator.url, [accountId]);
      return accountId;
    },
    async close() {
      // The simulator first: the worker process only exits once its keep-alive connections to it are gone.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([simulator.close(), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      await worker.kill();
      await gateway.close();
      await client.temporal.connection.close();
    },
  };
}
