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

const WRITE = 'favicon-write-token-0123456789';

let app: FastifyInstance;
let url: string;
let browser: Browser;

beforeAll(async () => {
  // The shipped default limit of failed token checks (20 a minute), so 30 pages would pass it if icons counted.
  const config = { ...loadConfig({}), gatewayTokens: { write: [WRITE], read: [] } };
  expect(config.gatewayRateLimits.authFailuresPerMinute).toBe(20);
  const client = new ProvisioningClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), 'q');
  app = await buildApp({ client, config });
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
  const icons: number[] = [];
  for (let i = 0; i < 30; i++) {
    // A fresh context per view, as a new visitor: no cached icon, so the browser asks for it every time.
    const context = await browser.newContext();
    const page = await context.newPage();
    const iconAnswered = page.waitForResponse((r) => new URL(r.url()).pathname === '/favicon.ico', {
      timeout: 10_000,
    });
    await page.goto(`${url}${pages[i % pages.length]}`);
    icons.push((await iconAnswered).status());
    await context.close();
  }
  // The browser did ask each time, and was answered without a token check.
  expect(icons).toEqual(Array(30).fill(204));

  const api = await fetch(`${url}/openapi.json`, { headers: { authorization: `Bearer ${WRITE}` } });
  expect(api.status).toBe(200);
  // The same address, with no token at all, is told what to send (401), not locked out (429).
  expect((await fetch(`${url}/openapi.json`)).status).toBe(401);
});
