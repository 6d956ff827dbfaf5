/**
 * The console's scripts and styles, served from this process (the CSP allows no other origin, and no inline code):
 * our own files beside this module, and Chart.js straight from node_modules, so nothing is fetched from a CDN and
 * nothing needs a build step.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { message } from './replies.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: Buffer;
}

const JS = 'text/javascript; charset=utf-8';

function load(): Map<string, Asset> {
  return new Map([
    ['console.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(here, 'assets', 'console.css')) }],
    ['console.js', { type: JS, body: readFileSync(join(here, 'assets', 'console.js')) }],
    ['batch-chart.js', { type: JS, body: readFileSync(join(here, 'assets', 'batch-chart.js')) }],
    [
      'chart.umd.min.js',
      { type: JS, body: readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js')) },
    ],
  ]);
}

let assets: Map<string, Asset> | undefined;

/** Read once, on first use; a missing file is a startup-time mistake, reported by name. */
export function consoleAsset(name: string): Asset | undefined {
  assets ??= load();
  return assets.get(name);
}

/** Served without sign-in (the sign-in page needs them), and cacheable: they are the same for everyone. */
export function registerAssetRoute(app: FastifyInstance): void {
  app.get('/assets/:name', async (request, reply) => {
    const asset = consoleAsset((request.params as { name: string }).name);
    if (!asset) return message(request, reply, 404, 'Not found', 'No such console asset.');
    return reply.header('Cache-Control', 'public, max-age=300').type(asset.type).send(asset.body);
  });
}
