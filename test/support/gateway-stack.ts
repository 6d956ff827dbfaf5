/**
 * The gateway tests' stack: simulator and gateway in-process (the gateway first, so its URL is known), then a real
 * worker process whose links and callbacks point at that gateway.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ProvisioningClient } from '../../src/client.js';
import { loadConfig } from '../../src/config.js';
import { buildApp, type BuildAppOptions, type GatewayLogOptions } from '../../src/gateway/app.js';
import type { ServiceProcess } from '../../src/local-stack/processes.js';
import type { Simulator } from '../../src/simulator/server.js';
import {
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  testEnv,
  uniqueId,
  type TestStackOptions,
} from './harness.js';
import { seedAccounts } from './simulator-admin.js';

export interface GatewayStack {
  simulator: Simulator;
  gateway: FastifyInstance;
  gatewayUrl: string;
  worker: ServiceProcess;
  client: ProvisioningClient;
  options: TestStackOptions;
  newAccount(): Promise<string>;
  close(): Promise<void>;
}

/** What a test may add to the gateway built from its env: the codec at /codec, or a batch store of its own. */
export type GatewayExtras = Pick<BuildAppOptions, 'codec' | 'batchStore'>;

/** Starts a gateway on 127.0.0.1, port 0; returns it with its URL. */
export async function startGateway(
  client: ProvisioningClient,
  env: NodeJS.ProcessEnv,
  logger?: GatewayLogOptions,
  extras: GatewayExtras = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const config = loadConfig(env);
  const app = await buildApp({ client, config, logger, ...extras });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

export async function startGatewayStack(name: string, workerEnv: NodeJS.ProcessEnv = {}): Promise<GatewayStack> {
  const simulator = await startTestSimulator();
  const base = { taskQueue: uniqueId(name), simulatorUrl: simulator.url };
  const client = await provisioningClient(base);
  const { app: gateway, url: gatewayUrl } = await startGateway(client, testEnv(base));
  const options = { ...base, publicBaseUrl: gatewayUrl, env: workerEnv };
  const worker = await startWorkerProcess(options);
  return {
    simulator,
    gateway,
    gatewayUrl,
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
