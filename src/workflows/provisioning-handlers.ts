/**
 * The messages of provisionConnector (messages.ts), registered on a provisioning's state before the workflow's
 * first await, so no early message is lost. Validators are synchronous and accept a missing input.
 */
import { ApplicationFailure, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  cancelSignal,
  consentCompletedSignal,
  issueAuthUrlUpdate,
  issueConsentLinkUpdate,
  statusQuery,
  waitForConsentLinkUpdate,
} from '../contract/messages.js';
import { interactive } from './provisioning-activities.js';
import type { Provisioning } from './provisioning-state.js';
import type { Stage } from '../contract/stages.js';

function requireStage(p: Provisioning, stage: Stage, action: string): void {
  if (p.status.stage !== stage) {
    throw ApplicationFailure.create({
      type: 'NotAwaitingConsent',
      message: `cannot ${action}: the provisioning is "${p.status.stage}", not "${stage}"`,
    });
  }
}

export function registerHandlers(p: Provisioning): void {
  setHandler(statusQuery, () => p.status);

  setHandler(
    issueAuthUrlUpdate,
    async () => {
      // A click: the customer may approve within seconds, so check briskly for a while (consent-checks.ts).
      p.lastClickAt = Date.now();
      const { oauth } = p.request;
      return interactive.mintAuthUrl({
        workflowId: p.workflowId,
        accountId: p.status.accountId,
        accountConnectorId: p.status.accountConnectorId!,
        username: oauth!.username,
        callbackMessage: oauth?.callbackMessage,
        targetOrigin: oauth?.targetOrigin,
        returnUrl: oauth?.returnUrl,
      });
    },
    {
      validator: (input) => {
        requireStage(p, 'awaiting-consent', 'issue an auth URL');
        if (input?.linkId !== undefined && input.linkId !== p.linkId) {
          throw ApplicationFailure.create({
            type: 'LinkRevoked',
            message: 'this consent link was replaced by a newer one; use the latest link',
          });
        }
      },
    },
  );

  setHandler(
    issueConsentLinkUpdate,
    async () => {
      const link = await p.newConsentLink();
      p.emit('provisioning.consent_requested', {
        reason: 'a new consent link was issued; earlier links no longer work',
      });
      return link;
    },
    { validator: () => requireStage(p, 'awaiting-consent', 'issue a consent link') },
  );

  // The first answer for a caller that wants the consent link: once consent is awaited, or the provisioning ended.
  setHandler(waitForConsentLinkUpdate, async () => {
    // Delivered with the start, the update is in the first workflow task (history: started, scheduled, started).
    const startedByThisCall = workflowInfo().historyLength <= 3 && !p.resume;
    await condition(() => p.status.stage === 'awaiting-consent' || p.finished);
    return { status: p.status, startedByThisCall };
  });

  setHandler(consentCompletedSignal, (payload) => {
    p.consentHint = payload?.source ?? 'signal';
  });

  setHandler(cancelSignal, (payload) => {
    if (p.cancelReason !== undefined || p.finished) return;
    p.cancelReason = payload?.reason ?? 'cancelled by request';
    p.main.cancel();
  });
}
