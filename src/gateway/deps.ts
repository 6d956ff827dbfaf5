/** What every route file receives, and the shape a route file has, so routes are registered (and documented) per file. */
import type { FastifyInstance } from 'fastify';
import type { BatchStore } from '../batch/store.js';
import type { ProvisioningClient } from '../client.js';
import type { Config } from '../config.js';
import type { GatewayTokenNames } from './console/session.js';
import type { OpenApiPaths } from './openapi.js';

export interface GatewayDeps {
  client: ProvisioningClient;
  config: Pick<
    Config,
    'linkSigningKeys' | 'publicBaseUrl' | 'gatewayTokens' | 'consoleSessionKey' | 'consentClickLimit'
  >;
  /** Where submitted batches' rows are stored; the workers read the same store. */
  batchStore: BatchStore;
  /** The console's session keys and the configured tokens' names (built once, shared by the API and the console). */
  tokens: GatewayTokenNames;
}

/**
 * One file of routes: how to register them. Routes with zod schemas document themselves; a file whose routes come
 * from a plugin without schemas (the console, static assets, the codec) gives their OpenAPI `paths` instead.
 */
export interface GatewayRoutes {
  register(app: FastifyInstance, deps: GatewayDeps): void;
  paths?: OpenApiPaths;
}
