/**
 * The support console in a real (headless) Chromium, against the real stack: a Temporal dev server, a worker
 * process, the Cyclr simulator over HTTP, and the gateway built with gateway tokens passed in its config.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { batchProgress, submitParsedBatch } from '../src/batch/batch-client.js';
import { parseBatchText } from '../src/batch/parse-file.js';
import { BatchStore } from '../src/batch/store.js';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/gateway/app.js';
import type { ServiceProcess } from '../dev/local-stack/processes.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import type { Simulator } from '../dev/simulator/server.js';
import {
  eventually,
  provisioningClient,
  startTestSimulator,
  startWorkerProcess,
  TEST_CLIENT_SECRET,
  testEnv,
  uniqueId,
  type TestStackOptions,
} from './support/harness.js';
import { launchChromium } from './support/browser.js';
import { seedAccounts, setFaults } from './support/simulator-admin.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const SCREENSHOTS = join(process.cwd(), 'test-results', 'console');
const WRITE_TOKEN = 'console-test-write-token-0123456789';
const READ_TOKEN = 'console-test-read-token-0123456789';

let simulator: Simulator;
let gateway: FastifyInstance;
let gatewayUrl: string;
let worker: ServiceProcess;
let client: ProvisioningClient;
let options: TestStackOptions;
let batchStore: BatchStore;
let browser: Browser;
/** Every console page a test visited, to check none shows a secret or a Cyclr sign-in URL. */
const seen: string[] = [];
const cspViolations: string[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  simulator = await startTestSimulator();
  const base = { taskQueue: uniqueId('console'), simulatorUrl: simulator.url };
  client = await provisioningClient(base);
  const config = {
    ...loadConfig('gateway', testEnv(base)),
    gatewayTokens: { write: [WRITE_TOKEN], read: [READ_TOKEN] },
  };
  batchStore = BatchStore.fromConfig(config);
  // As the gateway's own client (ProvisioningClient.connect), it reads batch rows without a workflow from the store.
  const withStore = new ProvisioningClient(client.temporal, client.taskQueue, { batchStore });
  gateway = await buildApp({ client: withStore, config, batchStore });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  options = { ...base, publicBaseUrl: gatewayUrl };
  [worker, browser] = await Promise.all([startWorkerProcess(options), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([simulator?.close(), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
  clearTimeout(timer);
  await worker?.kill();
  await gateway?.close();
  await client?.temporal.connection.close();
});

/** What the browser-side callbacks touch (the test's TypeScript has no DOM types). */
interface BrowserGlobals {
  document: { getElementById(id: string): unknown };
  navigator: { clipboard: { readText(): Promise<string> } };
  Chart: { getChart(canvas: unknown): { data: { labels: unknown[]; datasets: { data: number[] }[] } } };
}

async function newAccount(): Promise<string> {
  const accountId = uniqueId('acct');
  await seedAccounts(simulator.url, [accountId]);
  return accountId;
}

/** An OAuth provisioning, once it waits for consent. */
async function awaitingConsent(accountId: string, installName?: string): Promise<string> {
  const { workflowId } = await client.start({
    accountId,
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
    ...(installName ? { installName } : {}),
    oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
  });
  await eventually(async () => ((await client.status(workflowId)).stage === 'awaiting-consent' ? true : undefined));
  // Visibility is eventually consistent: wait until a list by account finds it.
  await eventually(async () => {
    const { count } = await client.temporal.workflow.count(
      `CyclrAccountId = "${accountId}" AND ProvisioningStage = "awaiting-consent"`,
    );
    return count >= 1 ? true : undefined;
  });
  return workflowId;
}

async function signedIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  page.on('response', async (res) => {
    if (res.url().startsWith(`${gatewayUrl}/console`) && (res.headers()['content-type'] ?? '').includes('html')) {
      seen.push(await res.text().catch(() => ''));
    }
  });
  await page.goto(`${gatewayUrl}/console`);
  await page.getByLabel('Gateway token').fill(token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#scope');
  return { context, page };
}

test('a wrong token is refused with a clear message, and the session cookie is httpOnly, SameSite=Strict and signed', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const res = await page.goto(`${gatewayUrl}/console`);
  const csp = res!.headers()['content-security-policy'];
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(res!.headers()['x-content-type-options']).toBe('nosniff');
  expect(res!.headers()['cache-control']).toBe('no-store');

  await page.getByLabel('Gateway token').fill('not-a-real-token-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#problem').textContent()).resolves.toContain('not a gateway token');
  expect(await page.locator('#scope').count()).toBe(0);
  await page.screenshot({ path: join(SCREENSHOTS, '1-sign-in-refused.png') });

  await page.getByLabel('Gateway token').fill(WRITE_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#scope').textContent()).resolves.toContain('read and write');
  const session = (await context.cookies()).find((c) => c.name === 'console_session')!;
  expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
  expect(session.expires).toBeGreaterThan(Date.now() / 1000);
  expect(session.value).not.toContain(WRITE_TOKEN);

  // A tampered cookie (scope changed, signature kept) is no session at all.
  const forged = decodeURIComponent(session.value).replace(/^write\./, 'read.');
  await context.clearCookies();
  await context.addCookies([{ ...session, value: encodeURIComponent(forged) }]);
  await page.goto(`${gatewayUrl}/console`);
  expect(await page.getByLabel('Gateway token').count()).toBe(1);
  await context.close();
});

test('a read-only sign-in lists and filters provisionings and sees no actions; its writes are refused by the server', async () => {
  const accountId = await newAccount();
  const id = await awaitingConsent(accountId);
  const { context, page } = await signedIn(READ_TOKEN);
  await expect(page.locator('#scope').textContent()).resolves.toContain('read only');
  expect(await page.getByRole('link', { name: 'Bulk actions' }).count()).toBe(0);

  await page.getByLabel('Account id').fill(accountId);
  await page.getByLabel('Stage', { exact: true }).selectOption('awaiting-consent');
  await Promise.all([page.waitForURL(/account=/), page.getByRole('button', { name: 'Filter' }).click()]);
  const rows = page.locator('#provisionings tbody tr');
  await expect(rows.count()).resolves.toBe(1);
  await expect(rows.first().getAttribute('data-workflow-id')).resolves.toBe(id);
  await expect(page.locator('a[data-stage="awaiting-consent"] b').textContent()).resolves.toBe('1');
  await expect(rows.first().locator('.in-stage').textContent()).resolves.toMatch(/^\d+(ms|s|m)/);
  await page.screenshot({ path: join(SCREENSHOTS, '2-read-only-list.png') });

  await rows.first().getByRole('link', { name: id }).click();
  await expect(page.locator('#stage').textContent()).resolves.toBe('awaiting-consent');
  expect(await page.locator('.actions, #action-link, #action-complete, #action-cancel').count()).toBe(0);
  // The consent link is a bearer credential: a read-only session never sees it.
  expect(await page.content()).not.toContain('/connect/');
  await page.screenshot({ path: join(SCREENSHOTS, '3-read-only-provisioning.png') });

  // Even with a valid CSRF token (from the sign-out form), a read session's write is refused.
  const csrf = await page.locator('form.signout input[name=_csrf]').inputValue();
  const status = await page.evaluate(
    async ({ url, csrf }) =>
      (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: csrf, confirmed: 'yes', reason: 'read token' }).toString(),
        })
      ).status,
    { url: `/console/provisionings/${encodeURIComponent(id)}/cancel`, csrf },
  );
  expect(status).toBe(403);
  expect((await page.goto(`${gatewayUrl}/console/bulk`))!.status()).toBe(403);
  expect((await client.status(id)).stage).toBe('awaiting-consent');
  await context.close();
  await client.cancel(id, 'test over');
});

test('a write sign-in opens a provisioning, re-sends its link with a copy button, and cancels it with a reason', async () => {
  const accountId = await newAccount();
  const id = await awaitingConsent(accountId);
  const before = (await client.status(id)).consentLink!;
  const { context, page } = await signedIn(WRITE_TOKEN);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gatewayUrl });

  await page.goto(`${gatewayUrl}/console?account=${encodeURIComponent(accountId)}`);
  await page.locator('#provisionings').getByRole('link', { name: id }).click();
  await expect(page.locator('#connector').textContent()).resolves.toContain(FIXTURE_CONNECTORS.oauth.name);
  await expect(page.locator('#account-connector').textContent()).resolves.toMatch(/^\d+$/);
  await expect(page.locator('#consent-expires time').getAttribute('datetime')).resolves.toBe(
    (await client.status(id)).consentExpiresAt,
  );
  await expect(page.locator('#timeline li .stage').allTextContents()).resolves.toEqual([
    'resolving-connector',
    'installing',
    'awaiting-consent',
  ]);
  await page.screenshot({ path: join(SCREENSHOTS, '4-provisioning.png') });

  // Re-send: confirmed first, by keyboard, then the new link is shown with a copy button.
  await page.locator('#action-link').focus();
  await page.keyboard.press('Enter');
  await page.locator('#confirm').waitFor();
  await expect(page.locator('h1').textContent()).resolves.toBe('Re-send the consent link?');
  await page.locator('#confirm').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#outcome').textContent()).resolves.toContain('A new consent link was issued');
  const link = await page.locator('#new-link').inputValue();
  expect(link).toMatch(new RegExp(`^${gatewayUrl}/connect/`));
  expect(link).not.toBe(before);
  expect((await client.status(id)).consentLink).toBe(link);
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.locator('.copied', { hasText: /Copied|Selected/ }).waitFor();
  expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).navigator.clipboard.readText())).toBe(
    link,
  );
  await page.screenshot({ path: join(SCREENSHOTS, '5-link-resent.png') });

  // Cancel with a reason; the reason is shown back escaped, never as markup.
  await page.locator('#back').click();
  await page.getByLabel('Reason for cancelling').fill('customer left <b>for good</b>');
  await page.locator('#action-cancel').click();
  await expect(page.locator('#confirm-reason').textContent()).resolves.toBe('customer left <b>for good</b>');
  expect(await page.locator('#confirm-reason b').count()).toBe(0);
  await page.locator('#confirm').click();
  await expect(page.locator('#outcome').textContent()).resolves.toContain('Cancelling');
  await page.screenshot({ path: join(SCREENSHOTS, '6-cancelled.png') });
  await eventually(async () => ((await client.status(id)).stage === 'cancelled' ? true : undefined));
  await page.locator('#back').click();
  await expect(page.locator('#stage').textContent()).resolves.toBe('cancelled');
  expect(await page.locator('#action-cancel').count()).toBe(0);
  // Who acted, on the page: the client that started it, then this token's re-send and cancel (never the token).
  const name = (await page.locator('#token-name').textContent())!.replace(/[()]/g, '').trim();
  const acted = (await page.locator('#acted li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
  expect(acted).toEqual([
    expect.stringMatching(/^start \S+ by \d+@/),
    expect.stringMatching(new RegExp(`^re-send link \\S+ by ${name} via the console \\(\\d+@`)),
    expect.stringMatching(new RegExp(`^cancel \\S+ by ${name} via the console \\(\\d+@`)),
  ]);
  expect(acted.join(' ')).not.toContain(WRITE_TOKEN);

  // A form post without the CSRF token is refused, and does nothing.
  const other = await awaitingConsent(accountId, 'Second CRM');
  const refused = await page.evaluate(
    async (url) =>
      (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'confirmed=yes',
        })
      ).status,
    `/console/provisionings/${encodeURIComponent(other)}/cancel`,
  );
  expect(refused).toBe(403);
  expect((await client.status(other)).stage).toBe('awaiting-consent');
  await context.close();
  await client.cancel(other, 'test over');
});

test("a provisioning's page counts the reminders sent and shows the last error in words", async () => {
  const receiver = await startWebhookReceiver();
  try {
    const accountId = await newAccount();
    const { workflowId } = await client.start({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
      notifyUrl: receiver.eventsUrl,
      timeouts: { reminderEvery: '1s' },
    });
    await receiver.waitFor(workflowId, 'provisioning.reminder');
    // A consent hint Cyclr does not confirm leaves an error that says so.
    await client.completeConsent(workflowId, 'support');
    await eventually(async () => ((await client.status(workflowId)).lastError ? true : undefined));
    const { context, page } = await signedIn(READ_TOKEN);
    await page.goto(`${gatewayUrl}/console/provisionings/${encodeURIComponent(workflowId)}`);
    expect(Number(await page.locator('#reminders').textContent())).toBeGreaterThanOrEqual(1);
    await expect(page.locator('#last-error').textContent()).resolves.toContain(
      'ConsentNotConfirmed: consent reported by support, but Cyclr does not report the connector authenticated yet',
    );
    await page.screenshot({ path: join(SCREENSHOTS, '6b-reminders-and-error.png') });
    await context.close();
    await client.cancel(workflowId, 'test over');
  } finally {
    await receiver.close();
  }
});

test("paging follows the server's page token; bulk: a dry-run list, then confirming re-sends links to, then cancels, exactly those", async () => {
  const accountId = await newAccount();
  const ids = [await awaitingConsent(accountId, 'Crm-One'), await awaitingConsent(accountId, 'Crm-Two')].sort();
  const { context, page } = await signedIn(WRITE_TOKEN);
  await page.getByRole('link', { name: 'Bulk actions' }).click();

  // Paging: one row a page, and the next page carries on from the first, through the server's page token.
  await page.goto(`${gatewayUrl}/console?account=${encodeURIComponent(accountId)}&size=1`);
  const first = await page.locator('#provisionings tbody tr').getAttribute('data-workflow-id');
  await page.locator('#next-page').click();
  await page.waitForURL(/page=/);
  const second = await page.locator('#provisionings tbody tr').getAttribute('data-workflow-id');
  expect([first, second].sort()).toEqual(ids);
  await page.goto(`${gatewayUrl}/console?account=${encodeURIComponent(accountId)}&page=bm90LWEtdG9rZW4`);
  await expect(page.locator('#problem').textContent()).resolves.toContain('That page link is no longer valid');

  await page.getByRole('link', { name: 'Bulk actions' }).click();
  // The stages say which bulk action can touch them: ended ones only remove does; removed ones none.
  const stageOption = (stage: string) => page.locator(`#b-stage option[value="${stage}"]`).textContent();
  await expect(stageOption('awaiting-consent')).resolves.toMatch(/^\s*awaiting-consent\s*$/);
  await expect(stageOption('completed')).resolves.toContain('completed (remove only)');
  await expect(stageOption('removed')).resolves.toContain('removed (no bulk action)');
  // Re-send links to both: each new link is shown to copy, as the CLI prints them.
  await page.getByLabel('Action').selectOption('link');
  await page.getByLabel('Account id').fill(accountId);
  await page.getByRole('button', { name: 'Dry run' }).click();
  await expect(page.locator('#dry-run-title').textContent()).resolves.toBe('Dry run: would re-send the consent link 2');
  await page.locator('#bulk-confirm').click();
  await expect(page.locator('#bulk-summary').textContent()).resolves.toBe('2 done, 0 failed');
  const links = await page
    .locator('#bulk-outcomes input[readonly]')
    .evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
  expect(links.sort()).toEqual(
    (await Promise.all(ids.map(async (id) => (await client.status(id)).consentLink!))).sort(),
  );

  await page.getByRole('link', { name: 'Another bulk action' }).click();
  await page.getByLabel('Action').selectOption('cancel');
  await page.getByLabel('Account id').fill(accountId);
  await page.getByLabel('Reason (for cancel)').fill('bulk clean-up');
  await page.getByRole('button', { name: 'Dry run' }).click();
  await expect(page.locator('#dry-run-title').textContent()).resolves.toBe('Dry run: would cancel 2');
  const listed = (await page.locator('#dry-run tbody tr td:first-child').allTextContents()).sort();
  expect(listed).toEqual(ids);
  for (const id of ids) expect((await client.status(id)).stage).toBe('awaiting-consent');
  await page.screenshot({ path: join(SCREENSHOTS, '7-bulk-dry-run.png') });

  await page.locator('#bulk-confirm').click();
  await expect(page.locator('#bulk-summary').textContent()).resolves.toBe('2 done, 0 failed');
  await page.screenshot({ path: join(SCREENSHOTS, '8-bulk-done.png') });
  for (const id of ids) {
    await eventually(async () => ((await client.status(id)).stage === 'cancelled' ? true : undefined));
  }

  // Offboarding: bulk remove chooses ended provisionings too (these two were just cancelled), then none is left.
  await page.getByRole('link', { name: 'Another bulk action' }).click();
  await page.getByLabel('Action').selectOption('remove');
  await page.getByLabel('Account id').fill(accountId);
  await page.getByRole('button', { name: 'Dry run' }).click();
  await expect(page.locator('#dry-run-title').textContent()).resolves.toBe('Dry run: would remove 2');
  expect((await page.locator('#dry-run tbody tr td:first-child').allTextContents()).sort()).toEqual(ids);
  await page.locator('#bulk-confirm').click();
  await expect(page.locator('#bulk-summary').textContent()).resolves.toBe('2 done, 0 failed');
  for (const id of ids) await expect(client.status(id)).resolves.toMatchObject({ stage: 'removed' });
  await eventually(async () => {
    await page.goto(`${gatewayUrl}/console/bulk?action=remove&account=${encodeURIComponent(accountId)}`);
    return (await page.locator('#dry-run-empty').count()) ? true : undefined;
  });
  await expect(page.locator('#dry-run-empty').textContent()).resolves.toContain(
    'No provisioning matches that is not removed already',
  );

  // With no filter at all, nothing is listed and nothing can be confirmed.
  await page.goto(`${gatewayUrl}/console/bulk?action=cancel`);
  await expect(page.locator('#problem').textContent()).resolves.toContain('at least one filter');
  expect(await page.locator('#bulk-confirm').count()).toBe(0);
  await context.close();
});

test("a batch's page charts progress while it runs, lists failures with line numbers, and offers the failures file", async () => {
  const prefix = uniqueId('bconsole');
  const good = Array.from({ length: 6 }, (_, i) =>
    JSON.stringify({
      accountId: `${prefix}-${i}`,
      account: { create: true },
      connector: { id: FIXTURE_CONNECTORS.apiKey.id },
      authValue: 'sk-console-test-secret-value',
    }),
  );
  const lines = [
    ...good.slice(0, 3),
    JSON.stringify({ connector: { id: FIXTURE_CONNECTORS.apiKey.id } }), // line 4: no accountId
    JSON.stringify({ accountId: `${prefix}-x`, account: { create: true }, connector: { id: 999_999 } }), // line 5
    ...good.slice(3),
  ];
  await setFaults(simulator.url, { install: { latencyMs: 1500 } });
  try {
    const batch = await submitParsedBatch(
      client.temporal,
      options.taskQueue,
      batchStore,
      parseBatchText(lines.join('\n'), 'jsonl'),
      {
        source: 'console test',
        batchId: prefix,
        concurrency: 1,
      },
    );
    const { context, page } = await signedIn(READ_TOKEN);
    await page.getByRole('link', { name: 'Batches' }).click();
    await eventually(async () => {
      await page.reload();
      return (await page.getByRole('link', { name: batch.batchId }).count()) === 1 ? true : undefined;
    });
    await page.getByRole('link', { name: batch.batchId }).click();
    await page.locator('#progress-chart[data-samples]').waitFor();

    // The chart moves: completed rises across samples, and ends with every good row.
    await page.locator('#batch-status', { hasText: 'completed' }).waitFor({ timeout: 90_000 });
    const completed = await page.evaluate(() => {
      const g = globalThis as unknown as BrowserGlobals;
      return g.Chart.getChart(g.document.getElementById('progress-chart')).data.datasets[0]!.data;
    });
    expect(completed.length).toBeGreaterThanOrEqual(3);
    expect(new Set(completed).size).toBeGreaterThanOrEqual(2);
    expect(completed.at(-1)).toBe(6);
    await expect(page.locator('#completed').textContent()).resolves.toBe('6');
    await page.screenshot({ path: join(SCREENSHOTS, '9-batch-chart.png') });

    // After a reload, the finished batch's whole run is drawn from what the batch recorded, times in UTC.
    await page.reload();
    const drawn = await page.evaluate(() => {
      const g = globalThis as unknown as BrowserGlobals;
      const chart = g.Chart.getChart(g.document.getElementById('progress-chart'));
      return { labels: chart.data.labels as string[], completed: chart.data.datasets[0]!.data };
    });
    const { timeline } = (await batchProgress(client.temporal, batch.batchId)).progress;
    expect(timeline!.length).toBeGreaterThanOrEqual(3);
    expect(drawn.completed).toEqual(timeline!.map((point) => point.completed));
    expect(drawn.labels).toEqual(timeline!.map((point) => point.at.slice(11, 19)));
    expect(drawn.completed.at(-1)).toBe(6);

    const failureRows = page.locator('#failures tbody tr');
    await expect(failureRows.count()).resolves.toBe(2);
    await expect(failureRows.nth(0).locator('td').first().textContent()).resolves.toBe('4');
    await expect(failureRows.nth(1).locator('td').first().textContent()).resolves.toBe('5');
    await expect(failureRows.nth(1).textContent()).resolves.toContain('ConnectorNotFound');
    // That row ran without a workflow of its own: its link opens the batch's record of it. A read sign-in has nothing
    // to act on; a write sign-in may remove it (it failed: no reconnect), which gives it a run of its own.
    const rowLink = failureRows.nth(1).getByRole('link');
    const rowId = (await rowLink.textContent())!.trim();
    await rowLink.click();
    await expect(page.locator('#workflow-id').textContent()).resolves.toBe(rowId);
    await expect(page.locator('#stage').textContent()).resolves.toBe('failed');
    await expect(page.locator('#last-error').textContent()).resolves.toContain('ConnectorNotFound');
    await expect(page.locator('#without-workflow').count()).resolves.toBe(1);
    await expect(page.locator('#action-reconnect, #action-remove').count()).resolves.toBe(0);
    const writer = await signedIn(WRITE_TOKEN);
    await writer.page.goto(page.url());
    await expect(writer.page.locator('#action-reconnect').count()).resolves.toBe(0);
    await writer.page.locator('#action-remove').click();
    await writer.page.locator('#confirm').click();
    await expect(writer.page.locator('#outcome').textContent()).resolves.toContain('Removed');
    await expect(client.status(rowId)).resolves.toMatchObject({ stage: 'removed', batchId: batch.batchId });
    await writer.context.close();
    await page.goBack();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#failures-download').click()]);
    expect(download.suggestedFilename()).toBe(`${batch.batchId}.failures.jsonl`);
    const text = await (
      await fetch(`${gatewayUrl}/console/batches/${batch.batchId}/failures.jsonl`, {
        headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') },
      })
    ).text();
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { line: number }).line),
    ).toEqual([4, 5]);
    expect(text).not.toContain('sk-console-test-secret-value');
    await page.screenshot({ path: join(SCREENSHOTS, '10-batch-failures.png'), fullPage: true });
    await context.close();
  } finally {
    await setFaults(simulator.url, {});
  }
});

test('an ended provisioning: a write sign-in reconnects it, then removes it, from its page; a read sign-in sees neither', async () => {
  const accountId = await newAccount();
  const { workflowId } = await client.start({
    accountId,
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'sk-console-test-secret-value',
  });
  await client.result(workflowId);
  const href = `${gatewayUrl}/console/provisionings/${encodeURIComponent(workflowId)}`;

  const reader = await signedIn(READ_TOKEN);
  await reader.page.goto(href);
  await expect(reader.page.locator('#action-reconnect, #action-remove').count()).resolves.toBe(0);
  await reader.context.close();

  const { context, page } = await signedIn(WRITE_TOKEN);
  await page.goto(href);
  await page.locator('#action-reconnect').click();
  await expect(page.locator('#confirm-target').textContent()).resolves.toBe(workflowId);
  await page.locator('#confirm').click();
  await expect(page.locator('#outcome').textContent()).resolves.toContain('Reconnecting');
  // Cyclr still holds the ApiKey connection: the reconnect completes at once and is counted.
  await eventually(async () => {
    const s = await client.status(workflowId);
    return s.stage === 'completed' && s.reconnects === 1 ? true : undefined;
  });

  await page.goto(href);
  await expect(page.locator('#reconnects').textContent()).resolves.toBe('1');
  await page.locator('#action-remove').click();
  await page.locator('#confirm').click();
  await expect(page.locator('#outcome').textContent()).resolves.toContain('Removed');
  await expect(client.status(workflowId)).resolves.toMatchObject({ stage: 'removed' });
  expect(simulator.stats().uninstalls.filter((u) => u.accountId === accountId)).toEqual([
    expect.objectContaining({ count: 1 }),
  ]);
  // Removed: no action is offered any more.
  await page.goto(href);
  await expect(page.locator('#action-reconnect, #action-remove').count()).resolves.toBe(0);
  await page.screenshot({ path: join(SCREENSHOTS, '11-removed.png'), fullPage: true });
  // Who acted is in the history: the reconnect's and the removal's runs were started under the name the console
  // shows for the token (Temporal's identity), never the token itself.
  const shown = (await page.locator('#token-name').textContent())!.replace(/[()]/g, '').trim();
  expect(shown).toMatch(/^write token [0-9a-f]{8}$/);
  const identities = await eventually(async () => {
    const found: string[] = [];
    for await (const run of client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      const history = await client.temporal.workflow.getHandle(workflowId, run.runId).fetchHistory();
      found.push(history.events![0]!.workflowExecutionStartedEventAttributes!.identity ?? '');
    }
    return found.length === 3 ? found : undefined;
  });
  expect(identities.filter((i) => i.startsWith(`${shown} via the console (`))).toHaveLength(2);
  expect(identities.join(' ')).not.toContain(WRITE_TOKEN);
  await context.close();
});

test('no console page showed a secret, a Cyclr sign-in URL or token, or broke its own CSP', () => {
  expect(seen.length).toBeGreaterThan(10);
  for (const body of seen) {
    expect(body).not.toContain(TEST_CLIENT_SECRET);
    expect(body).not.toContain(WRITE_TOKEN);
    expect(body).not.toContain(READ_TOKEN);
    expect(body).not.toContain('sk-console-test-secret-value');
    expect(body).not.toContain(simulator.url);
    expect(body).not.toMatch(/connectorauth|signintoken|<script>(?!<\/script>)/i);
  }
  expect(cspViolations).toEqual([]);
});
