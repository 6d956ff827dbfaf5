/**
 * Consent inside the customer's app, in real (headless) Chromium with its popup blocker on: an app page served from
 * its own origin loads /assets/consent.js from the gateway and opens our consent link in a popup for a
 * provisioning started with `oauth.callbackMessage`. Cyclr is the simulator over HTTP; the worker is a real process.
 *
 * Until the workflow's brisk checks after a click are merged, "Approve to completed" waits for the slow periodic
 * check; set CONSENT_POPUP_CHECK_EVERY=2s to start these provisionings with a short `timeouts.checkEvery` instead.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import type { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/gateway/app.js';
import { gatewayEnv, withToken } from './support/gateway-stack.js';
import { launchChromium } from './support/browser.js';
import { ASSETS_DIR } from '../src/gateway/routes/assets.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { signToken } from '../src/signing/signed-token.js';
import type { Simulator } from '../dev/simulator/server.js';
import {
  eventually,
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  testEnv,
  uniqueId,
  type TestStackOptions,
} from './support/harness.js';
import { seedAccounts } from './support/simulator-admin.js';

const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');
const CALLBACK_MESSAGE = 'hubspot-connected';
const CHECK_EVERY = process.env.CONSENT_POPUP_CHECK_EVERY;
/** The issue's bar: from Approve to `completed`, with no callback and no signal, p50 at most 10 s. */
const APPROVE_TO_COMPLETED_P50_MS = 10_000;

interface PopupStack {
  simulator: Simulator;
  gateway: FastifyInstance;
  gatewayUrl: string;
  worker: ServiceProcess;
  client: ProvisioningClient;
  options: TestStackOptions;
  newAccount(): Promise<string>;
}

/**
 * Simulator, gateway (in-process) and a worker process. Unlike the shared gateway stack, the gateway here knows its
 * own public URL: the blocked-popup fallback sends the browser to Cyclr with our callback URL built from it.
 */
async function startPopupStack(): Promise<PopupStack> {
  const simulator = await startTestSimulator();
  const base = { taskQueue: uniqueId('consent-popup-browser'), simulatorUrl: simulator.url };
  const client = await provisioningClient(base);
  const config = loadConfig('gateway', gatewayEnv(testEnv(base)));
  const gateway = await buildApp({ client, config });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  const gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  config.publicBaseUrl = gatewayUrl; // known only once it listens on port 0
  const options = { ...base, publicBaseUrl: gatewayUrl };
  const worker = await startWorkerProcess(options);
  return {
    simulator,
    gateway,
    gatewayUrl,
    worker,
    client,
    options,
    async newAccount() {
      const accountId = uniqueId('acct');
      await seedAccounts(simulator.url, [accountId]);
      return accountId;
    },
  };
}

async function closePopupStack(s: PopupStack): Promise<void> {
  // The simulator first: the worker process only exits once its keep-alive connections to it are gone.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([s.simulator.close(), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
  clearTimeout(timer);
  await s.worker.kill();
  await s.gateway.close();
  await s.client.temporal.connection.close();
}

let stack: PopupStack;
let browser: Browser;
let app: Server;
let appUrl: string;
const approveToCompletedMs: number[] = [];

/** The embedding app: one button that calls openConsent, and a record of every message its window receives. */
function appPage(gatewayUrl: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Acme onboarding</title></head>
<body>
<h1>Connect your CRM</h1>
<button id="connect">Connect ${FIXTURE_CONNECTORS.oauth.name}</button>
<p id="outcome"></p>
<script type="module">
  import { openConsent } from '${gatewayUrl}/assets/consent.js';
  const params = new URLSearchParams(location.search);
  window.received = [];
  window.addEventListener('message', (e) => window.received.push({ origin: e.origin, data: e.data }));
  const show = (text) => (document.getElementById('outcome').textContent = text);
  function start() {
    openConsent(params.get('link'), {
      callbackMessage: params.get('message') ?? undefined,
      cyclrOrigin: params.get('cyclr') ?? undefined,
      onDone: (result) => (window.callbackOutcome = { ok: true, ...result }),
      onError: (error) => (window.callbackOutcome = { ok: false, name: error.name, reason: error.reason, detail: error.detail }),
    }).then(
      (result) => { window.promiseOutcome = { ok: true, ...result }; show('Connected'); },
      (error) => { window.promiseOutcome = { ok: false, name: error.name, reason: error.reason, detail: error.detail }; show('Not connected: ' + error.reason); },
    );
  }
  document.getElementById('connect').addEventListener('click', start);
  // An app that opens the consent on load, without a click: the browser blocks that popup.
  if (params.has('auto')) setTimeout(start, 100);
  document.body.dataset.ready = 'yes';
</script>
</body></html>`;
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startPopupStack(),
    // Playwright turns Chromium's popup blocker off by default; the blocked-popup case needs it on.
    launchChromium({ ignoreDefaultArgs: ['--disable-popup-blocking'] }),
  ]);
  app = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(appPage(stack.gatewayUrl));
    } else if (path === '/done') {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!DOCTYPE html><title>Done</title><h1 id="done">Back in the app: connected.</h1>');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (approveToCompletedMs.length) {
    const sorted = [...approveToCompletedMs].sort((a, b) => a - b);
    console.log(
      `Approve -> completed (no callback, no signal), ${sorted.length} runs: p50 ${median(sorted)} ms, max ${sorted[sorted.length - 1]} ms` +
        (CHECK_EVERY ? ` (timeouts.checkEvery ${CHECK_EVERY})` : ''),
    );
  }
  await browser?.close();
  await new Promise((resolve) => app?.close(resolve));
  if (stack) await closePopupStack(stack);
});

afterEach(async () => {
  await setCallbackErrorHtml(null);
});

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

interface Started {
  workflowId: string;
  link: string;
  accountId: string;
}

async function startProvisioning(oauth: Record<string, string> = {}): Promise<Started> {
  const accountId = await stack.newAccount();
  const res = await fetch(`${stack.gatewayUrl}/provisionings`, {
    method: 'POST',
    headers: withToken({ 'content-type': 'application/json' }),
    body: JSON.stringify({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username: 'jo@example.test', returnUrl: `${appUrl}/done`, callbackMessage: CALLBACK_MESSAGE, ...oauth },
      ...(CHECK_EVERY ? { timeouts: { checkEvery: CHECK_EVERY } } : {}),
    }),
  });
  expect(res.status).toBe(202);
  const { workflowId } = (await res.json()) as { workflowId: string };
  const link = await eventually(
    async () => (await stack.client.status(workflowId)).consentLink,
    30_000,
    'the consent link',
  );
  return { workflowId, link, accountId };
}

function appAddress(params: Record<string, string>): string {
  return `${appUrl}/?${new URLSearchParams(params).toString()}`;
}

interface Outcome {
  ok: boolean;
  stage?: string;
  message?: unknown;
  name?: string;
  reason?: string;
  detail?: string;
}

async function outcomes(page: Page, timeoutMs = 30_000): Promise<{ promise: Outcome; callback: Outcome }> {
  await page.waitForFunction('window.promiseOutcome !== undefined && window.callbackOutcome !== undefined', null, {
    timeout: timeoutMs,
  });
  return {
    promise: (await page.evaluate('window.promiseOutcome')) as Outcome,
    callback: (await page.evaluate('window.callbackOutcome')) as Outcome,
  };
}

/** Opens the app, clicks Connect and returns the popup once it shows Cyclr's consent page. */
async function openPopup(context: BrowserContext, started: Started, params: Record<string, string> = {}) {
  const page = await context.newPage();
  await page.goto(appAddress({ link: started.link, message: CALLBACK_MESSAGE, cyclr: stack.simulator.url, ...params }));
  await page.waitForSelector('body[data-ready="yes"]');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#connect')]);
  await popup.waitForSelector('#approve');
  expect(popup.url().startsWith(`${stack.simulator.url}/connectorauth/updateaccountconnectoroauth`)).toBe(true);
  return { page, popup };
}

async function cyclrAuthenticated(accountConnectorId: number): Promise<boolean> {
  const res = await fetch(`${stack.simulator.url}/_admin/account-connectors/${accountConnectorId}`);
  return ((await res.json()) as { Authenticated: boolean }).Authenticated;
}

async function setCallbackErrorHtml(html: string | null): Promise<void> {
  const res = await fetch(`${stack.simulator.url}/_admin/appearance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callbackErrorHtml: html }),
  });
  expect(res.status).toBe(200);
}

/** Approves in the popup and returns ms from the click to the workflow's `completed` entry. */
async function approveAndTime(popup: Page, workflowId: string): Promise<number> {
  const clickedAt = Date.now();
  await popup.click('#approve');
  const completedAt = await eventually(
    async () => (await stack.client.status(workflowId)).history.find((h) => h.stage === 'completed')?.at,
    30_000,
    'the provisioning to complete',
  );
  return Date.parse(completedAt) - clickedAt;
}

test('the app on its own origin receives callbackMessage, the helper resolves, and the provisioning completes authenticated', async () => {
  const started = await startProvisioning();
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const appResponses: { url: string; body: string }[] = [];
  const { page, popup } = await openPopup(context, started);
  page.on('response', (res) => {
    void res.text().then(
      (body) => appResponses.push({ url: res.url(), body }),
      () => undefined,
    );
  });
  const signInToken = new URL(popup.url()).searchParams.get('token')!;
  expect(signInToken).toBeTruthy();
  await popup.screenshot({ path: join(SCREENSHOTS, 'popup-1-consent.png') });

  approveToCompletedMs.push(await approveAndTime(popup, started.workflowId));
  const { promise, callback } = await outcomes(page);
  expect(promise).toEqual({ ok: true, stage: 'completed', message: CALLBACK_MESSAGE });
  expect(callback).toEqual(promise);
  await expect(page.locator('#outcome').textContent()).resolves.toBe('Connected');
  await page.screenshot({ path: join(SCREENSHOTS, 'popup-2-app-connected.png') });

  // Cyclr's message reached the app's window, from Cyclr's origin, and the helper closed the popup.
  const received = (await page.evaluate('window.received')) as { origin: string; data: unknown }[];
  expect(received).toEqual([{ origin: stack.simulator.url, data: CALLBACK_MESSAGE }]);
  expect(popup.isClosed()).toBe(true);

  // The workflow confirmed with Cyclr by itself: no callback, no signal.
  const result = await stack.client.result(started.workflowId);
  expect(result.authenticated).toBe(true);
  const status = await stack.client.status(started.workflowId);
  expect(status.stage).toBe('completed');
  expect(status.history.some((h) => /consent reported by/.test(h.note ?? ''))).toBe(false);
  await expect(cyclrAuthenticated(result.accountConnectorId)).resolves.toBe(true);

  // Nothing the app's page loaded carries the Cyclr sign-in token; the status route said the stage and nothing else.
  const polls = appResponses.filter((r) => r.url.endsWith('/status'));
  expect(polls.length).toBeGreaterThan(0);
  for (const r of polls) expect(Object.keys(JSON.parse(r.body) as object)).toEqual(['stage']);
  for (const r of appResponses) expect(r.body).not.toContain(signInToken);
  expect(JSON.stringify(received)).not.toContain(signInToken);
  await context.close();
});

test('with oauth.targetOrigin naming the app, the message reaches it even though returnUrl is on another origin', async () => {
  const started = await startProvisioning({
    targetOrigin: appUrl,
    returnUrl: 'https://elsewhere.example.test/integrations/done',
  });
  const context = await browser.newContext();
  const { page, popup } = await openPopup(context, started);
  approveToCompletedMs.push(await approveAndTime(popup, started.workflowId));
  const { promise } = await outcomes(page);
  expect(promise).toEqual({ ok: true, stage: 'completed', message: CALLBACK_MESSAGE });
  expect(await page.evaluate('window.received')).toEqual([{ origin: stack.simulator.url, data: CALLBACK_MESSAGE }]);
  await context.close();
});

test(`from Approve to completed, with no callback and no signal, takes at most ${APPROVE_TO_COMPLETED_P50_MS / 1000} s at p50`, async () => {
  const context = await browser.newContext();
  // Five samples at least, counting those of the tests above when they ran.
  for (let i = 0; i < 3 || approveToCompletedMs.length < 5; i++) {
    const started = await startProvisioning();
    const { page, popup } = await openPopup(context, started);
    approveToCompletedMs.push(await approveAndTime(popup, started.workflowId));
    expect((await outcomes(page)).promise.ok).toBe(true);
    await page.close();
  }
  const sorted = [...approveToCompletedMs].sort((a, b) => a - b);
  expect(median(sorted)).toBeLessThanOrEqual(APPROVE_TO_COMPLETED_P50_MS);
  await context.close();
});

test('Deny rejects with "denied" when Cyclr\'s Callback Error HTML carries our snippet, and the provisioning keeps waiting', async () => {
  // What the partner pastes into Cyclr's Settings > Appearance, served by the gateway beside the helper.
  const snippet = await (await fetch(`${stack.gatewayUrl}/assets/callback-error.html`)).text();
  expect(snippet).toBe(readFileSync(join(ASSETS_DIR, 'callback-error.html'), 'utf8'));
  await setCallbackErrorHtml(snippet);

  const started = await startProvisioning();
  const context = await browser.newContext();
  const { page, popup } = await openPopup(context, started);
  await popup.click('#deny');
  const { promise, callback } = await outcomes(page);
  expect(promise).toEqual({ ok: false, name: 'ConsentError', reason: 'denied', detail: 'access_denied' });
  expect(callback).toEqual(promise);
  await expect(page.locator('#outcome').textContent()).resolves.toBe('Not connected: denied');
  expect(popup.isClosed()).toBe(true);

  const status = await stack.client.status(started.workflowId);
  expect(status.stage).toBe('awaiting-consent');
  await expect(cyclrAuthenticated(status.accountConnectorId!)).resolves.toBe(false);
  await context.close();
});

test('closing the popup rejects with "closed", on the consent page and on Cyclr\'s default error page after Deny', async () => {
  const started = await startProvisioning();
  const context = await browser.newContext();

  const first = await openPopup(context, started);
  await first.popup.close();
  expect((await outcomes(first.page)).promise).toEqual({ ok: false, name: 'ConsentError', reason: 'closed' });

  // Cyclr's default error page tells nobody: the helper learns only that the customer closed the window.
  const second = await openPopup(context, started);
  await second.popup.click('#deny');
  await expect(second.popup.locator('#title').textContent()).resolves.toBe('Connector Callback Error');
  await second.page.waitForTimeout(1500);
  expect(await second.page.evaluate('window.promiseOutcome')).toBeUndefined();
  await second.popup.close();
  const { promise, callback } = await outcomes(second.page);
  expect(promise).toEqual({ ok: false, name: 'ConsentError', reason: 'closed' });
  expect(callback).toEqual(promise);
  expect((await stack.client.status(started.workflowId)).stage).toBe('awaiting-consent');
  await context.close();
});

test('a blocked popup falls back to a full-page redirect that returns to the app, and the provisioning completes', async () => {
  const started = await startProvisioning();
  const context = await browser.newContext();
  const page = await context.newPage();
  const popups: Page[] = [];
  page.on('popup', (p) => popups.push(p));
  // Opened from a timer, not a click: Chromium's popup blocker refuses it, and the page itself goes to the link.
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(`${stack.simulator.url}/connectorauth/updateaccountconnectoroauth`)),
    page.goto(appAddress({ link: started.link, message: CALLBACK_MESSAGE, auto: '1' })),
  ]);
  expect(popups).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOTS, 'popup-3-blocked-redirect.png') });

  const visited: string[] = [];
  page.on('response', (res) => {
    if (res.request().isNavigationRequest()) visited.push(`${res.status()} ${res.url().split('?')[0]}`);
  });
  await Promise.all([page.waitForURL(`${appUrl}/done`), page.click('#approve')]);
  await expect(page.locator('#done').textContent()).resolves.toMatch(/connected/);
  // Cyclr redirected (no callbackMessage on this path) through our callback, back to the request's returnUrl.
  expect(visited).toEqual([
    `302 ${stack.simulator.url}/connectorauth/approve`,
    `302 ${stack.gatewayUrl}/oauth/callback`,
    `200 ${appUrl}/done`,
  ]);
  const result = await stack.client.result(started.workflowId);
  expect(result.authenticated).toBe(true);
  const status = await stack.client.status(started.workflowId);
  expect(status.history.some((h) => h.note === 'consent reported by callback')).toBe(true);
  await expect(cyclrAuthenticated(result.accountConnectorId)).resolves.toBe(true);
  await context.close();
});

describe('the link-scoped status route', () => {
  let started: Started;
  let token: string;
  const keys = () => loadConfig('gateway', testEnv(stack.options)).linkSigningKeys;

  beforeAll(async () => {
    started = await startProvisioning();
    token = new URL(started.link).pathname.split('/').pop()!;
  });

  async function statusOf(t: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${stack.gatewayUrl}/connect/${t}/status`, { headers });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  }
  async function connectStatus(t: string): Promise<number> {
    return (await fetch(`${stack.gatewayUrl}/connect/${t}`, { method: 'HEAD', redirect: 'manual' })).status;
  }
  async function clickStatus(t: string): Promise<number> {
    return (await fetch(`${stack.gatewayUrl}/connect/${t}`, { redirect: 'manual' })).status;
  }

  test('answers only the stage, readable from any origin, without credentials', async () => {
    const answer = await statusOf(token, { origin: appUrl });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ stage: 'awaiting-consent' });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  test('refuses forged, malformed, expired and unknown-provisioning links with the same statuses as /connect', async () => {
    const [body, sig] = token.split('.') as [string, string];
    const forged = `${body}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    const otherKey = signToken('connect', { wf: started.workflowId, lid: 'x', exp: Date.now() + 60_000 }, [
      { id: 'k1', secret: 'not-the-real-key-0123456789' },
    ]);
    const expired = signToken('connect', { wf: started.workflowId, lid: 'x', exp: Date.now() - 1000 }, keys());
    const unknown = signToken('connect', { wf: 'provision:nobody:x', lid: 'x', exp: Date.now() + 60_000 }, keys());
    const cases: [string, string, number, string][] = [
      ['forged', forged, 403, 'LinkInvalid'],
      ['signed with another key', otherKey, 403, 'LinkInvalid'],
      ['malformed', 'not-a-token', 404, 'LinkNotFound'],
      ['expired', expired, 410, 'LinkExpired'],
      ['of no provisioning', unknown, 404, 'ProvisioningNotFound'],
    ];
    for (const [what, t, status, error] of cases) {
      const answer = await statusOf(t);
      expect({ what, status: answer.status, error: answer.body.error }).toEqual({ what, status, error });
      expect(Object.keys(answer.body).sort()).toEqual(['error', 'message']);
      expect({ what, connect: await clickStatus(t) }).toEqual({ what, connect: status });
    }
  });

  test('refuses a link replaced by a newer one, as /connect does, and answers for the newer link', async () => {
    const newer = await stack.client.issueConsentLink(started.workflowId);
    const answer = await statusOf(token);
    expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 410, error: 'LinkRevoked' });
    expect(await clickStatus(token)).toBe(410);
    expect(await connectStatus(new URL(newer.url).pathname.split('/').pop()!)).toBe(200);
    const current = await statusOf(new URL(newer.url).pathname.split('/').pop()!);
    expect(current).toMatchObject({ status: 200, body: { stage: 'awaiting-consent' } });
  });
});
