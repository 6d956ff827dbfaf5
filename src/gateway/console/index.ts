/**
 * The support console at /console: server-rendered pages over the same client, visibility queries and batch
 * functions as the API and the CLI. It protects itself (the API's bearer check skips /console): sign-in with a
 * gateway token, then a signed, expiring, httpOnly, SameSite=Strict session cookie that dies with its token (it
 * carries the token's fingerprint); a CSRF token on every form that
 * writes; a read-only sign-in sees no actions and its writes are refused here too. Pages carry a strict CSP (no
 * inline code; scripts and styles come from /console/assets).
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps, GatewayRoutes } from '../deps.js';
import { registerActionRoutes } from './action-routes.js';
import { registerAssetRoute } from './assets.js';
import { registerBatchRoutes } from './batch-routes.js';
import type { ConsoleContext } from './context.js';
import { consolePaths } from './openapi-paths.js';
import { registerPageRoutes } from './page-routes.js';
import { registerErrorPages } from './replies.js';
import { registerProtection } from './security.js';
import { registerSessionRoutes } from './session-routes.js';
import { readSession } from './session.js';

async function consolePlugin(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const { keys, known } = deps.tokens;
  const secure = deps.config.publicBaseUrl.startsWith('https:');
  await registerProtection(app, keys, secure);
  // Read once per request, after the cookie plugin: every page, guard and CSRF check sees the same session.
  app.addHook('onRequest', async (request) => {
    request.consoleSession = readSession(request, known);
  });
  registerErrorPages(app);
  const ctx: ConsoleContext = { deps, keys, secure, csrf: { preHandler: app.csrfProtection } };
  registerAssetRoute(app);
  registerSessionRoutes(app, ctx);
  registerPageRoutes(app, ctx);
  registerActionRoutes(app, ctx);
  registerBatchRoutes(app, ctx);
}

export const consoleRoutes: GatewayRoutes = {
  register(app, deps) {
    void app.register((scope) => consolePlugin(scope, deps), { prefix: '/console' });
  },
  paths: consolePaths(),
};
