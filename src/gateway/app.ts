/**
 * The HTTP gateway as a fastify app built from its dependencies (a ProvisioningClient and configuration), so tests
 * run it in-process and `main.ts` runs it for real. Routes are registered per file, with the zod schemas they
 * validate with, from which the OpenAPI document is generated.
 */
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { BatchStore } from '../batch/store.js';
import type { CodecServerOptions } from '../codec/server.js';
import type { Config } from '../config.js';
import { registerGatewayAuth } from './auth.js';
import type { GatewayDeps, GatewayRoutes } from './deps.js';
import { consoleRoutes } from './console/index.js';
import { gatewayTokenNames } from './console/session.js';
import { toHttpError } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { redactUrl } from '../observability/redact.js';
import { assetRoutes } from './routes/assets.js';
import { batchRoutes } from './routes/batches.js';
import { callbackRoutes } from './routes/callback.js';
import { codecGatewayRoutes } from './routes/codec.js';
import { connectRoutes } from './routes/connect.js';
import { healthRoutes } from './routes/health.js';
import { provisioningRoutes } from './routes/provisionings.js';

/** Every route file the gateway serves. Add new ones here. (The codec is added by buildApp when configured.) */
export const ROUTES: readonly GatewayRoutes[] = [
  healthRoutes,
  provisioningRoutes,
  batchRoutes,
  connectRoutes,
  callbackRoutes,
  assetRoutes,
  consoleRoutes,
];

export interface GatewayLogOptions {
  level?: string;
  /** Where log lines go (default stdout); tests pass a stream to read them. */
  stream?: { write(line: string): unknown };
}

export interface BuildAppOptions extends Omit<GatewayDeps, 'batchStore' | 'tokens'> {
  /** The batch store is opened from BATCH_STORE_URL or _DIR and PAYLOAD_ENCRYPTION_KEY, as the CLI and the worker do. */
  config: GatewayDeps['config'] &
    Pick<Config, 'batchStoreDir' | 'batchStoreS3' | 'payloadKeys' | 'gatewayRateLimits' | 'temporal'> &
    Partial<Pick<Config, 'gatewayTrustProxy'>>;
  /** Off unless given: request logs carry URLs, which are redacted for link and callback paths. */
  logger?: GatewayLogOptions | false;
  routes?: readonly GatewayRoutes[];
  /** Default: the store the config names. */
  batchStore?: BatchStore;
  /** Serves the remote codec at /codec when given (main.ts: gatewayCodecOptions()). It can decrypt every payload, so
   * it is never mounted by default, and on the gateway it takes the gateway's tokens (its own authTokens are not
   * used: CODEC_AUTH_TOKEN belongs to the standalone codec server). */
  codec?: CodecServerOptions;
  /** Development only (main.ts refuses it in production): /codec without a token, for the local Web UI. */
  codecUnauthenticated?: boolean;
}

function loggerOptions(options: GatewayLogOptions | false | undefined): FastifyServerOptions['logger'] {
  if (!options) return false;
  return {
    level: options.level ?? 'info',
    ...(options.stream ? { stream: options.stream } : {}),
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip,
      }),
    },
  };
}

export async function buildApp({
  client,
  config,
  logger,
  routes: baseRoutes = ROUTES,
  batchStore = BatchStore.fromConfig(config),
  codec,
  codecUnauthenticated = false,
}: BuildAppOptions): Promise<FastifyInstance> {
  const routes = codec ? [...baseRoutes, codecGatewayRoutes({ ...codec, authTokens: [] })] : baseRoutes;
  const app = Fastify({
    logger: loggerOptions(logger),
    // Behind a proxy, rate limits must count the real client, not the proxy: only the proxies named in
    // GATEWAY_TRUST_PROXY are believed about who that is (config.ts refuses "true").
    ...(config.gatewayTrustProxy?.length ? { trustProxy: [...config.gatewayTrustProxy] } : {}),
    // Consent links are longer than fastify's default 100-character limit for a path parameter.
    routerOptions: { maxParamLength: 4096 },
    bodyLimit: 256 * 1024,
  });

  // Routes validate their input with zod schemas (./schemas.ts, src/contract/); the same schemas make /openapi.json.
  // Replies are sent as built: response schemas document them, they do not re-shape them.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // An empty body with a JSON content type is "no body" (e.g. a cancel without a reason), not an error.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    void defaultJson(request, text, done);
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: 'NotFound',
      message: `no route ${request.method} ${redactUrl(request.url.split('?')[0]!)}; the routes are listed at /openapi.json`,
    }),
  );

  // Security headers on every response (pages set stricter ones of their own). No Cross-Origin-Opener-Policy: the
  // consent popup must keep its opener, which Cyclr posts callbackMessage to. No upgrade-insecure-requests: the
  // local stack is plain http.
  await app.register(helmet, {
    crossOriginOpenerPolicy: false,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
  // One naming of the tokens for the API and the console (random keys when CONSOLE_SESSION_KEY is unset: made once).
  const tokens = gatewayTokenNames(config.consoleSessionKey, config.gatewayTokens);
  await registerGatewayAuth(app, {
    tokens: config.gatewayTokens,
    rateLimits: config.gatewayRateLimits,
    codecUnauthenticated,
    nameOf: tokens.nameOf,
  });

  await registerOpenApi(
    app,
    routes.flatMap((r) => (r.paths ? [r.paths] : [])),
    config.publicBaseUrl,
  );
  const deps: GatewayDeps = { client, config, batchStore, tokens };
  for (const r of routes) r.register(app, deps);
  return app;
}
