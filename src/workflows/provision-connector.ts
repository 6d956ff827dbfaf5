/**
 * provisionConnector: resolve the connector, (ensure the account,) install it idempotently, and carry it through the
 * customer's consent until Cyclr says `Authenticated`, however long that takes. The state and its steps are in
 * provisioning-state.ts, the messages in provisioning-handlers.ts, the check schedule in consent-checks.ts.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
} from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common';
import { needsConsent } from '../contract/connector.js';
import { nextCheckAt } from './consent-checks.js';
import { provisionConnectorV1 } from './legacy/provision-connector-v1.js';
import type { ProvisioningResult } from '../contract/messages.js';
import { registerHandlers } from './provisioning-handlers.js';
import { ContinueAsNewRequested, Provisioning, type ProvisionOptions } from './provisioning-state.js';
import type { ProvisioningRequest } from '../contract/request.js';
import { failureOf } from '../contract/failures.js';

export type { ConsentWaitState, ProvisionOptions } from './provisioning-state.js';

/** Runs recorded before local activities keep the code they were recorded with (legacy/). */
export const LOCAL_ACTIVITIES_PATCH = 'local-activities-2026-12';

export async function provisionConnector(
  request: ProvisioningRequest,
  options: ProvisionOptions = {},
): Promise<ProvisioningResult> {
  if (!patched(LOCAL_ACTIVITIES_PATCH)) return provisionConnectorV1(request, options);
  const p = new Provisioning(request, options);
  registerHandlers(p);
  try {
    const result = await p.main.run(() => {
      const valid = p.validate();
      return p.resume ? awaitConsent(p) : provision(p, valid);
    });
    await p.settle();
    return result;
  } catch (err) {
    return await CancellationScope.nonCancellable(() => conclude(p, err));
  }
}

async function provision(p: Provisioning, request: ProvisioningRequest): Promise<ProvisioningResult> {
  const { connector, method } = await p.resolveConnector();
  if (request.account?.create) await p.ensureAccount(request.account);
  const installed = await p.install(connector, method);
  if (needsConsent(method) && !installed.authenticated) {
    await p.askForConsent();
    return awaitConsent(p);
  }
  p.setStage('verifying');
  if (await p.confirmInstalled(installed.authenticated)) return p.complete();
  throw ApplicationFailure.create({
    type: 'NotAuthenticated',
    message: `Cyclr installed ${connector.name} (account connector ${p.status.accountConnectorId}) but does not report it authenticated; check authValue and properties`,
    nonRetryable: true,
  });
}

/** Waits for consent: a hint (signal, callback) is checked with Cyclr, and Cyclr is asked anyway on a schedule. */
async function awaitConsent(p: Provisioning): Promise<ProvisioningResult> {
  const { consent, reminderEvery, checkEvery } = p.timeouts;
  for (;;) {
    const now = Date.now();
    if (now >= p.deadline) {
      throw ApplicationFailure.create({
        type: 'ConsentExpired',
        message: `no consent within ${consent} (expired ${p.status.consentExpiresAt})`,
        nonRetryable: true,
      });
    }
    const checkAt = nextCheckAt({
      now,
      lastClickAt: p.lastClickAt,
      lastCheckAt: p.lastCheckAt,
      checkEveryMs: msToNumber(checkEvery),
    });
    const click = p.lastClickAt;
    // A new click wakes the wait too: brisk checks start from it.
    await condition(
      () => p.consentHint !== undefined || p.lastClickAt !== click,
      Math.max(1, Math.min(p.deadline, p.nextReminderAt, checkAt) - now),
    );

    if (p.consentHint !== undefined) {
      const source = p.consentHint;
      p.consentHint = undefined;
      p.setStage('verifying', `consent reported by ${source}`);
      if (await p.checkWhileWaiting()) return p.complete();
      p.status.lastError = {
        type: 'ConsentNotConfirmed',
        message: `consent reported by ${source}, but Cyclr does not report the connector authenticated yet`,
      };
      p.setStage('awaiting-consent', 'Cyclr did not confirm consent');
    } else if (Date.now() >= p.nextReminderAt && Date.now() < p.deadline) {
      p.nextReminderAt += msToNumber(reminderEvery);
      p.remind();
    } else if (Date.now() >= checkAt && Date.now() < p.deadline) {
      // Cyclr sends no webhook on consent: ask it, so a lost callback never strands a customer.
      if (await p.checkWhileWaiting()) return p.complete('consent noticed by periodic check');
    }
    p.continueAsNewIfLong();
  }
}

/** The one table of outcomes other than completion. */
async function conclude(p: Provisioning, err: unknown): Promise<ProvisioningResult> {
  if (err instanceof ContinueAsNewRequested) {
    await p.settle();
    return continueAsNew<typeof provisionConnector>(p.request, p.continuation(err.state));
  }
  if (isCancellation(err)) {
    const reason = p.cancelReason ?? 'cancelled through Temporal';
    await p.end('cancelled', { type: 'Cancelled', message: reason }, 'provisioning.cancelled');
    if (p.cancelReason === undefined) throw err; // cancelled through Temporal itself: end as Canceled
    throw ApplicationFailure.create({ type: 'Cancelled', message: reason, nonRetryable: true });
  }
  const failure = failureOf(err);
  if (failure.type === 'ConsentExpired') await p.end('expired', failure, 'provisioning.expired');
  else await p.end('failed', failure, 'provisioning.failed');
  throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true });
}
