/**
 * GET /assets/*: the browser helper for consent inside the customer's app (consent.js, its types, and the Callback
 * Error HTML snippet for Cyclr), served from our own files: no CDN, no build step. Public, like /connect. And the
 * icons browsers fetch by themselves (/favicon.ico): an empty answer, never a token check.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { BROWSER_ICONS } from '../auth.js';
import type { GatewayRoutes } from '../deps.js';

export const ASSETS_DIR = fileURLToPath(new URL('../assets/', import.meta.url));

export const assetRoutes: GatewayRoutes = {
  register(app) {
    void app.register(fastifyStatic, {
      root: ASSETS_DIR,
      prefix: '/assets/',
      // Only the files there; no directory listings, no dotfiles.
      index: false,
      list: false,
      dotfiles: 'deny',
      // One route per file, found at start: nothing else under /assets/ is ever served.
      wildcard: false,
      maxAge: '5m',
      contentType: false,
      // Apps load the script from another origin (a module script is fetched with CORS). The types and the HTML
      // snippet are for copying, not running: as text, the snippet's script never runs on the gateway's origin.
      setHeaders: (res, path) => {
        res.setHeader('Access-Control-Allow-Origin', '*');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Content-Type', `${path.endsWith('.js') ? 'text/javascript' : 'text/plain'}; charset=utf-8`);
      },
    });

    // Browsers ask for these with every page. No content (no icon of our own), cached for a day so they ask rarely.
    for (const url of BROWSER_ICONS) {
      app.get(url, async (_request, reply) => reply.code(204).header('Cache-Control', 'public, max-age=86400').send());
    }
  },

  paths: {
    ...Object.fromEntries(
      BROWSER_ICONS.map((url) => [
        url,
        {
          get: {
            operationId: `browserIcon${url.replace(/\W+(\w)/g, (_m, c: string) => c.toUpperCase())}`,
            summary: 'Asked for by browsers with every page: 204, no token needed (never a failed token check)',
            responses: { '204': { description: 'No icon (cached for a day)' } },
          },
        },
      ]),
    ),
    '/assets/consent.js': {
      get: {
        operationId: 'consentHelperScript',
        summary: 'The browser helper: `openConsent(link, { onDone, onError })` (an ES module; types at consent.d.ts)',
        responses: {
          '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
        },
      },
    },
    '/assets/consent.d.ts': {
      get: {
        operationId: 'consentHelperTypes',
        summary: 'TypeScript declarations for /assets/consent.js',
        responses: { '200': { description: 'TypeScript declarations' } },
      },
    },
    '/assets/callback-error.html': {
      get: {
        operationId: 'callbackErrorSnippet',
        summary: 'HTML to paste into Cyclr\'s "Connector Callback Error HTML", so the helper can report "denied"',
        responses: { '200': { description: 'The HTML, as text/plain' } },
      },
    },
  },
};
