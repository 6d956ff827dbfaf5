/**
 * The Cyclr simulator: a stateful, in-memory stand-in for the parts of Cyclr's partner API in
 * docs/cyclr-api.md, with fault injection and an admin API for tests and benchmarks.
 */
import { setMaxListeners } from 'node:events';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Catalog } from './catalog.js';
import { FaultInjector, type FaultConfig } from './faults.js';
import { routeKey, type SimContext } from './http.js';
import { registerAccountConnectorRoutes } from './routes/account-connectors.js';
import { registerAccountRoutes } from './routes/accounts.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerCatalogRoutes } from './routes/catalog.js';
import { htmlErrorPage, registerConnectorAuthRoutes } from './routes/connectorauth.js';
import { registerTokenRoute } from './routes/token.js';
import { CyclrError, type AccountRecord, type WireAccountConnector } from './records.js';
import { SimulatorState } from './state.js';
import { StateFile } from './state-file.js';
import { Stats, type StatsSnapshot } from './stats.js';

export type { FaultConfig, FaultRule, EndpointGroup } from './faults.js';
export type { StatsSnapshot } from './stats.js';
export { FIXTURE_CONNECTORS } from './catalog.js';

export interface SimulatorOptions {
  /** 0 = random. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 'sim-client'. */
  clientId?: string;
  /** Default 'sim-secret'. */
  clientSecret?: string;
  /** Partner access token `expires_in`, default 1209599 (about 14 days). */
  tokenLifetimeSeconds?: number;
  /** Sign-in token lifetime, default 5 minutes. */
  signInTokenLifetimeMs?: number;
  /** Initial faults. */
  faults?: FaultConfig;
  /** Send Total-Pages/Total-Records on the catalog (undocumented by Cyclr, so off by default). */
  paginationHeaders?: boolean;
  /** Account ids to create at start (the simulator has none otherwise). */
  accounts?: string[];
  /** One line per request (method, route pattern, status, time); never query strings, bodies or tokens. */
  log?: boolean;
  /** Keeps accounts and account connectors in this file across restarts (state-file.ts); unset: memory only. */
  stateFile?: string;
}

export interface Simulator {
  /** API base and Partner Service Domain, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  port: number;
  close(): Promise<void>;
  /** The in-memory world, for in-process tests. */
  state: SimulatorState;
  stats(): StatsSnapshot;
  resetStats(): void;
  /** Successful install commits for (account, Name), including ones whose response was dropped. */
  installCount(accountId: string, name: string): number;
  setFaults(config: FaultConfig): void;
  getFaults(): FaultConfig;
  revokeTokens(): number;
  setPaginationHeaders(on: boolean): void;
  seedAccount(id: string, name?: string): AccountRecord;
  /** As if the user approved the consent screen, without the callback. */
  authenticateAccountConnector(id: number): WireAccountConnector;
  getAccountConnector(id: number): (WireAccountConnector & { AccountId: string }) | undefined;
}

const DENIED = { Message: 'Authorization has been denied for this request.' };

function installHooks(app: FastifyInstance, ctx: SimContext, log: boolean, shutdown: AbortSignal) {
  app.decorateRequest('cyclrAccount', null);
  app.decorateRequest('dropped', false);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    const config = request.routeOptions.config;
    if (config.admin) return;
    ctx.stats.arrived(routeKey(request));
    if (!config.group) return;
    const fault = ctx.faults.before(config.group);
    if (fault.latencyMs > 0) {
      ctx.stats.fault('latency');
      await sleep(fault.latencyMs, shutdown);
    }
    if (fault.kind === '429') {
      ctx.stats.fault('429');
      return reply
        .code(429)
        .header('Retry-After', String(fault.retryAfterSeconds))
        .send({ Message: 'Too many requests. Retry after the number of seconds in Retry-After.' });
    }
    if (fault.kind === '5xx') {
      ctx.stats.fault('5xx');
      return reply.code(fault.status).send({ Message: 'An error has occurred.' });
    }
  });

  // Auth runs after parsing, like Web API's [Authorize] filter; faults above come first, like an edge proxy.
  app.addHook('preHandler', async (request, reply) => {
    const mode = request.routeOptions.config.auth;
    if (!mode) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const token = m ? ctx.state.credentials.checkToken(m[1]) : undefined;
    if (!token) return reply.code(401).header('WWW-Authenticate', 'Bearer').send(DENIED);
    const raw = request.headers['x-cyclr-account'];
    const header = (Array.isArray(raw) ? raw[0] : raw)?.trim() || null;
    if (mode === 'partner') {
      // An account-restricted token only works for its own account (path parameter).
      const pathAccount = (request.params as { accountId?: string }).accountId;
      if (token.account !== undefined && pathAccount !== token.account) return reply.code(401).send(DENIED);
      return;
    }
    if (!header) {
      if (mode === 'optional-account') return;
      return reply.code(400).send({ Message: 'The X-Cyclr-Account header is required: set it to the account API ID.' });
    }
    if (token.account !== undefined && header !== token.account) return reply.code(401).send(DENIED);
    if (!ctx.state.accounts.has(header)) return reply.code(404).send({ Message: 'Account not found.' });
    request.cyclrAccount = header;
  });

  app.addHook('onResponse', async (request, reply) => {
    if (request.dropped || request.routeOptions.config.admin) return;
    ctx.stats.answered(routeKey(request), reply.statusCode);
    if (log) {
      console.log(
        `${request.method} ${request.routeOptions.url ?? '<unmatched>'} ${reply.statusCode} ${Math.round(reply.elapsedTime)}ms`,
      );
    }
  });

  app.setErrorHandler((error: FastifyError | CyclrError, request, reply) => {
    if (request.routeOptions.config?.html) {
      const page = htmlErrorPage(error);
      return reply.code(page.status).type('text/html; charset=utf-8').send(page.body);
    }
    if (error instanceof CyclrError) return reply.code(error.status).send({ Message: error.message });
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ Message: error.message });
    if (log) console.error(`simulator error on ${routeKey(request)}: ${error.name}`);
    return reply.code(500).send({ Message: 'An error has occurred.' });
  });

  // Web API's wording; the path only, since a query string could hold a secret.
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      Message: `No HTTP resource was found that matches the request URI '${request.url.split('?')[0]}'.`,
    }),
  );
}

function installParsers(app: FastifyInstance) {
  // An empty JSON body is null (Cyclr then fails with 500), not fastify's 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, null);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new CyclrError(400, 'The request is invalid. The body is not valid JSON.'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const state = new SimulatorState(new Catalog(), {
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 1_209_599,
    signInTokenLifetimeMs: options.signInTokenLifetimeMs ?? 5 * 60_000,
  });
  state.paginationHeaders = options.paginationHeaders ?? false;
  const stateFile = options.stateFile ? new StateFile(options.stateFile, state) : undefined;
  stateFile?.load();
  for (const id of options.accounts ?? []) state.seedAccount(id);
  const ctx: SimContext = { state, faults: new FaultInjector(options.faults), stats: new Stats() };
  const shutdown = new AbortController();
  // Every request held by injected latency waits on this signal (and removes its listener when done): one listener
  // per request in flight, not a leak, so Node's limit of 10 would warn at any real concurrency.
  setMaxListeners(0, shutdown.signal);

  const app = Fastify({ logger: false, forceCloseConnections: true, routerOptions: { ignoreTrailingSlash: true } });
  installParsers(app);
  installHooks(app, ctx, options.log ?? false, shutdown.signal);
  if (stateFile) {
    // Every change comes by a request that is not a read (the API's writes, a consent form, the admin API's).
    app.addHook('onResponse', async (request) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') stateFile.changed();
    });
  }
  registerTokenRoute(
    app,
    ctx,
    { clientId: options.clientId ?? 'sim-client', clientSecret: options.clientSecret ?? 'sim-secret' },
    options.tokenLifetimeSeconds ?? 1_209_599,
  );
  registerCatalogRoutes(app, ctx);
  registerAccountConnectorRoutes(app, ctx);
  registerAccountRoutes(app, ctx);
  registerConnectorAuthRoutes(app, ctx);
  registerAdminRoutes(app, ctx);

  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    state,
    close: async () => {
      shutdown.abort();
      await app.close();
      stateFile?.save();
    },
    stats: () => ctx.stats.snapshot(),
    resetStats: () => ctx.stats.reset(),
    installCount: (accountId, name) => ctx.stats.installCount(accountId, name),
    setFaults: (config) => ctx.faults.set(config),
    getFaults: () => ctx.faults.get(),
    revokeTokens: () => state.credentials.revokeTokens(),
    setPaginationHeaders: (on) => {
      state.paginationHeaders = on;
    },
    seedAccount: (id, name) => state.seedAccount(id, name),
    authenticateAccountConnector: (id) => state.toWire(state.markAuthenticated(id)),
    getAccountConnector: (id) => {
      const ac = state.findAccountConnector(id);
      return ac && { ...state.toWire(ac), AccountId: ac.accountId };
    },
  };
}
