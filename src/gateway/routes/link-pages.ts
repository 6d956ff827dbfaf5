/** What a person sees when a consent link or callback cannot take them on to Cyclr or back to the app. */
import type { FastifyReply } from 'fastify';
import type { ProvisioningClient } from '../../client.js';
import type { VerifyResult } from '../../signing/signed-token.js';
import type { ProvisioningStatus } from '../../contract/messages.js';
import { sendPage, type PageContent } from '../pages.js';
import { Failure } from '../../contract/failures.js';

type Refusal = Extract<VerifyResult, { ok: false }>['reason'];

/** Consent links: malformed 404, expired 410, anything signed wrongly 403 (the page and the status route alike). */
export function refusalStatus(reason: Refusal): 403 | 404 | 410 {
  return reason === 'malformed' ? 404 : reason === 'expired' ? 410 : 403;
}

/**
 * The status route's answer for a link `/connect` would refuse: the same status, as JSON the browser helper reads.
 * `error` names the case; nothing about the provisioning is revealed.
 */
export function linkRefusalBody(reason: Refusal | 'revoked' | 'unknown-provisioning'): {
  status: number;
  body: { error: string; message: string };
} {
  switch (reason) {
    case 'revoked':
      return { status: 410, body: { error: Failure.LinkRevoked, message: 'this link was replaced by a newer one' } };
    case 'unknown-provisioning':
      return { status: 404, body: { error: Failure.ProvisioningNotFound, message: 'no provisioning for this link' } };
    case 'expired':
      return { status: 410, body: { error: Failure.LinkExpired, message: 'this link has expired' } };
    case 'malformed':
      return { status: 404, body: { error: Failure.LinkNotFound, message: 'this link is incomplete or mistyped' } };
    default:
      return {
        status: 403,
        body: { error: Failure.LinkInvalid, message: 'this link was altered or was not issued by us' },
      };
  }
}

export function refusedLink(reply: FastifyReply, reason: Refusal): FastifyReply {
  const status = refusalStatus(reason);
  if (status === 404) {
    return sendPage(reply, 404, {
      title: 'Link not found',
      message:
        'This link is incomplete or mistyped. Open the link from the most recent email you received, or ask for a new one.',
    });
  }
  if (status === 410) {
    return sendPage(reply, 410, {
      title: 'This link has expired',
      message: 'The time allowed to connect has passed. Ask the team that sent it for a new link.',
    });
  }
  return sendPage(reply, 403, {
    title: 'This link is not valid',
    message:
      'This link was altered or was not issued by us, so it cannot be used. Open the link from the original email, or ask for a new one.',
  });
}

export function revokedLink(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 410, {
    title: 'This link was replaced',
    message: 'This link was replaced by a newer one. Use the link from the most recent email you received.',
  });
}

/** Too many sign-ins started from one link in a short while: nothing minted; when the window ends, it works again. */
export function tooManyClicks(reply: FastifyReply, retryAfterSeconds: number, now = Date.now()): FastifyReply {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  const at = new Date(now + retryAfterSeconds * 1000).toISOString().slice(11, 16);
  reply.header('Retry-After', String(retryAfterSeconds));
  return sendPage(reply, 429, {
    title: 'Please wait a few minutes',
    message:
      `Sign-in was started from this link too many times in a short while, so it is paused. ` +
      `Try the same link again in ${minutes} minute${minutes === 1 ? '' : 's'} (after ${at} UTC).`,
  });
}

export function unknownProvisioning(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 404, {
    title: 'Link no longer in use',
    message: 'We could not find the connection request this link belongs to. Ask the team that sent it for a new link.',
  });
}

export function unavailable(reply: FastifyReply): FastifyReply {
  // Before the page: a header set after send is never sent.
  reply.header('Retry-After', '30');
  return sendPage(reply, 503, {
    title: 'Please try again in a moment',
    message: 'We could not process this link just now. Nothing was lost: try the same link again in a few minutes.',
  });
}

/** Rejects with a TimeoutError after `ms`: a browser is waiting, and without a worker Temporal would not answer. */
export async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The status for a page, or undefined if it cannot be read quickly. */
export async function statusWithin(
  client: ProvisioningClient,
  workflowId: string,
  ms = 5000,
): Promise<ProvisioningStatus | undefined> {
  return client.status(workflowId, { timeoutMs: ms }).catch(() => undefined);
}

/** The link works only while awaiting consent: say why it does not now, in terms of the provisioning's stage. */
export function notAwaitingConsentPage(
  status: ProvisioningStatus | undefined,
  retryHref: string,
): { status: number; page: PageContent; retryAfterSeconds?: number } {
  const backToApp = status?.returnUrl ? { href: status.returnUrl, label: 'Continue' } : undefined;
  switch (status?.stage) {
    case 'completed':
      return {
        status: 409,
        page: {
          title: 'Already connected',
          message: 'This connection is already complete. There is nothing more to do.',
          action: backToApp,
        },
      };
    case 'cancelled':
      return {
        status: 410,
        page: {
          title: 'This request was cancelled',
          message: 'This connection request was cancelled, so the link no longer works.',
        },
      };
    case 'expired':
      return {
        status: 410,
        page: {
          title: 'This link has expired',
          message: 'The time allowed to connect has passed. Ask the team that sent it for a new link.',
        },
      };
    case 'failed':
      return {
        status: 410,
        page: {
          title: 'This request has ended',
          message: 'This connection request could not be completed. Ask the team that sent it for help.',
        },
      };
    default:
      // verifying (a consent is being checked) or not yet ready: worth another click shortly.
      return {
        status: 409,
        retryAfterSeconds: 5,
        page: {
          title: 'One moment',
          message: 'We are checking this connection right now. Try the link again in a few seconds.',
          action: { href: retryHref, label: 'Try again' },
        },
      };
  }
}
