/**
 * Lifecycle events POSTed to notifyUrl: signed like Standard Webhooks, carrying the consent link but never a
 * sign-in token or an AuthValue, with reminders at the configured interval and an event for every ending.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { signWebhook } from '../src/webhooks/signature.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { startGatewayStack, type GatewayStack } from './support/gateway-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

/** NOTIFY_SIGNING_SECRET in Standard Webhooks' own form, as a receiver would be handed it. */
const NOTIFY_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let stack: GatewayStack;
let receiver: WebhookReceiver;

/** What a receiver does with the official library: verify, or throw. */
function verifyWebhook(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  try {
    new Webhook(secret).verify(body, headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  [stack, receiver] = await Promise.all([
    startGatewayStack('events', { NOTIFY_SIGNING_SECRET: NOTIFY_SECRET }),
    startWebhookReceiver(),
  ]);
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

async function start(body: Record<string, unknown>): Promise<string> {
  const res = await stack.call('/provisionings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ notifyUrl: receiver.eventsUrl, ...body }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { workflowId: string }).workflowId;
}

test('a raw NOTIFY_SIGNING_SECRET signs with its UTF-8 bytes as the key, as the library keys it with format "raw"', () => {
  const raw = 'a-raw-notify-signing-secret-0123';
  const body = JSON.stringify({ id: 'evt_1', type: 'provisioning.completed' });
  const headers = signWebhook(raw, 'evt_1', Math.floor(Date.now() / 1000), body);
  expect(() => new Webhook(raw, { format: 'raw' }).verify(body, { ...headers })).not.toThrow();
  expect(verifyWebhook(`whsec_${Buffer.from(raw).toString('base64')}`, { ...headers }, body)).toBe(true);
  expect(verifyWebhook(`whsec_${Buffer.from(raw).toString('base64')}`, { ...headers }, `${body} `)).toBe(false);
});

const oauth = { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' };

test('consent_requested is signed, verifies only with the right secret, and carries our link but no sign-in token', async () => {
  const accountId = await stack.newAccount();
  const workflowId = await start({ accountId, connector: { name: FIXTURE_CONNECTORS.oauth.name }, oauth });
  const requested = await receiver.waitFor(workflowId, 'provisioning.consent_requested');

  expect(verifyWebhook(NOTIFY_SECRET, requested.headers, requested.body)).toBe(true);
  expect(verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, requested.headers, requested.body)).toBe(false);
  expect(verifyWebhook(NOTIFY_SECRET, requested.headers, requested.body.replace(accountId, 'someone-else'))).toBe(
    false,
  );
  expect(requested.headers['webhook-id']).toBe(requested.event.id);

  const link = requested.event.data.consentLink!;
  expect(link.startsWith(`${stack.gatewayUrl}/connect/`)).toBe(true);
  expect(requested.event.data).toMatchObject({
    workflowId,
    accountId,
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
  });

  // The link from the event works: it leads to Cyclr with a sign-in token the event never contained.
  const click = await fetch(link, { redirect: 'manual' });
  expect(click.status).toBe(302);
  const signInToken = new URL(click.headers.get('location')!).searchParams.get('token')!;
  expect(signInToken).toBeTruthy();
  expect(requested.body).not.toContain(signInToken);
  expect(requested.body).not.toMatch(/connectorauth|signintoken|"token"/i);

  await stack.call(`/provisionings/${encodeURIComponent(workflowId)}/cancel`, { method: 'POST' });
  const cancelled = await receiver.waitFor(workflowId, 'provisioning.cancelled');
  expect(verifyWebhook(NOTIFY_SECRET, cancelled.headers, cancelled.body)).toBe(true);
  expect(cancelled.event.data.reason).toBe('cancelled by request');
  for (const r of receiver.eventsFor(workflowId)) expect(r.body).not.toContain(signInToken);
});

test('reminders arrive every reminderEvery while waiting, then the consent timeout emits provisioning.expired', async () => {
  const accountId = await stack.newAccount();
  const workflowId = await start({
    accountId,
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
    oauth,
    // Reminders due at 2s and 4s; the 6s deadline leaves a margin after the second.
    timeouts: { consent: '6s', reminderEvery: '2s' },
  });
  const requested = await receiver.waitFor(workflowId, 'provisioning.consent_requested');
  const expired = await receiver.waitFor(workflowId, 'provisioning.expired', 30_000);

  const reminders = receiver.eventsFor(workflowId, 'provisioning.reminder');
  expect(reminders.length).toBeGreaterThanOrEqual(2);
  const at = [requested, ...reminders].map((r) => Date.parse(r.event.timestamp));
  for (let i = 1; i < at.length; i++) {
    const gap = at[i]! - at[i - 1]!;
    expect(gap).toBeGreaterThanOrEqual(1500);
    expect(gap).toBeLessThanOrEqual(3500);
  }
  for (const r of reminders) {
    expect(verifyWebhook(NOTIFY_SECRET, r.headers, r.body)).toBe(true);
    expect(r.event.data.consentLink).toBe(requested.event.data.consentLink);
  }
  expect(new Set(receiver.eventsFor(workflowId).map((r) => r.event.id)).size).toBe(
    receiver.eventsFor(workflowId).length,
  );

  expect(verifyWebhook(NOTIFY_SECRET, expired.headers, expired.body)).toBe(true);
  expect(expired.event.data.error?.type).toBe('ConsentExpired');
  const expiredAfter = Date.parse(expired.event.timestamp) - Date.parse(requested.event.timestamp);
  expect(expiredAfter).toBeGreaterThanOrEqual(5500);
  expect(receiver.eventsFor(workflowId, 'provisioning.completed')).toHaveLength(0);
});

test('a completed provisioning emits provisioning.completed, and no event carries the AuthValue', async () => {
  const accountId = await stack.newAccount();
  const authValue = 'api-key-that-must-never-leak-42';
  const workflowId = await start({ accountId, connector: { id: FIXTURE_CONNECTORS.apiKey.id }, authValue });
  const completed = await receiver.waitFor(workflowId, 'provisioning.completed');
  expect(verifyWebhook(NOTIFY_SECRET, completed.headers, completed.body)).toBe(true);
  expect(completed.event.data).toMatchObject({ workflowId, accountId, accountConnectorId: expect.any(Number) });
  for (const r of receiver.eventsFor(workflowId)) expect(r.body).not.toContain(authValue);
});
