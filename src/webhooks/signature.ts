/**
 * Standard Webhooks signing with the official `standardwebhooks` library, so receivers verify with the same one:
 * `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` over
 * `${id}.${timestamp}.${body}`.
 *
 * The secret (NOTIFY_SIGNING_SECRET) is keyed as the library keys it: `whsec_<base64>` is the base64-decoded bytes;
 * any other value is a raw secret whose UTF-8 bytes are the key (receivers: `new Webhook(secret, { format: 'raw' })`,
 * or the same key written as `whsec_` + base64 of the secret).
 */
import { Webhook } from 'standardwebhooks';

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The library's Webhook for our secret, in either of its two forms. */
export function webhookFor(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): WebhookHeaders {
  const signature = webhookFor(secret).sign(id, new Date(timestampSeconds * 1000), body);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signature };
}
