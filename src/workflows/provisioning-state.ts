/**
 * One provisioning's state and the steps it is made of: what `status` reports, what a continue-as-new carries, and
 * the helpers the process in provision-connector.ts reads as (set a stage, emit an event, install, check with
 * Cyclr, remove what was installed, finish). Deterministic code: calls out only through provisioning-activities.ts.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common';
import type { EventType } from '../contract/webhook-events.js';
import { batchItemSignal } from '../contract/batch-messages.js';
import { chooseAuthMethod, installInput, type AuthMethod, type ResolvedConnector } from '../contract/connector.js';
import type { ProvisioningResult, ProvisioningStatus } from '../contract/messages.js';
import { durable, events, quick, quickThenDurable, waiting } from './provisioning-activities.js';
import {
  DEFAULT_TIMEOUTS,
  formatInvalidFields,
  parseProvisioningRequest,
  type ProvisioningRequest,
} from '../contract/request.js';
import { FINAL_STAGES, type Stage } from '../contract/stages.js';
import { failureOf } from '../contract/failures.js';
import { pushStage, upsertStageAttributes } from './status.js';

/** State carried across continue-as-new while awaiting consent (the same shape the legacy workflow carries). */
export interface ConsentWaitState {
  status: ProvisioningStatus;
  connector: ResolvedConnector;
  accountConnectorId: number;
  linkId: string;
  consentDeadline: number;
  nextReminderAt: number;
  lastClickAt?: number;
  lastCheckAt?: number;
}

export interface ProvisionOptions {
  /** A connector already resolved (by provisionBatch, once per batch). */
  connector?: ResolvedConnector;
  /** Set by continue-as-new only. */
  resume?: ConsentWaitState;
  /** History length that triggers continue-as-new while waiting; lowered only by tests. */
  continueAsNewAfterEvents?: number;
}

/** Continue-as-new well before Temporal's ~50k-event history limit. */
export const HISTORY_EVENTS_BEFORE_CONTINUE = 10_000;

/** Thrown out of the main scope so continue-as-new happens after in-flight events and handlers finish. */
export class ContinueAsNewRequested extends Error {
  constructor(readonly state: ConsentWaitState) {
    super('continue-as-new');
  }
}

export class Provisioning {
  readonly workflowId = workflowInfo().workflowId;
  readonly status: ProvisioningStatus;
  /** Cancelled by the `cancel` signal; clean-up runs outside it. */
  readonly main = new CancellationScope();
  readonly resume?: ConsentWaitState;
  connector?: ResolvedConnector;
  /** The current consent link's id; a click on any other link is refused as revoked. */
  linkId?: string;
  /** Set by `consentCompleted`: a hint to check with Cyclr now. */
  consentHint?: string;
  cancelReason?: string;
  deadline = 0;
  nextReminderAt = 0;
  /** Clicks on the consent link start brisk checks (consent-checks.ts). */
  lastClickAt?: number;
  lastCheckAt?: number;
  private parsed?: ProvisioningRequest;
  /** Set once an install has been attempted: the Name that finds it at Cyclr. */
  private installName?: string;
  /** Event deliveries and batch notices in flight; awaited before the workflow ends. */
  private readonly pending: Promise<void>[] = [];

  constructor(
    private readonly rawRequest: ProvisioningRequest,
    private readonly options: ProvisionOptions,
  ) {
    this.resume = options.resume;
    this.status = this.resume?.status ?? {
      stage: 'resolving-connector',
      accountId: typeof rawRequest?.accountId === 'string' ? rawRequest.accountId : '',
      connector: { id: rawRequest?.connector?.id, name: rawRequest?.connector?.name },
      attempts: 0,
      history: [],
      batchId: rawRequest?.batchId,
    };
    if (this.resume) {
      this.connector = this.resume.connector;
      this.linkId = this.resume.linkId;
      this.deadline = this.resume.consentDeadline;
      this.nextReminderAt = this.resume.nextReminderAt;
      this.lastClickAt = this.resume.lastClickAt;
      this.lastCheckAt = this.resume.lastCheckAt;
      this.installName = rawRequest.installName ?? this.resume.connector.name;
    } else {
      this.setStage('resolving-connector');
    }
  }

  get request(): ProvisioningRequest {
    if (!this.parsed) throw ApplicationFailure.nonRetryable('the request has not been validated', 'InvalidRequest');
    return this.parsed;
  }

  get timeouts() {
    return { ...DEFAULT_TIMEOUTS, ...this.request.timeouts };
  }

  get finished(): boolean {
    return FINAL_STAGES.includes(this.status.stage);
  }

  /** The request, checked as every entry point checks it; a bad one fails the provisioning with the same words. */
  validate(): ProvisioningRequest {
    const parsed = parseProvisioningRequest(this.rawRequest);
    if (!parsed.ok) {
      throw ApplicationFailure.create({
        type: 'InvalidRequest',
        message: formatInvalidFields(parsed.errors),
        nonRetryable: true,
      });
    }
    this.parsed = parsed.request;
    this.status.returnUrl = parsed.request.oauth?.returnUrl;
    return parsed.request;
  }

  setStage(stage: Stage, note?: string): void {
    pushStage(this.status, stage, note);
    const parent = workflowInfo().parent;
    if (parent && (stage === 'awaiting-consent' || FINAL_STAGES.includes(stage))) {
      // A batch counts its consent rows by these; a batch that has ended no longer listens, which is fine.
      this.pending.push(
        getExternalWorkflowHandle(parent.workflowId)
          .signal(batchItemSignal, {
            workflowId: this.workflowId,
            stage,
            error: FINAL_STAGES.includes(stage) && stage !== 'completed' ? this.status.lastError : undefined,
          })
          .catch(() => undefined),
      );
    }
  }

  /** The search attributes catch up with the stage: before a wait, and at the end (one history event, not one per stage). */
  publishStage(): void {
    upsertStageAttributes(this.status);
  }

  emit(type: EventType, extra: { reason?: string } = {}): void {
    const notifyUrl = this.parsed?.notifyUrl;
    if (!notifyUrl) return;
    const s = this.status;
    const event = {
      id: uuid4(),
      type,
      timestamp: new Date().toISOString(),
      data: {
        workflowId: this.workflowId,
        accountId: s.accountId,
        connector: s.connector,
        accountConnectorId: s.accountConnectorId,
        consentLink: s.consentLink,
        consentExpiresAt: s.consentExpiresAt,
        error: s.lastError,
        ...extra,
      },
    };
    // Delivery runs beside the provisioning; a receiver that is down delays no customer.
    this.pending.push(
      events.sendEvent({ notifyUrl, event }).catch((err) => {
        log.warn('event not delivered', { type, error: String(err) });
      }),
    );
  }

  /** A reminder to the receiver (one is counted only when there is a receiver to send it to). */
  remind(): void {
    if (!this.parsed?.notifyUrl) return;
    this.status.remindersSent = (this.status.remindersSent ?? 0) + 1;
    this.emit('provisioning.reminder');
  }

  /** Quick first; when Cyclr keeps failing, the stage becomes visible to `list` before the long retries. */
  private cyclr<T>(fast: () => Promise<T>, slow: () => Promise<T>): Promise<T> {
    return quickThenDurable(fast, slow, () => this.publishStage());
  }

  async resolveConnector(): Promise<{ connector: ResolvedConnector; method: AuthMethod }> {
    const ref = this.request.connector;
    const connector =
      this.options.connector ??
      (await this.cyclr(
        () => quick.resolveConnector(ref),
        () => durable.resolveConnector(ref),
      ));
    this.connector = connector;
    this.status.connector = { id: connector.id, name: connector.name };
    return { connector, method: chooseAuthMethod(connector, this.request) };
  }

  async ensureAccount(account: NonNullable<ProvisioningRequest['account']>): Promise<void> {
    this.setStage('ensuring-account');
    const input = {
      id: this.request.accountId,
      name: account.name ?? this.request.accountId,
      timezone: account.timezone,
    };
    await this.cyclr(
      () => quick.ensureAccount(input),
      () => durable.ensureAccount(input),
    );
  }

  /** Installs (idempotently by Name); a cancel lets it finish, so what was installed can be removed. */
  async install(connector: ResolvedConnector, method: AuthMethod): Promise<{ authenticated: boolean }> {
    const input = installInput(this.request, connector, method);
    this.setStage('installing');
    this.installName = input.body.Name;
    const installed = await CancellationScope.nonCancellable(() =>
      this.cyclr(
        () => quick.installConnector(input),
        () => durable.installConnector(input),
      ),
    );
    this.status.accountConnectorId = installed.accountConnectorId;
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled during install');
    return installed;
  }

  /** Authenticated already by the install's own answer (one check, no call), else asked of Cyclr. */
  async confirmInstalled(authenticatedByInstall: boolean): Promise<boolean> {
    if (!authenticatedByInstall) return this.isAuthenticated();
    this.status.attempts += 1;
    return true;
  }

  /** Asks Cyclr whether the account connector is authenticated (on the way in: quick, then durable). */
  async isAuthenticated(): Promise<boolean> {
    const ref = { accountId: this.status.accountId, accountConnectorId: this.status.accountConnectorId! };
    this.status.attempts += 1;
    this.lastCheckAt = Date.now();
    return this.cyclr(
      () => quick.checkAuthenticated(ref),
      () => durable.checkAuthenticated(ref),
    );
  }

  /** A check while waiting: a Cyclr that cannot answer now is asked again at the next check, not waited on. */
  async checkWhileWaiting(): Promise<boolean> {
    const ref = { accountId: this.status.accountId, accountConnectorId: this.status.accountConnectorId! };
    this.status.attempts += 1;
    this.lastCheckAt = Date.now();
    try {
      return await waiting.checkAuthenticated(ref);
    } catch (err) {
      log.warn('consent check failed; checking again later', { error: failureOf(err).message });
      return false;
    }
  }

  /** A consent link (revoking the previous one), valid until the consent deadline. */
  async newConsentLink(whileWaiting = true): Promise<{ url: string; linkId: string; expiresAt: string }> {
    const linkId = uuid4();
    const expiresAt = this.status.consentExpiresAt!;
    const input = { workflowId: this.workflowId, linkId, expiresAt };
    const url = await (whileWaiting ? waiting.createConsentLink(input) : quick.createConsentLink(input));
    this.linkId = linkId;
    this.status.consentLink = url;
    return { url, linkId, expiresAt };
  }

  /** Starts the consent wait: deadline, first reminder, a link, and the event that hands the link to the customer. */
  async askForConsent(): Promise<void> {
    const timeouts = this.timeouts;
    this.deadline = Date.now() + msToNumber(timeouts.consent);
    this.nextReminderAt = Date.now() + msToNumber(timeouts.reminderEvery);
    this.status.consentExpiresAt = new Date(this.deadline).toISOString();
    await this.newConsentLink(false);
    this.setStage('awaiting-consent');
    this.publishStage();
    this.emit('provisioning.consent_requested');
  }

  /** The options of the next run after continue-as-new. */
  continuation(state: ConsentWaitState): ProvisionOptions {
    return { resume: state, continueAsNewAfterEvents: this.options.continueAsNewAfterEvents };
  }

  continueAsNewIfLong(): void {
    const limit = this.options.continueAsNewAfterEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE;
    if (workflowInfo().historyLength <= limit && !workflowInfo().continueAsNewSuggested) return;
    throw new ContinueAsNewRequested({
      status: this.status,
      connector: this.connector!,
      accountConnectorId: this.status.accountConnectorId!,
      linkId: this.linkId!,
      consentDeadline: this.deadline,
      nextReminderAt: this.nextReminderAt,
      lastClickAt: this.lastClickAt,
      lastCheckAt: this.lastCheckAt,
    });
  }

  complete(note?: string): ProvisioningResult {
    if (note) this.setStage('verifying', note);
    const completedAt = new Date().toISOString();
    this.status.lastError = undefined;
    this.status.consentLink = undefined;
    this.linkId = undefined; // revokes any consent link already sent
    this.setStage('completed');
    this.publishStage();
    this.emit('provisioning.completed');
    return {
      accountConnectorId: this.status.accountConnectorId!,
      connectorId: this.connector!.id,
      authenticated: true,
      completedAt,
    };
  }

  /** Ends the provisioning in a final stage: records why, removes what it installed (unless kept), tells the receiver. */
  async end(stage: 'failed' | 'cancelled' | 'expired', error: { type: string; message: string }, event: EventType) {
    this.status.lastError = error;
    this.setStage(stage, stage === 'cancelled' ? this.cancelReason : undefined);
    this.publishStage();
    await this.removeInstalled();
    this.emit(event, stage === 'cancelled' ? { reason: error.message } : {});
    await this.settle();
  }

  /** Waits for event deliveries, batch notices and message handlers in flight. */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
    await condition(allHandlersFinished);
  }

  /**
   * Removes what this provisioning installed, unless the request said keep. An install whose answer never arrived
   * may still have committed at Cyclr, so it is looked up by Name. A removal that fails is reported, not hidden.
   */
  private async removeInstalled(): Promise<void> {
    if (!this.parsed || this.parsed.keepOnCancel) return;
    const accountId = this.status.accountId;
    try {
      const name = this.installName ?? (await this.nameAnInstallMayHave());
      if (name === undefined) return;
      const accountConnectorId =
        this.status.accountConnectorId ?? (await durable.findAccountConnector({ accountId, name }));
      if (accountConnectorId === undefined) return;
      this.status.accountConnectorId = accountConnectorId;
      await durable.removeAccountConnector({ accountId, accountConnectorId });
    } catch (err) {
      const { message } = failureOf(err);
      log.error('could not remove the account connector', { workflowId: this.workflowId, error: message });
      const last = this.status.lastError;
      this.status.lastError = {
        type: last?.type ?? 'CleanupFailed',
        message:
          `${last?.message ?? ''} (and removing account connector ${this.status.accountConnectorId ?? this.installName} failed: ${message})`.trim(),
      };
    }
  }

  /**
   * A cancel that arrives while the first workflow task runs its local activities replays that task without their
   * results: an install may have happened that this run never saw. Its Name finds it.
   */
  private async nameAnInstallMayHave(): Promise<string | undefined> {
    if (this.status.stage !== 'cancelled') return undefined;
    const request = this.request;
    if (request.installName) return request.installName;
    if (this.connector) return this.connector.name;
    if (request.connector.name) return request.connector.name;
    return durable.resolveConnector(request.connector).then(
      (c) => c.name,
      () => undefined,
    );
  }
}
