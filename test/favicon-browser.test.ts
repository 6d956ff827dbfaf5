/**
 * A newcomer browsing the gateway's pages in a real (headless) Chromium never locks out the API token: the browser
 * asks for /favicon.ico with every page, without a token, and that must never count as a failed token check.
 * Nothing here reaches Temporal: the client's connection is lazy and these pages never use it.
 */
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/gateway/app.js';
import { launchChromium } from './support/browser.js';
import { eventually } from './support/harness.js';

const WRITE = 'favicon-write-token-0123456789';

let app: FastifyInstance;
let url: string;
let browser: Browser;
/** The gateway's answers to the browser's own /favicon.ico requests (Playwright does not report those). */
const icons: number[] = [];

beforeAll(async () => {
  // The shipped default limit of failed token checks (20 a minute), so 30 pages would pass it if icons counted.
  const config = { ...loadConfig('gateway', { NODE_ENV: 'development' }), gatewayTokens: { write: [WRITE], read: [] } };
  expect(config.gatewayRateLimits.authFailuresPerMinute).toBe(20);
  const client = new ProvisioningClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), 'q');
  app = await buildApp({ client, config });
  app.addHook('onResponse', async (request, reply) => {
    if (request.url === '/favicon.ico') icons.push(reply.statusCode);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test('30 page views in Chromium (each asking for the favicon), then the API with the valid token: 200', async () => {
  const pages = ['/console', '/connect/not-a-real-link', '/oauth/callback'];
  // One visitor's browser, as the newcomer's was: a page, then the icon it asks for by itself, 30 times over.
  const context = await browser.newContext();
  const page = await context.newPage();
  for (let i = 0; i < 30; i++) {
    await page.goto(`${url}${pages[i % pages.length]}`);
    if (i === 0) await eventually(async () => (icons.length > 0 ? true : undefined), 10_000, 'the favicon request');
    else await new Promise((r) => setTimeout(r, 100));
  }
  await context.close();
  // The browser asked, and was answered without a token check (a 401 is asked again on every page; 204 is cached).
  expect(icons.length).toBeGreaterThan(0);
  expect(new Set(icons)).toEqual(new Set([204]));

  const api = await fetch(`${url}/openapi.json`, { headers: { authorization: `Bearer ${WRITE}` } });
  expect(api.status).toBe(200);
  // The same address, with no token at all, is told what to send (401), not locked out (429).
  expect((await fetch(`${url}/openapi.json`)).status).toBe(401);
});
