/**
 * The whole consent journey in a real (headless) browser, given nothing but the consent link from the
 * `provisioning.consent_requested` event: our link → Cyclr's consent page → Approve → our callback → returnUrl.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startGatewayStack, type GatewayStack } from './support/gateway-stack.js';
import { launchChromium } from './support/browser.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');

let stack: GatewayStack;
let receiver: WebhookReceiver;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [stack, receiver, browser] = await Promise.all([
    startGatewayStack('consent-browser'),
    startWebhookReceiver(),
    launchChromium(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await receiver?.close();
});

test('a customer clicks the emailed link, approves, lands on returnUrl, and the provisioning completes authenticated', async () => {
  const accountId = await stack.newAccount();
  const started = await stack.call('/provisionings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username: 'jo@example.test', returnUrl: receiver.doneUrl },
      notifyUrl: receiver.eventsUrl,
    }),
  });
  expect(started.status).toBe(202);
  const { workflowId } = (await started.json()) as { workflowId: string };
  const requested = await receiver.waitFor(workflowId, 'provisioning.consent_requested');
  const link = requested.event.data.consentLink!;

  const context = await browser.newContext({ viewport: { width: 800, height: 560 } });
  const page = await context.newPage();
  const visited: { url: string; status: number }[] = [];
  page.on('response', (res) => {
    if (res.request().isNavigationRequest()) visited.push({ url: res.url(), status: res.status() });
  });

  // 1. The link lands on Cyclr's consent page.
  await page.goto(link);
  expect(page.url().startsWith(`${stack.simulator.url}/connectorauth/updateaccountconnectoroauth`)).toBe(true);
  await expect(page.locator('#title').textContent()).resolves.toMatch(`Authorise ${FIXTURE_CONNECTORS.oauth.name}`);
  await page.screenshot({ path: join(SCREENSHOTS, '1-consent-page.png') });

  // 2. Approve: Cyclr redirects to our callback, which redirects to returnUrl.
  await Promise.all([page.waitForURL(receiver.doneUrl), page.click('#approve')]);
  await expect(page.locator('#done').textContent()).resolves.toMatch(/connected/);
  await page.screenshot({ path: join(SCREENSHOTS, '2-return-url.png') });
  expect(visited.map((v) => `${v.status} ${new URL(v.url).origin}${new URL(v.url).pathname}`)).toEqual([
    `302 ${stack.gatewayUrl}/connect/${new URL(link).pathname.split('/').pop()}`,
    `200 ${stack.simulator.url}/connectorauth/updateaccountconnectoroauth`,
    `302 ${stack.simulator.url}/connectorauth/approve`,
    `302 ${stack.gatewayUrl}/oauth/callback`,
    `200 ${receiver.doneUrl}`,
  ]);

  // 3. The workflow confirmed with Cyclr and completed; Cyclr reports the account connector Authenticated.
  const result = await stack.client.result(workflowId);
  expect(result.authenticated).toBe(true);
  const status = await stack.client.status(workflowId);
  expect(status.stage).toBe('completed');
  expect(status.history.some((h) => h.stage === 'verifying' && h.note === 'consent reported by callback')).toBe(true);
  const cyclr = (await (
    await fetch(`${stack.simulator.url}/_admin/account-connectors/${result.accountConnectorId}`)
  ).json()) as {
    Authenticated: boolean;
  };
  expect(cyclr.Authenticated).toBe(true);
  await receiver.waitFor(workflowId, 'provisioning.completed');

  // 4. The same link clicked later says it is done, and offers the way back.
  const again = await page.goto(link);
  expect(again?.status()).toBe(409);
  await expect(page.locator('#title').textContent()).resolves.toBe('Already connected');
  expect(await page.locator('#action').getAttribute('href')).toBe(receiver.doneUrl);
  await page.screenshot({ path: join(SCREENSHOTS, '3-link-after-completion.png') });
  await context.close();
});
