/**
 * provisionConnector: resolve the connector, (ensure the account,) install it idempotently, and carry it through the
 * customer's consent until Cyclr says `Authenticated`, however long that takes. The state and its steps are in
 * provisioning-state.ts, the messages in provisioning-handlers.ts, the wait's clock in consent-wait.ts.
 */
import { ApplicationFailure, CancellationScope, condition, continueAsNew, isCancellation } from '@temporalio/workflow';
import { needsConsent } from '../contract/connector.js';
import { provisionConnectorV1 } from './legacy/provision-connector-v1.js';
import type { RemovalResult } from '../contract/messages.js';
import { registerHandlers } from './provisioning-handlers.js';
import { Provisioning } from './provisioning-state.js';
import { CONTINUE_AS_NEW, type ProvisionOptions, type RunResult, type WaitOutcome } from './provisioning-run.js';
import type { ProvisioningRequest } from '../contract/request.js';
import { Failure, failure, failureOf } from '../contract/failures.js';
import { PROVISIONING_VERSIONS, versionOfRun } from './versions.js';

export type { ConsentWaitState, ProvisionOptions } from './provisioning-run.js';

export async function provisionConnector(
  request: ProvisioningRequest,
  options: ProvisionOptions = {},
): Promise<RunResult> {
  const version = versionOfRun(PROVISIONING_VERSIONS);
  if (version === 1) return provisionConnectorV1(request, options);
  const p = Provisioning.begin(version, request, options);
  registerHandlers(p);
  let ending: unknown;
  try {
    const outcome = await p.run((): Promise<WaitOutcome | RemovalResult> => {
      if (p.refusal) throw p.refusal;
      if (p.resumed) return awaitConsent(p);
      const lifecycle = p.lifecycle;
      if (lifecycle?.action === 'reconnect') return reconnect(p, lifecycle.force === true);
      if (lifecycle?.action === 'remove') return p.removeConnection();
      return provision(p);
    });
    if (outcome !== CONTINUE_AS_NEW) {
      await p.settle();
      return outcome;
    }
    ending = outcome;
  } catch (err) {
    ending = err;
  }
  return await CancellationScope.nonCancellable(() => conclude(p, ending));
}

async function provision(p: Provisioning): Promise<WaitOutcome> {
  const { connector, method } = await p.resolveConnector();
  if (p.createsAccount) await p.ensureAccount();
  const installed = await p.install(connector, method);
  if (needsConsent(method) && !installed.authenticated) {
    await p.askForConsent();
    return awaitConsent(p);
  }
  p.startVerifying();
  if (await p.confirmInstalled(installed.authenticated)) return p.complete();
  throw failure(
    Failure.NotAuthenticated,
    `Cyclr installed ${connector.name} (account connector ${p.status.accountConnectorId}) but does not report it authenticated; check authValue and properties`,
  );
}

/**
 * A reconnect of a completed provisioning: still authenticated at Cyclr, it completes at once and says so; lapsed, it
 * waits for consent like a first run (gone, it is installed again first).
 */
async function reconnect(p: Provisioning, force: boolean): Promise<WaitOutcome> {
  const { connector, method } = await p.resolveConnector();
  const now = await p.connectionNow(force);
  if (now === 'authenticated') return p.complete('still authenticated at Cyclr: nothing to reconnect');
  const installed = now === 'gone' ? await p.install(connector, method) : { authenticated: false };
  if (installed.authenticated) return p.complete('installed again at Cyclr, authenticated');
  if (!needsConsent(method)) {
    throw failure(
      Failure.NotAuthenticated,
      `${connector.name} (account connector ${p.status.accountConnectorId}) is not authenticated at Cyclr and takes no consent; start it again with a new authValue`,
    );
  }
  await p.askForConsent(
    'provisioning.reconnect_requested',
    now === 'gone'
      ? 'reconnect: installed again at Cyclr'
      : force
        ? 'reconnect: de-authenticated at Cyclr for a clean consent'
        : 'reconnect: Cyclr no longer reports it authenticated',
  );
  return awaitConsent(p);
}

/** Waits for consent: a hint (signal, callback) is checked with Cyclr, and Cyclr is asked anyway on a schedule. */
async function awaitConsent(p: Provisioning): Promise<WaitOutcome> {
  const wait = p.wait;
  for (;;) {
    const now = Date.now();
    if (wait.expired(now)) {
      throw failure(
        Failure.ConsentExpired,
        `no consent within ${wait.timeouts.consent} (expired ${p.status.consentExpiresAt})`,
      );
    }
    const checkAt = wait.nextCheckAt(now);
    const click = wait.lastClickAt;
    // A new click wakes the wait too: brisk checks start from it.
    await condition(() => wait.hint !== undefined || wait.lastClickAt !== click, wait.sleepFor(now, checkAt));

    const hint = wait.takeHint(Date.now());
    if (hint !== undefined) {
      p.startVerifying(`consent reported by ${hint}`);
      if (await p.checkWhileWaiting()) return p.complete();
      p.consentNotConfirmed(hint);
    } else if (wait.reminderDue(Date.now())) {
      p.remind();
    } else if (wait.checkDue(Date.now(), checkAt)) {
      // Cyclr sends no webhook on consent: ask it, so a lost callback never strands a customer.
      if (await p.checkWhileWaiting(wait.checkLane(Date.now()))) return p.complete('consent noticed by periodic check');
    }
    if (p.historyIsLong) return CONTINUE_AS_NEW;
  }
}

/** The one table of outcomes other than completion: a long wait goes on in a new run; the rest end it. */
async function conclude(p: Provisioning, ending: unknown): Promise<RunResult> {
  if (ending === CONTINUE_AS_NEW) {
    await p.settle();
    const next = p.nextRun();
    return continueAsNew<typeof provisionConnector>(next.request, next.options);
  }
  if (isCancellation(ending)) {
    const reason = p.cancelReason ?? 'cancelled through Temporal';
    await p.end('cancelled', { type: Failure.Cancelled, message: reason }, 'provisioning.cancelled');
    if (p.cancelReason === undefined) throw ending; // cancelled through Temporal itself: end as Canceled
    throw failure(Failure.Cancelled, reason);
  }
  const failed = failureOf(ending);
  if (failed.type === Failure.ConsentExpired) await p.end('expired', failed, 'provisioning.expired');
  else await p.end('failed', failed, 'provisioning.failed');
  throw ApplicationFailure.create({ type: failed.type, message: failed.message, nonRetryable: true });
}
