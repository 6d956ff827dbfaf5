/**
 * One provisioning's state and the steps it is made of. It owns its fields: others read them through getters and
 * change them only through the methods below, each named for a step of the process in provision-connector.ts or for
 * a message in provisioning-handlers.ts. Deterministic code: calls out only through provisioning-activities.ts.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  log,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { EventType } from '../contract/webhook-events.js';
import { chooseAuthMethod, installInput, type AuthMethod, type ResolvedConnector } from '../contract/connector.js';
import {
  START_TOKEN_MEMO,
  initialStatus,
  type AuthUrl,
  type ClickLimit,
  type ConsentLink,
  type LifecycleAction,
  type ProvisioningResult,
  type ProvisioningStatus,
  type RemovalResult,
} from '../contract/messages.js';
import { durable, interactive, quick, quickThenDurable, waiting } from './provisioning-activities.js';
import { formatInvalidFields, parseProvisioningRequest, type ProvisioningRequest } from '../contract/request.js';
import { FINAL_STAGES, type Stage } from '../contract/stages.js';
import { Failure, failure, failureOf } from '../contract/failures.js';
import { pushStage, upsertStageAttributes } from './status.js';
import { ConsentWait } from './consent-wait.js';
import type { Lane } from '../contract/request-rate.js';
import { ProvisioningNotices } from './provisioning-notices.js';
import {
  HISTORY_EVENTS_BEFORE_CONTINUE,
  type ConsentWaitState,
  type ProvisionOptions,
  type ProvisioningVersion,
} from './provisioning-run.js';

/** Clicks remembered per link: more than any click limit needs. */
const MAX_CLICKS_KEPT = 1000;

export class Provisioning {
  readonly workflowId = workflowInfo().workflowId;
  /** The request as checked when the provisioning began, or why it was refused. */
  private readonly checked: { request: ProvisioningRequest } | { refusal: ApplicationFailure };
  private readonly s: ProvisioningStatus;
  /** Cancelled by the `cancel` signal; clean-up runs outside it. */
  private readonly main = new CancellationScope();
  private connector?: ResolvedConnector;
  /** Set once an install has been attempted: the Name that finds it at Cyclr. */
  private installName?: string;
  /** The current consent link's id; a click on any other link is refused as revoked. */
  private linkId?: string;
  /** When the current link's clicks minted a sign-in URL (workflow time), newest last; a new link starts afresh. */
  private mints: number[] = [];
  private cancelledFor?: string;
  /** The wait's clock: deadline, reminders, clicks, checks, the consent hint. */
  readonly wait: ConsentWait;
  private readonly notices: ProvisioningNotices;

  /** Begins a provisioning (or resumes one after continue-as-new), checking its request at once. */
  static begin(version: ProvisioningVersion, request: ProvisioningRequest, options: ProvisionOptions): Provisioning {
    return new Provisioning(version, request, options);
  }

  private constructor(
    /** Read once at the start of the run (versions.ts). */
    readonly version: ProvisioningVersion,
    private readonly rawRequest: ProvisioningRequest,
    private readonly options: ProvisionOptions,
  ) {
    const resume = options.resume;
    const before = this.lifecycle?.previous;
    this.s = resume?.status ?? (before ? carriedOn(before) : initialStatus(rawRequest));
    if (resume) {
      this.connector = resume.connector;
      this.linkId = resume.linkId;
      this.installName = rawRequest.installName ?? resume.connector.name;
    } else if (before) {
      // A run after the first: it goes on from where the previous one ended (its history, its account connector).
      this.installName = rawRequest.installName ?? before.connector.name;
      // A reconnect is under way from its first moment (not still "completed", which would answer a waiting caller).
      if (this.lifecycle?.action === 'reconnect') this.beginReconnect(this.lifecycle.force === true);
    } else {
      this.enter('resolving-connector');
    }
    // Checked as every entry point checks it; a bad one fails the provisioning with the same words (`refusal`).
    // The consent cap holds from v3, for a run's first request only: a continued run keeps the deadline it had.
    const parsed = parseProvisioningRequest(rawRequest, { consentCap: version >= 3 && !resume });
    const valid = parsed.ok ? parsed.request : undefined;
    if (parsed.ok) {
      this.checked = { request: parsed.request };
      this.s.returnUrl = parsed.request.oauth?.returnUrl;
    } else {
      this.checked = { refusal: failure(Failure.InvalidRequest, formatInvalidFields(parsed.errors)) };
    }
    this.wait = new ConsentWait(valid?.timeouts, resume, { backoff: version >= 3 });
    this.notices = new ProvisioningNotices(this.workflowId, valid?.notifyUrl);
  }

  /** Where it stands; from v3 on with the request's timeouts and, while it waits, the schedule of checks. */
  get status(): Readonly<ProvisioningStatus> {
    if (this.version < 3 || this.refusal) return this.s;
    const checks = this.s.stage === 'awaiting-consent' ? this.wait.checks(Date.now()) : undefined;
    return { ...this.s, timeouts: this.wait.timeouts, ...(checks ? { consentChecks: checks } : {}) };
  }

  get stage(): Stage {
    return this.s.stage;
  }

  get finished(): boolean {
    return FINAL_STAGES.includes(this.s.stage);
  }

  /** A reconnect or a removal (v3): a run after the first, started from the previous run's status. */
  get lifecycle(): LifecycleAction | undefined {
    return this.version >= 3 ? this.options.lifecycle : undefined;
  }

  /** Continued as new while awaiting consent: it goes straight back to waiting. */
  get resumed(): boolean {
    return this.options.resume !== undefined;
  }

  /** Why the request was refused; a refused provisioning ends at once, failed with it. */
  get refusal(): ApplicationFailure | undefined {
    return 'refusal' in this.checked ? this.checked.refusal : undefined;
  }

  get cancelReason(): string | undefined {
    return this.cancelledFor;
  }

  get createsAccount(): boolean {
    return this.request.account?.create === true;
  }

  /** Whether this run's start carried `startToken` (update-with-start: the call that sent it created the run). */
  startedWith(startToken: string | undefined): boolean {
    return startToken !== undefined && workflowInfo().memo?.[START_TOKEN_MEMO] === startToken && !this.resumed;
  }

  /** The request, valid: only a refused provisioning has none, and it runs no step (it fails with its refusal). */
  private get request(): ProvisioningRequest {
    if ('refusal' in this.checked) throw this.checked.refusal;
    return this.checked.request;
  }

  /** Runs the process in the scope the `cancel` signal cancels. */
  run<T>(process: () => Promise<T>): Promise<T> {
    return this.main.run(process);
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
    this.s.connector = { id: connector.id, name: connector.name };
    return { connector, method: chooseAuthMethod(connector, this.request) };
  }

  async ensureAccount(): Promise<void> {
    this.enter('ensuring-account');
    const { accountId, account } = this.request;
    const input = { id: accountId, name: account?.name ?? accountId, timezone: account?.timezone };
    await this.cyclr(
      () => quick.ensureAccount(input),
      () => durable.ensureAccount(input),
    );
  }

  /** Installs (idempotently by Name); a cancel lets it finish, so what was installed can be removed. */
  async install(connector: ResolvedConnector, method: AuthMethod): Promise<{ authenticated: boolean }> {
    const input = installInput(this.request, connector, method);
    this.enter('installing');
    this.installName = input.body.Name;
    const installed = await CancellationScope.nonCancellable(() =>
      this.cyclr(
        () => quick.installConnector(input),
        () => durable.installConnector(input),
      ),
    );
    this.s.accountConnectorId = installed.accountConnectorId;
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled during install');
    return installed;
  }

  startVerifying(note?: string): void {
    this.enter('verifying', note);
  }

  /** Authenticated already by the install's own answer (one check, no call), else asked of Cyclr (quick, then durable). */
  async confirmInstalled(authenticatedByInstall: boolean): Promise<boolean> {
    this.s.attempts += 1;
    if (authenticatedByInstall) return true;
    const ref = { accountId: this.s.accountId, accountConnectorId: this.s.accountConnectorId! };
    this.wait.checked(Date.now());
    return this.cyclr(
      () => quick.checkAuthenticated(ref),
      () => durable.checkAuthenticated(ref),
    );
  }

  /** Starts the consent wait: deadline, first reminder, a link, and the event that hands the link to the customer. */
  async askForConsent(
    event: 'provisioning.consent_requested' | 'provisioning.reconnect_requested' = 'provisioning.consent_requested',
    reason?: string,
  ): Promise<void> {
    this.s.consentExpiresAt = this.wait.begin(Date.now()).expiresAt;
    await this.newConsentLink(false);
    this.enter('awaiting-consent', reason);
    this.notices.tellBatch(this.s);
    this.publishStage();
    this.notices.event(event, this.s, reason ? { reason } : {});
  }

  /** A reconnect begins: counted, and said in the history. */
  private beginReconnect(force: boolean): void {
    this.s.reconnects = (this.s.reconnects ?? 0) + 1;
    const how = force
      ? 'de-authenticating first, for a clean consent'
      : 'asking Cyclr whether it is still authenticated';
    this.enter('verifying', `reconnect ${this.s.reconnects}: ${how}`);
  }

  /**
   * Where the connection stands at Cyclr now: still authenticated, lapsed (or de-authenticated here, with `force`),
   * or gone (no account connector by that id or Name: it is installed again, idempotently, like a first run).
   */
  async connectionNow(force: boolean): Promise<'authenticated' | 'lapsed' | 'gone'> {
    const accountId = this.s.accountId;
    const accountConnectorId = await this.installedId();
    if (accountConnectorId === undefined) return 'gone';
    const ref = { accountId, accountConnectorId };
    try {
      this.s.attempts += 1;
      if (force) {
        await durable.deauthenticateAccountConnector(ref);
        return 'lapsed';
      }
      return (await durable.checkAuthenticated(ref)) ? 'authenticated' : 'lapsed';
    } catch (err) {
      if (failureOf(err).type !== Failure.CyclrNotFound) throw err;
      this.s.accountConnectorId = undefined;
      return 'gone';
    }
  }

  /**
   * Offboarding: uninstalls the account connector at Cyclr (by its id, else its Name), confirmed gone; 404 means it
   * was gone already. Records the stage `removed` and tells the receiver.
   */
  async removeConnection(): Promise<RemovalResult> {
    const accountConnectorId = await this.installedId();
    const { alreadyGone } =
      accountConnectorId === undefined
        ? { alreadyGone: true }
        : await durable.uninstallAccountConnector({ accountId: this.s.accountId, accountConnectorId });
    const removedAt = new Date().toISOString();
    this.s.consentLink = undefined;
    this.s.lastError = undefined;
    this.enter(
      'removed',
      accountConnectorId === undefined
        ? 'nothing installed at Cyclr to remove'
        : alreadyGone
          ? `account connector ${accountConnectorId} was already gone at Cyclr`
          : `account connector ${accountConnectorId} uninstalled at Cyclr`,
    );
    this.publishStage();
    this.notices.event('provisioning.removed', this.s);
    return { removed: true, accountConnectorId, alreadyGone, removedAt };
  }

  /** A hint that Cyclr did not confirm: say why, and go back to waiting. */
  consentNotConfirmed(source: string): void {
    this.s.lastError = {
      type: Failure.ConsentNotConfirmed,
      message: `consent reported by ${source}, but Cyclr does not report the connector authenticated yet`,
    };
    this.enter('awaiting-consent', 'Cyclr did not confirm consent');
    this.notices.tellBatch(this.s);
  }

  /** A reminder to the receiver (one is counted only when there is a receiver to send it to); the next is scheduled. */
  remind(): void {
    const sent = this.notices.hasReceiver;
    this.wait.reminded(Date.now(), sent);
    if (!sent) return;
    this.s.remindersSent = (this.s.remindersSent ?? 0) + 1;
    this.notices.event('provisioning.reminder', this.s);
  }

  /**
   * A check while waiting: a Cyclr that cannot answer now is asked again at the next check, not waited on. `lane`:
   * who waits on the answer; an idle check gives way on a busy request budget and is asked again soon (deferred).
   */
  async checkWhileWaiting(lane: Lane = 'person'): Promise<boolean> {
    const ref = { accountId: this.s.accountId, accountConnectorId: this.s.accountConnectorId! };
    this.wait.checked(Date.now());
    try {
      const authenticated = await waiting.checkAuthenticated({ ...ref, lane });
      this.s.attempts += 1;
      return authenticated;
    } catch (err) {
      const failed = failureOf(err);
      if (failed.type === Failure.CyclrBudgetBusy) {
        this.wait.deferred(Date.now(), Math.random());
        return false;
      }
      this.s.attempts += 1;
      log.warn('consent check failed; checking again later', { error: failed.message });
      return false;
    }
  }

  /** Long enough to go on in a fresh run (before Temporal's history limit, or when Temporal suggests it). */
  get historyIsLong(): boolean {
    const limit = this.options.continueAsNewAfterEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE;
    return workflowInfo().historyLength > limit || workflowInfo().continueAsNewSuggested;
  }

  /** The next run's input after continue-as-new: the request and the wait's state as it is now. */
  nextRun(): { request: ProvisioningRequest; options: ProvisionOptions } {
    const resume: ConsentWaitState = {
      status: this.s,
      connector: this.connector!,
      accountConnectorId: this.s.accountConnectorId!,
      linkId: this.linkId!,
      ...this.wait.carried(),
    };
    return {
      request: this.request,
      options: { resume, continueAsNewAfterEvents: this.options.continueAsNewAfterEvents },
    };
  }

  complete(note?: string): ProvisioningResult {
    if (note) this.enter('verifying', note);
    const completedAt = new Date().toISOString();
    this.s.lastError = undefined;
    this.s.consentLink = undefined;
    this.linkId = undefined; // revokes any consent link already sent
    this.enter('completed');
    this.notices.tellBatch(this.s);
    this.publishStage();
    this.notices.event('provisioning.completed', this.s);
    return {
      accountConnectorId: this.s.accountConnectorId!,
      connectorId: this.connector!.id,
      authenticated: true,
      completedAt,
    };
  }

  /** Ends the provisioning in a final stage: records why, removes what it installed (unless kept), tells the receiver. */
  async end(stage: 'failed' | 'cancelled' | 'expired', error: { type: string; message: string }, event: EventType) {
    this.s.lastError = error;
    this.enter(stage, stage === 'cancelled' ? this.cancelledFor : undefined);
    this.notices.tellBatch(this.s);
    this.publishStage();
    await this.removeInstalled();
    this.notices.event(event, this.s, stage === 'cancelled' ? { reason: error.message } : {});
    await this.settle();
  }

  /** Waits for event deliveries, batch notices and message handlers in flight. */
  async settle(): Promise<void> {
    await this.notices.settled();
    await condition(allHandlersFinished);
  }

  isCurrentLink(linkId: string): boolean {
    return linkId === this.linkId;
  }

  /** How long until the current link may mint again under `limit` (0: now). */
  clickWaitMs(limit: ClickLimit | undefined, now: number): number {
    if (!limit) return 0;
    const recent = this.mints.filter((t) => t > now - limit.windowMs);
    return recent.length < limit.max ? 0 : recent[recent.length - limit.max]! + limit.windowMs - now;
  }

  /** A click on the consent link: a fresh Cyclr URL, and brisk checks for a while (the customer may approve now). */
  async issueAuthUrl(): Promise<AuthUrl> {
    this.wait.clicked(Date.now());
    this.mints = [...this.mints.slice(-(MAX_CLICKS_KEPT - 1)), Date.now()];
    const { oauth } = this.request;
    return interactive.mintAuthUrl({
      workflowId: this.workflowId,
      accountId: this.s.accountId,
      accountConnectorId: this.s.accountConnectorId!,
      username: oauth!.username,
      callbackMessage: oauth?.callbackMessage,
      targetOrigin: oauth?.targetOrigin,
      returnUrl: oauth?.returnUrl,
      linkId: this.linkId,
    });
  }

  /** A new consent link to re-send; earlier links stop working. */
  async reissueConsentLink(): Promise<ConsentLink> {
    const link = await this.newConsentLink();
    this.notices.event('provisioning.consent_requested', this.s, {
      reason: 'a new consent link was issued; earlier links no longer work',
    });
    return link;
  }

  /** A hint that consent was given (signal, callback): the wait checks with Cyclr at once. */
  consentReported(source: string): void {
    this.wait.hinted(source);
  }

  /** Stops the process (clean-up follows in provision-connector.ts); a repeat, or a cancel after the end, is no-op. */
  cancel(reason: string): void {
    if (this.cancelledFor !== undefined || this.finished) return;
    this.cancelledFor = reason;
    this.main.cancel();
  }

  /** The stage in the status query, the log, the metrics and the Web UI summary (no history event of its own). */
  private enter(stage: Stage, note?: string): void {
    pushStage(this.s, stage, note);
  }

  /** The search attributes catch up with the stage: before a wait, and at the end (one history event, not one per stage). */
  private publishStage(): void {
    upsertStageAttributes(this.s);
  }

  /** Quick first; when Cyclr keeps failing, the stage becomes visible to `list` before the long retries. */
  private cyclr<T>(fast: () => Promise<T>, slow: () => Promise<T>): Promise<T> {
    return quickThenDurable(fast, slow, () => this.publishStage());
  }

  /** A consent link (revoking the previous one), valid until the consent deadline. */
  private async newConsentLink(whileWaiting = true): Promise<ConsentLink> {
    const linkId = uuid4();
    const expiresAt = this.s.consentExpiresAt!;
    const input = { workflowId: this.workflowId, linkId, expiresAt };
    const url = await (whileWaiting ? waiting.createConsentLink(input) : quick.createConsentLink(input));
    this.linkId = linkId;
    this.mints = [];
    this.s.consentLink = url;
    return { url, linkId, expiresAt };
  }

  /** The account connector this provisioning installed: its id as recorded, else found at Cyclr by its Name. */
  private async installedId(): Promise<number | undefined> {
    if (this.s.accountConnectorId !== undefined) return this.s.accountConnectorId;
    if (this.installName === undefined) return undefined;
    const found = await durable.findAccountConnector({ accountId: this.s.accountId, name: this.installName });
    this.s.accountConnectorId = found;
    return found;
  }

  /**
   * Removes what this provisioning installed, unless the request said keep. An install whose answer never arrived
   * may still have committed at Cyclr, so it is looked up by Name. A removal that fails is reported, not hidden.
   */
  private async removeInstalled(): Promise<void> {
    if (!('request' in this.checked) || this.checked.request.keepOnCancel) return;
    // A reconnect that ends without consent leaves the connection as it found it: removing it is offboarding's job.
    if (this.s.reconnects !== undefined) return;
    const accountId = this.s.accountId;
    try {
      const name = this.installName ?? (await this.nameAnInstallMayHave());
      if (name === undefined) return;
      const accountConnectorId = this.s.accountConnectorId ?? (await durable.findAccountConnector({ accountId, name }));
      if (accountConnectorId === undefined) return;
      this.s.accountConnectorId = accountConnectorId;
      await durable.removeAccountConnector({ accountId, accountConnectorId });
    } catch (err) {
      const { message } = failureOf(err);
      log.error('could not remove the account connector', { workflowId: this.workflowId, error: message });
      const last = this.s.lastError;
      this.s.lastError = {
        type: last?.type ?? Failure.CleanupFailed,
        message:
          `${last?.message ?? ''} (and removing account connector ${this.s.accountConnectorId ?? this.installName} failed: ${message})`.trim(),
      };
    }
  }

  /**
   * A cancel that arrives while the first workflow task runs its local activities replays that task without their
   * results: an install may have happened that this run never saw. Its Name finds it.
   */
  private async nameAnInstallMayHave(): Promise<string | undefined> {
    if (this.s.stage !== 'cancelled') return undefined;
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

/** The previous run's status, as a lifecycle run starts from it (no link, no error of its own yet). */
function carriedOn(previous: ProvisioningStatus): ProvisioningStatus {
  const { consentLink: _link, lastError: _error, ...rest } = previous;
  return { ...rest, history: [...previous.history] };
}
