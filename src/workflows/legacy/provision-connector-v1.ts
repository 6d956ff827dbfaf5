/**
 * FROZEN: provisionConnector v1, as it ran before local activities. Runs started before the `local-activities-2026-12`
 * patch replay this code; ../provision-connector.ts runs every new one. It imports only the contract and its own
 * frozen helpers in this folder (ESLint refuses anything else), so no edit to live code changes what a v1 run does.
 * Do not edit; remove once no such run is left (docs/workflow-versions.md).
 *
 * provisionConnector: resolve the connector, (ensure the account,) install it idempotently, and carry it through the
 * customer's consent until Cyclr says `Authenticated`, however long that takes.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common';
import type { EventType } from '../../contract/webhook-events.js';
import { chooseAuthMethod, needsConsent, type ResolvedConnector } from '../../contract/connector.js';
import {
  cancelSignal,
  consentCompletedSignal,
  issueAuthUrlUpdate,
  issueConsentLinkUpdate,
  statusQuery,
  type ProvisioningResult,
  type ProvisioningStatus,
} from '../../contract/messages.js';
import {
  DEFAULT_TIMEOUTS,
  formatInvalidFields,
  parseProvisioningRequest,
  type ProvisioningRequest,
} from '../../contract/request.js';
import { batchItemSignal } from '../../contract/batch-messages.js';
import { FINAL_STAGES, type Stage } from '../../contract/stages.js';
import { Failure, failureOf } from '../../contract/failures.js';
import { cyclr, events, interactive, links } from './activities-v1.js';
import { ContinueAsNewRequested, HISTORY_EVENTS_BEFORE_CONTINUE, type ProvisionOptionsV1 } from './continuation-v1.js';
import { recordStage } from './status-v1.js';

export async function provisionConnectorV1(
  rawRequest: ProvisioningRequest,
  options: ProvisionOptionsV1 = {},
): Promise<ProvisioningResult> {
  const { workflowId } = workflowInfo();
  const resume = options.resume;
  const status: ProvisioningStatus = resume?.status ?? {
    stage: 'resolving-connector',
    accountId: typeof rawRequest?.accountId === 'string' ? rawRequest.accountId : '',
    connector: { id: rawRequest?.connector?.id, name: rawRequest?.connector?.name },
    attempts: 0,
    history: [],
    batchId: rawRequest?.batchId,
  };
  let linkId = resume?.linkId;
  /** Event deliveries and batch notices in flight; awaited before the workflow ends. */
  const pendingEvents: Promise<void>[] = [];
  let consentHint: string | undefined;
  let cancelReason: string | undefined;
  const main = new CancellationScope();

  // Handlers first, before any await, so no early message is lost.
  setHandler(statusQuery, () => status);
  setHandler(
    issueAuthUrlUpdate,
    async () =>
      interactive.mintAuthUrl({
        workflowId,
        accountId: status.accountId,
        accountConnectorId: status.accountConnectorId!,
        username: request.oauth!.username,
        callbackMessage: request.oauth?.callbackMessage,
      }),
    {
      validator: (input) => {
        requireStage('awaiting-consent', 'issue an auth URL');
        if (input?.linkId !== undefined && input.linkId !== linkId) {
          throw ApplicationFailure.create({
            type: Failure.LinkRevoked,
            message: 'this consent link was replaced by a newer one; use the latest link',
          });
        }
      },
    },
  );
  setHandler(
    issueConsentLinkUpdate,
    async () => {
      linkId = uuid4();
      status.consentLink = await links.createConsentLink({ workflowId, linkId, expiresAt: status.consentExpiresAt! });
      emit('provisioning.consent_requested', { reason: 'a new consent link was issued; earlier links no longer work' });
      return { url: status.consentLink, linkId, expiresAt: status.consentExpiresAt! };
    },
    { validator: () => requireStage('awaiting-consent', 'issue a consent link') },
  );
  setHandler(consentCompletedSignal, (payload) => {
    consentHint = payload?.source ?? 'signal';
  });
  setHandler(cancelSignal, (payload) => {
    if (cancelReason !== undefined || isFinal()) return;
    cancelReason = payload?.reason ?? 'cancelled by request';
    main.cancel();
  });

  if (!resume) recordStage(status, 'resolving-connector');

  const parsed = parseProvisioningRequest(rawRequest);
  if (!parsed.ok) {
    status.lastError = { type: Failure.InvalidRequest, message: formatInvalidFields(parsed.errors) };
    setStage('failed');
    throw ApplicationFailure.create({
      type: Failure.InvalidRequest,
      message: status.lastError.message,
      nonRetryable: true,
    });
  }
  const request = parsed.request;
  status.returnUrl = request.oauth?.returnUrl;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...request.timeouts };
  let connector: ResolvedConnector | undefined = resume?.connector ?? options.connector;
  /** Set once an install has been attempted: the Name that finds it at Cyclr. */
  let installName: string | undefined = resume ? (request.installName ?? resume.connector.name) : undefined;

  function isFinal(): boolean {
    return ['completed', 'failed', 'cancelled', 'expired'].includes(status.stage);
  }

  function requireStage(stage: ProvisioningStatus['stage'], action: string): void {
    if (status.stage !== stage) {
      throw ApplicationFailure.create({
        type: Failure.NotAwaitingConsent,
        message: `cannot ${action}: the provisioning is "${status.stage}", not "${stage}"`,
      });
    }
  }

  function setStage(stage: Stage, note?: string): void {
    recordStage(status, stage, note);
    const parent = workflowInfo().parent;
    if (parent && (stage === 'awaiting-consent' || FINAL_STAGES.includes(stage))) {
      // A batch counts its children by these; a batch that has ended no longer listens, which is fine.
      // Awaited before the run ends: a signal still pending when the workflow completes is never delivered.
      pendingEvents.push(
        getExternalWorkflowHandle(parent.workflowId)
          .signal(batchItemSignal, {
            workflowId,
            stage,
            error: FINAL_STAGES.includes(stage) && stage !== 'completed' ? status.lastError : undefined,
          })
          .catch(() => undefined),
      );
    }
  }
  function emit(type: EventType, extra: { reason?: string } = {}): void {
    if (!request.notifyUrl) return;
    const event = {
      id: uuid4(),
      type,
      timestamp: new Date().toISOString(),
      data: {
        workflowId,
        accountId: status.accountId,
        connector: status.connector,
        accountConnectorId: status.accountConnectorId,
        consentLink: status.consentLink,
        consentExpiresAt: status.consentExpiresAt,
        error: status.lastError,
        ...extra,
      },
    };
    // Delivery runs beside the provisioning; a receiver that is down delays no customer.
    pendingEvents.push(
      events.sendEvent({ notifyUrl: request.notifyUrl, event }).catch((err) => {
        log.warn('event not delivered', { type, error: String(err) });
      }),
    );
  }

  /**
   * Removes what this provisioning installed, unless the request said keep. An install whose answer never arrived
   * may still have committed at Cyclr, so it is looked up by Name. A removal that fails is reported, not hidden.
   */
  async function removeInstalled(): Promise<void> {
    if (request.keepOnCancel || !installName) return;
    try {
      const accountConnectorId =
        status.accountConnectorId ??
        (await cyclr.findAccountConnector({ accountId: status.accountId, name: installName }));
      if (accountConnectorId === undefined) return;
      await cyclr.removeAccountConnector({ accountId: status.accountId, accountConnectorId });
    } catch (err) {
      const { message } = failureOf(err);
      log.error('could not remove the account connector', { workflowId, error: message });
      status.lastError = {
        type: status.lastError?.type ?? Failure.CleanupFailed,
        message:
          `${status.lastError?.message ?? ''} (and removing account connector ${status.accountConnectorId ?? installName} failed: ${message})`.trim(),
      };
    }
  }

  async function finish<T>(outcome: T): Promise<T> {
    await Promise.all(pendingEvents);
    await condition(allHandlersFinished);
    return outcome;
  }

  try {
    const result = await main.run(() => provision());
    return await finish(result);
  } catch (err) {
    if (err instanceof ContinueAsNewRequested) {
      await Promise.all(pendingEvents);
      await condition(allHandlersFinished);
      return await continueAsNew<typeof provisionConnectorV1>(rawRequest, {
        resume: err.state,
        continueAsNewAfterEvents: options.continueAsNewAfterEvents,
      });
    }
    // Clean-up must run even though the main scope was cancelled.
    return await CancellationScope.nonCancellable(async () => {
      if (isCancellation(err)) {
        status.lastError = { type: Failure.Cancelled, message: cancelReason ?? 'cancelled through Temporal' };
        setStage('cancelled', cancelReason);
        await removeInstalled();
        emit('provisioning.cancelled', { reason: status.lastError.message });
        await finish(undefined);
        if (cancelReason === undefined) throw err; // cancelled through Temporal itself: end as Canceled
        throw ApplicationFailure.create({ type: Failure.Cancelled, message: cancelReason, nonRetryable: true });
      }
      const failure = failureOf(err);
      status.lastError = failure;
      if (failure.type === Failure.ConsentExpired) {
        setStage('expired');
        await removeInstalled();
        emit('provisioning.expired');
      } else {
        setStage('failed');
        await removeInstalled();
        emit('provisioning.failed');
      }
      await finish(undefined);
      throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true });
    });
  }

  async function provision(): Promise<ProvisioningResult> {
    if (!resume) {
      // A missing account surfaces from the install itself (AccountNotFound), without a call of its own.
      const resolved = connector ?? (await cyclr.resolveConnector(request.connector));
      connector = resolved;
      status.connector = { id: resolved.id, name: resolved.name };
      const method = chooseAuthMethod(resolved, request);

      if (request.account?.create) {
        setStage('ensuring-account');
        await cyclr.ensureAccount({
          id: request.accountId,
          name: request.account.name ?? request.accountId,
          timezone: request.account.timezone,
        });
      }

      setStage('installing');
      installName = request.installName ?? resolved.name;
      // A cancel must not interrupt an install half way: let it finish so we know what to remove.
      const installed = await CancellationScope.nonCancellable(() =>
        cyclr.installConnector({
          accountId: request.accountId,
          connectorId: resolved.id,
          body: {
            Name: installName,
            Description: request.description,
            AuthenticationId: method.id && resolved.authentications.length > 1 ? method.id : request.authenticationId,
            AuthValue: request.authValue,
            Properties: request.properties?.map((p) => ({ Name: p.name, Value: p.value, Id: 0 })),
          },
        }),
      );
      status.accountConnectorId = installed.accountConnectorId;
      if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled during install');

      if (!needsConsent(method) || installed.authenticated) {
        setStage('verifying');
        status.attempts += 1;
        if (installed.authenticated || (await isAuthenticated())) return complete();
        throw ApplicationFailure.create({
          type: Failure.NotAuthenticated,
          message: `Cyclr installed ${connector.name} (account connector ${installed.accountConnectorId}) but does not report it authenticated; check authValue and properties`,
          nonRetryable: true,
        });
      }
    }
    return awaitConsent();
  }

  async function isAuthenticated(): Promise<boolean> {
    return cyclr.checkAuthenticated({ accountId: status.accountId, accountConnectorId: status.accountConnectorId! });
  }

  async function awaitConsent(): Promise<ProvisioningResult> {
    const checkEvery = msToNumber(timeouts.checkEvery);
    const reminderEvery = msToNumber(timeouts.reminderEvery);
    let deadline: number;
    let nextReminderAt: number;
    if (resume) {
      ({ consentDeadline: deadline, nextReminderAt } = resume);
    } else {
      deadline = Date.now() + msToNumber(timeouts.consent);
      nextReminderAt = Date.now() + reminderEvery;
      status.consentExpiresAt = new Date(deadline).toISOString();
      linkId = uuid4();
      status.consentLink = await links.createConsentLink({ workflowId, linkId, expiresAt: status.consentExpiresAt });
      setStage('awaiting-consent');
      emit('provisioning.consent_requested');
    }

    for (;;) {
      const now = Date.now();
      if (now >= deadline) {
        throw ApplicationFailure.create({
          type: Failure.ConsentExpired,
          message: `no consent within ${timeouts.consent} (expired ${status.consentExpiresAt})`,
          nonRetryable: true,
        });
      }
      const wakeAt = Math.min(deadline, nextReminderAt, now + checkEvery);
      await condition(() => consentHint !== undefined, Math.max(1, wakeAt - now));

      if (consentHint !== undefined) {
        const source = consentHint;
        consentHint = undefined;
        setStage('verifying', `consent reported by ${source}`);
        status.attempts += 1;
        if (await isAuthenticated()) return complete();
        status.lastError = {
          type: Failure.ConsentNotConfirmed,
          message: `consent reported by ${source}, but Cyclr does not report the connector authenticated yet`,
        };
        setStage('awaiting-consent', 'Cyclr did not confirm consent');
      } else if (Date.now() >= nextReminderAt && Date.now() < deadline) {
        nextReminderAt += reminderEvery;
        if (request.notifyUrl) status.remindersSent = (status.remindersSent ?? 0) + 1;
        emit('provisioning.reminder');
      } else if (Date.now() < deadline) {
        // Cyclr sends no webhook on consent: ask it, so a lost callback never strands a customer.
        status.attempts += 1;
        if (await isAuthenticated()) {
          setStage('verifying', 'consent noticed by periodic check');
          return complete();
        }
      }

      const limit = options.continueAsNewAfterEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE;
      if (workflowInfo().historyLength > limit || workflowInfo().continueAsNewSuggested) {
        throw new ContinueAsNewRequested({
          status,
          connector: connector!,
          accountConnectorId: status.accountConnectorId!,
          linkId: linkId!,
          consentDeadline: deadline,
          nextReminderAt,
        });
      }
    }
  }

  function complete(): ProvisioningResult {
    const completedAt = new Date().toISOString();
    setStage('completed');
    status.lastError = undefined;
    status.consentLink = undefined;
    linkId = undefined; // revokes any consent link already sent
    emit('provisioning.completed');
    return {
      accountConnectorId: status.accountConnectorId!,
      connectorId: connector!.id,
      authenticated: true,
      completedAt,
    };
  }
}
