/**
 * The messages of provisionConnector (messages.ts), registered on a provisioning's state before the workflow's
 * first await, so no early message is lost. Each handler calls one method of the state; validators are synchronous
 * and accept a missing input.
 */
import { condition, setHandler } from '@temporalio/workflow';
import {
  cancelSignal,
  consentCompletedSignal,
  issueAuthUrlUpdate,
  issueConsentLinkUpdate,
  statusQuery,
  waitForConsentLinkUpdate,
} from '../contract/messages.js';
import { Failure, failure } from '../contract/failures.js';
import type { Provisioning } from './provisioning-state.js';

function requireAwaitingConsent(p: Provisioning, action: string): void {
  if (p.stage !== 'awaiting-consent') {
    throw failure(
      Failure.NotAwaitingConsent,
      `cannot ${action}: the provisioning is "${p.stage}", not "awaiting-consent"`,
    );
  }
}

export function registerHandlers(p: Provisioning): void {
  setHandler(statusQuery, () => p.status);

  setHandler(issueAuthUrlUpdate, () => p.issueAuthUrl(), {
    validator: (input) => {
      requireAwaitingConsent(p, 'issue an auth URL');
      if (input?.linkId !== undefined && !p.isCurrentLink(input.linkId)) {
        throw failure(Failure.LinkRevoked, 'this consent link was replaced by a newer one; use the latest link');
      }
      // Counted here, not per gateway: with any number of gateways, one link mints at most its limit.
      const waitMs = p.clickWaitMs(input?.limit, Date.now());
      if (waitMs > 0) {
        throw failure(
          Failure.TooManyClicks,
          `this consent link was used ${input!.limit!.max} times within ${input!.limit!.windowMs / 1000} s; try again in ${Math.ceil(waitMs / 1000)} s`,
          { details: [{ retryAfterMs: waitMs }] },
        );
      }
    },
  });

  setHandler(issueConsentLinkUpdate, () => p.reissueConsentLink(), {
    validator: () => requireAwaitingConsent(p, 'issue a consent link'),
  });

  // The first answer for a caller that wants the consent link: once consent is awaited, or the provisioning ended.
  setHandler(waitForConsentLinkUpdate, async (input) => {
    const startedByThisCall = p.startedWith(input?.startToken);
    await condition(() => p.stage === 'awaiting-consent' || p.finished);
    return { status: p.status, startedByThisCall };
  });

  setHandler(consentCompletedSignal, (payload) => p.consentReported(payload?.source ?? 'signal'));

  setHandler(cancelSignal, (payload) => p.cancel(payload?.reason ?? 'cancelled by request'));
}
