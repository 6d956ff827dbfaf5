/** What every route file receives, and the shape a route file has, so routes are registered (and documented) per file. */
import type { FastifyInstance } from 'fastify';
import type { BatchStore } from '../batch/store.js';
import type { ProvisioningClient } from '../client.js';
import type { Config } from '../config.js';
import type { OpenApiPaths } from './openapi.js';

export interface GatewayDeps {
  client: ProvisioningClient;
  config: Pick<Config, 'linkSigningKeys' | 'publicBaseUrl' | 'gatewayTokens' | 'consoleSessionKey'>;
  /** Where submitted batches' rows are stored; the workers read the same store. */
  batchStore: BatchStore;
}

/** One file of routes: how to register them, and their OpenAPI paths (so the document lists what is served). */
export interface GatewayRoutes {
  register(app: FastifyInstance, deps: GatewayDeps): void;
  paths: OpenApiPaths;
}
