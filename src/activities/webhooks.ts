/** Delivers lifecycle events to a request's `notifyUrl`, signed like Standard Webhooks; Temporal retries failures. */
import { ApplicationFailure } from '@temporalio/common';
import got, { RequestError, type Request } from 'got';
import type { NotifyUrlPolicy } from '../config.js';
import { checkNotifyUrl, NotifyUrlRefused, publicOnlyLookup } from '../webhooks/notify-url.js';
import { signWebhook } from '../webhooks/signature.js';
import type { ProvisioningEvent } from '../contract/webhook-events.js';
import { Failure, failure } from '../contract/failures.js';

export interface WebhookActivityDeps {
  signingSecret: string;
  /** Where events may go (config.notifyUrls). Default: anywhere, for tests and tools that build activities alone. */
  notifyUrls?: NotifyUrlPolicy;
  timeoutMs?: number;
}

const ANYWHERE: NotifyUrlPolicy = { allowedHosts: [], allowPrivateAddresses: true };

/** A refused destination will be refused again: not retried, and named so the log says which setting decides. */
function refused(type: string, err: NotifyUrlRefused): ApplicationFailure {
  return failure(Failure.NotifyUrlRefused, `${type}: ${err.message}`);
}

export function createWebhookActivities({
  signingSecret,
  notifyUrls = ANYWHERE,
  timeoutMs = 10_000,
}: WebhookActivityDeps) {
  return {
    async sendEvent(input: { notifyUrl: string; event: ProvisioningEvent }): Promise<void> {
      try {
        checkNotifyUrl(input.notifyUrl, notifyUrls);
      } catch (err) {
        if (err instanceof NotifyUrlRefused) throw refused(input.event.type, err);
        throw err;
      }
      const body = JSON.stringify(input.event);
      const headers = signWebhook(signingSecret, input.event.id, Math.floor(Date.now() / 1000), body);
      let status: number;
      try {
        status = await statusOf(
          // A stream, closed once the status line is in: the receiver's answer is never read, so an endless or
          // huge body costs the worker nothing (got.post would buffer all of it for up to the timeout).
          got.stream.post(input.notifyUrl, {
            body,
            headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'cyclr-provisioner' },
            throwHttpErrors: false,
            retry: { limit: 0 },
            timeout: { request: timeoutMs },
            // No redirects: a redirect could lead past the address check to an internal host.
            followRedirect: false,
            // The address check runs on the addresses this connection uses, so a DNS change cannot slip past it.
            ...(notifyUrls.allowPrivateAddresses ? {} : { dnsLookup: publicOnlyLookup }),
          }),
        );
      } catch (err) {
        const cause = err instanceof RequestError ? err.cause : undefined;
        if (cause instanceof NotifyUrlRefused) throw refused(input.event.type, cause);
        const code = err instanceof RequestError ? err.code : 'ERROR';
        throw failure(Failure.EventDeliveryFailed, `${input.event.type} to ${origin(input.notifyUrl)}: ${code}`);
      }
      if (status >= 200 && status < 300) return;
      // A receiver that refuses the event outright will refuse it again; anything else may recover.
      const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
      throw ApplicationFailure.create({
        type: Failure.EventDeliveryFailed,
        message: `${input.event.type} to ${origin(input.notifyUrl)}: HTTP ${status}`,
        nonRetryable: permanent,
      });
    },
  };
}

/** The answer's status code; the stream is destroyed as soon as it is known, before any of the body is read. */
function statusOf(stream: Request): Promise<number> {
  return new Promise((resolve, reject) => {
    stream.once('response', (res: { statusCode: number }) => {
      resolve(res.statusCode);
      stream.destroy();
    });
    stream.on('error', reject);
  });
}

/** Only the origin: a notifyUrl may carry a token in its path or query. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid notifyUrl)';
  }
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
