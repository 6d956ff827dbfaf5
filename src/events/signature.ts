/**
 * Standard Webhooks signing: `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC>`
 * over `${id}.${timestamp}.${body}`. Receivers verify with the shared secret and reject stale timestamps.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): WebhookHeaders {
  const signature = createHmac('sha256', secret).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}

/** True when one of the `v1,` signatures matches and the timestamp is within `toleranceSeconds` of now. */
export function verifyWebhook(
  secret: string,
  headers: Partial<Record<keyof WebhookHeaders, string | string[] | undefined>>,
  body: string,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const timestamp = Number(headers['webhook-timestamp']);
  const given = String(headers['webhook-signature'] ?? '');
  if (!id || !Number.isFinite(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, id, timestamp, body)['webhook-signature'].slice(3), 'base64');
  return given.split(' ').some((part) => {
    if (!part.startsWith('v1,')) return false;
    const candidate = Buffer.from(part.slice(3), 'base64');
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
}
