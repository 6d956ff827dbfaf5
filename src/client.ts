/**
 * The typed client library that onboarding services import: start a provisioning (idempotently), read its status,
 * hand out consent links, steer it, and await its result.
 */
import {
  Client,
  ScheduleNotFoundError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import {
  ApplicationFailure,
  TypedSearchAttributes,
  type Payload,
  type WorkflowIdReusePolicy,
} from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BatchStore } from './batch/store.js';
import { loadConfig, type ClientConfig } from './config.js';
import { connectClient } from './temporal/connection.js';
import { Failure } from './contract/failures.js';
import { connectionCheckScheduleId, type ConnectionCheckResult } from './contract/connection-check.js';
import { latestConnectionCheck } from './operations/connections.js';
import { provisioningWorkflowId } from './contract/ids.js';
import {
  LIFECYCLE_MEMO,
  START_TOKEN_MEMO,
  cancelSignal,
  consentCompletedSignal,
  issueAuthUrlUpdate,
  issueConsentLinkUpdate,
  statusQuery,
  waitForConsentLinkUpdate,
  type AuthUrl,
  type ClickLimit,
  type ConsentLink,
  type LifecycleAction,
  type ProvisioningResult,
  type ProvisioningStatus,
  type RemovalResult,
} from './contract/messages.js';
import {
  formatInvalidFields,
  parseProvisioningRequest,
  type InvalidField,
  type ProvisioningRequest,
} from './contract/request.js';
import { ConnectorName, CyclrAccountId, ProvisioningStage, BatchId } from './contract/search-attributes.js';
import { FINAL_STAGES, type Stage } from './contract/stages.js';
import type { provisionConnector } from './workflows/provision-connector.js';

// What a caller of the package (`cyclr-provisioner/client`) needs beside the client: the contract's names and types.
export { Failure, type FailureType } from './contract/failures.js';
export { provisioningWorkflowId } from './contract/ids.js';
export { STAGES, FINAL_STAGES, type Stage } from './contract/stages.js';
export type { AuthUrl, ConsentLink, ProvisioningResult, ProvisioningStatus, StageEntry } from './contract/messages.js';
export type { ConnectorRef, InvalidField, ProvisioningRequest } from './contract/request.js';
export type { ConnectionCheckResult, LapsedConnection } from './contract/connection-check.js';

/** A request that fails validation; `fields` names each bad field and what to do. */
export class InvalidRequestError extends Error {
  readonly type = Failure.InvalidRequest;
  constructor(readonly fields: InvalidField[]) {
    super(`invalid request: ${formatInvalidFields(fields)}`);
  }
}

/** Anything the client library refuses or Temporal reports, with a `type` a caller can branch on. */
export class ProvisioningError extends Error {
  constructor(
    readonly type: string,
    message: string,
    /** TooManyClicks: how long until the link may be used again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface StartedProvisioning {
  workflowId: string;
  runId?: string;
  /** False when a provisioning with this id was already running: the same one is returned, nothing new starts. */
  created: boolean;
  status?: ProvisioningStatus;
}

export interface StartOptions {
  /**
   * Wait up to this long (ms, at most 30 s) for the consent link: the answer comes once the provisioning awaits
   * consent (its status carries `consentLink`) or has ended, else with the status when the wait runs out.
   */
  waitMs?: number;
}

export const MAX_START_WAIT_MS = 30_000;

export interface ReconnectOptions extends StartOptions {
  /** De-authenticate at Cyclr first, so the customer consents afresh (a support person's clean re-consent). */
  force?: boolean;
}

export interface RemovedProvisioning {
  workflowId: string;
  /** False when it had been removed already (a retried removal): nothing was done this time. */
  removedByThisCall: boolean;
  status: ProvisioningStatus;
}

/** How a run other than the first is started: its action, and the policy that lets it reuse a closed run's id. */
interface RunKind {
  lifecycle?: LifecycleAction;
  reusePolicy: WorkflowIdReusePolicy;
}

/** A first run: a completed provisioning is returned, not redone; a failed, cancelled or expired one may start again. */
const FIRST_RUN: RunKind = { reusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' };

export interface ClientOptions {
  /** Where batch rows that ran without a workflow of their own are recorded; `status` reads it for them. */
  batchStore?: BatchStore;
}

export class ProvisioningClient {
  constructor(
    readonly temporal: Client,
    readonly taskQueue: string,
    private readonly options: ClientOptions = {},
  ) {}

  /** The clients `actingAs` made, by actor. */
  private readonly actors = new Map<string, ProvisioningClient>();

  /**
   * This client, reporting `actor` to Temporal as who sends: the history records it with each start, signal, update
   * and cancel (the event's `identity`), so "who cancelled this?" has an answer. The gateway names the token that
   * acted; undefined: this client as it is.
   */
  actingAs(actor: string | undefined): ProvisioningClient {
    if (!actor) return this;
    let acting = this.actors.get(actor);
    if (!acting) {
      // Made once per actor (a handful: the configured tokens, by route), not per request.
      const { namespace, dataConverter, interceptors } = this.temporal.options;
      const identity = `${actor} (${process.pid}@${hostname()})`;
      const temporal = new Client({
        connection: this.temporal.connection,
        namespace,
        dataConverter,
        interceptors,
        identity,
      });
      acting = new ProvisioningClient(temporal, this.taskQueue, this.options);
      this.actors.set(actor, acting);
    }
    return acting;
  }

  /** Connects with configuration from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ...). */
  static async connect(
    config: Pick<ClientConfig, 'temporal' | 'payloadKeys' | 'batchStoreDir'> = loadConfig('client'),
  ): Promise<ProvisioningClient> {
    return new ProvisioningClient(await connectClient(config), config.temporal.taskQueue, {
      batchStore: BatchStore.fromConfig(config),
    });
  }

  /** Validates, then starts; a start for an id that is running returns that run. */
  async start(input: unknown, options: StartOptions = {}): Promise<StartedProvisioning> {
    const parsed = parseProvisioningRequest(input);
    if (!parsed.ok) throw new InvalidRequestError(parsed.errors);
    const request: ProvisioningRequest = parsed.request;
    const workflowId = provisioningWorkflowId(request);
    const started = await this.startRun(request, workflowId, FIRST_RUN, options);
    // A removed provisioning may be provisioned again: its closed runs give way to a new first run.
    if (started.created || started.status?.stage !== 'removed') return started;
    return this.startRun(request, workflowId, { reusePolicy: 'ALLOW_DUPLICATE' }, options);
  }

  /**
   * Reconnects a completed provisioning: a new run under the same id checks the connector with Cyclr; still
   * authenticated, it completes at once and says so (its history); lapsed, it waits for consent like a first run.
   * A provisioning that is running is returned as it is (`created: false`).
   */
  async reconnect(workflowId: string, options: ReconnectOptions = {}): Promise<StartedProvisioning> {
    const row = await this.batchRowWithoutRuns(workflowId);
    if (row) {
      // A batch row that completed at install: its first run of its own, from the row's recorded outcome.
      if (row.status.stage !== 'completed') throw notReconnectable(workflowId, row.status.stage);
      const lifecycle: LifecycleAction = { action: 'reconnect', previous: row.status, force: options.force === true };
      return this.startRun(row.request, workflowId, { lifecycle, reusePolicy: 'ALLOW_DUPLICATE' }, options);
    }
    let previous = await this.status(workflowId);
    if (await this.isRunning(workflowId)) {
      if (!FINAL_STAGES.includes(previous.stage)) return { workflowId, created: false, status: previous };
      // It has reached its end and is only finishing (its last event): this reconnect follows it.
      await this.untilClosed(workflowId);
      previous = await this.status(workflowId);
    }
    if (previous.stage === 'removed') {
      throw new ProvisioningError(
        Failure.ProvisioningRemoved,
        `provisioning "${workflowId}" was removed; start it again (provisioner start) to install it anew`,
      );
    }
    if (previous.stage !== 'completed') throw notReconnectable(workflowId, previous.stage);
    // Not a batch row (checked above): its request is in its runs' history.
    const request = await this.startedWith(workflowId);
    const lifecycle: LifecycleAction = { action: 'reconnect', previous, force: options.force === true };
    return this.startRun(request, workflowId, { lifecycle, reusePolicy: 'ALLOW_DUPLICATE' }, options);
  }

  /**
   * Offboards a provisioning: its account connector is uninstalled at Cyclr (404: already gone) and confirmed gone,
   * and its stage becomes `removed`. A running provisioning is cancelled first (its own clean-up runs). Removing a
   * removed provisioning does nothing and says so, so a retried removal is one removal.
   */
  async remove(workflowId: string): Promise<RemovedProvisioning> {
    // A batch row that ran without a workflow: its removal is its first run of its own.
    const row = await this.batchRowWithoutRuns(workflowId);
    const removedRow = row && (await this.startRemoval(workflowId, row.request, row.status));
    if (removedRow) return removedRow;
    for (let round = 0; ; round++) {
      const running = await this.runningAction(workflowId);
      if (running === 'remove') {
        await this.untilClosed(workflowId);
        return { workflowId, removedByThisCall: false, status: await this.status(workflowId) };
      }
      if (running !== undefined) {
        // Its own compensation first: a cancelled provisioning removes what it installed (unless told to keep it).
        // One that has reached its end is only finishing (its last event): it is let finish, then removed.
        if (!FINAL_STAGES.includes((await this.status(workflowId)).stage)) {
          await this.handle(workflowId)
            .signal(cancelSignal, { reason: 'removed (offboarding)' })
            .catch((err: unknown) => {
              if (!(err instanceof WorkflowNotFoundError)) throw err; // it closed meanwhile
            });
        }
        await this.untilClosed(workflowId);
      }
      const previous = await this.status(workflowId);
      if (previous.stage === 'removed') return { workflowId, removedByThisCall: false, status: previous };
      const removed = await this.startRemoval(workflowId, await this.startedWith(workflowId), previous);
      if (removed) return removed;
      // Another run began meanwhile (another removal, or a start): look again.
      if (round >= 3) {
        throw new ProvisioningError(Failure.UpdateRejected, `provisioning "${workflowId}" keeps being restarted`);
      }
    }
  }

  /** Starts a removal run and waits for its end; undefined when another run began first. */
  private async startRemoval(
    workflowId: string,
    request: ProvisioningRequest,
    previous: ProvisioningStatus,
  ): Promise<RemovedProvisioning | undefined> {
    const lifecycle: LifecycleAction = { action: 'remove', previous };
    const started = await this.startRun(request, workflowId, { lifecycle, reusePolicy: 'ALLOW_DUPLICATE' });
    if (!started.created) return undefined;
    try {
      await this.handle(workflowId).result();
    } catch (err) {
      throw await this.resultError(workflowId, err);
    }
    return { workflowId, removedByThisCall: true, status: await this.status(workflowId) };
  }

  /**
   * What the latest finished connection check found: the completed provisionings Cyclr no longer reports
   * authenticated (or no longer lists). None before the first check has finished.
   */
  async lapsedConnections(): Promise<ConnectionCheckResult | undefined> {
    return latestConnectionCheck(this.temporal, this.taskQueue);
  }

  /** Runs the connection check now, besides its schedule (the schedule is made by the workers at start). */
  async checkConnectionsNow(): Promise<void> {
    try {
      await this.temporal.schedule.getHandle(connectionCheckScheduleId(this.taskQueue)).trigger();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      throw new ProvisioningError(
        Failure.ProvisioningNotFound,
        `no connection-check schedule for task queue "${this.taskQueue}": start a worker on it first (it creates the schedule)`,
      );
    }
  }

  /** Starts a run (first, reconnect or removal); one that is running, or a closed one the policy keeps, is returned. */
  private async startRun(
    request: ProvisioningRequest,
    workflowId: string,
    kind: RunKind,
    options: StartOptions = {},
  ): Promise<StartedProvisioning> {
    if (options.waitMs !== undefined) return this.startAndWait(request, workflowId, options.waitMs, kind);
    try {
      const handle = await this.temporal.workflow.start<typeof provisionConnector>(
        'provisionConnector',
        this.startOptions(request, workflowId, kind),
      );
      return { workflowId, runId: handle.firstExecutionRunId, created: true };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return { workflowId, created: false, status: await this.status(workflowId) };
      }
      throw err;
    }
  }

  /**
   * The request a provisioning was started with (every run of it carries it as its first argument), read from the
   * latest run's first history event and decoded as any payload is (the codec decrypts it); for a batch row without
   * a run of its own, the row as its batch stored it.
   */
  async request(workflowId: string): Promise<ProvisioningRequest> {
    const row = await this.batchRowWithoutRuns(workflowId);
    return row ? row.request : this.startedWith(workflowId);
  }

  private async startedWith(workflowId: string): Promise<ProvisioningRequest> {
    const history = await this.call(workflowId, () =>
      this.temporal.workflowService.getWorkflowExecutionHistory({
        namespace: this.temporal.options.namespace,
        execution: { workflowId },
        maximumPageSize: 1,
      }),
    );
    const started = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) {
      throw new ProvisioningError(Failure.ProvisioningNotFound, `no start event for provisioning "${workflowId}"`);
    }
    const { payloadConverter, payloadCodecs } = this.temporal.options.loadedDataConverter;
    let payloads = (started.input?.payloads ?? []) as Payload[];
    // Codecs encode in order, so they decode in reverse (as the SDK does).
    for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    if (!payloads[0]) throw new ProvisioningError(Failure.ProvisioningNotFound, `no request in "${workflowId}"`);
    return payloadConverter.fromPayload<ProvisioningRequest>(payloads[0]);
  }

  /**
   * A batch row that completed or failed at install has no workflow of its own until it is reconnected or removed:
   * its recorded outcome, and its request read back from the batch's sealed page (tagged with its batch, so its
   * runs list under the batch). Undefined when the id has runs in Temporal, or no such row.
   */
  private async batchRowWithoutRuns(
    workflowId: string,
  ): Promise<{ status: ProvisioningStatus; request: ProvisioningRequest } | undefined> {
    const store = this.options.batchStore;
    if (!store) return undefined;
    try {
      await this.handle(workflowId).describe();
      return undefined;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const record = await store.readRow(workflowId);
    if (!record) return undefined;
    const row = await store.recordedRow(record);
    if (!row || provisioningWorkflowId(row.request) !== workflowId) {
      throw new ProvisioningError(
        Failure.BatchStoreCorrupt,
        `batch "${record.batchId}" has no row at line ${record.line} for "${workflowId}" (its record says so)`,
      );
    }
    return { status: record.status, request: { ...row.request, batchId: record.batchId } };
  }

  /** The action of the run in progress: `provision` for a first run, `reconnect`, `remove`; none when closed. */
  private async runningAction(workflowId: string): Promise<string | undefined> {
    const description = await this.call(workflowId, () => this.handle(workflowId).describe());
    if (description.status.name !== 'RUNNING') return undefined;
    const action = description.memo?.[LIFECYCLE_MEMO];
    return typeof action === 'string' ? action : 'provision';
  }

  /** Waits for the run in progress to close, however it ends (its outcome is read from its status after). */
  private async untilClosed(workflowId: string): Promise<void> {
    await this.handle(workflowId)
      .result()
      .catch(() => undefined);
  }

  private async isRunning(workflowId: string): Promise<boolean> {
    return (await this.runningAction(workflowId)) !== undefined;
  }

  /** One round trip from "start" to "here is the consent link" (update-with-start, as in the early-return sample). */
  private async startAndWait(
    request: ProvisioningRequest,
    workflowId: string,
    waitMs: number,
    kind: RunKind,
  ): Promise<StartedProvisioning> {
    if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > MAX_START_WAIT_MS) {
      throw new InvalidRequestError([
        { path: 'wait', message: `must be a duration from 0s to ${MAX_START_WAIT_MS / 1000}s` },
      ]);
    }
    // Unique to this call, in the start and in the update: the run that has it was started by this call.
    const startToken = randomUUID();
    const answer = this.temporal.workflow.executeUpdateWithStart(waitForConsentLinkUpdate, {
      args: [{ startToken }],
      startWorkflowOperation: new WithStartWorkflowOperation<typeof provisionConnector>('provisionConnector', {
        ...this.startOptions(request, workflowId, kind),
        memo: { ...this.startOptions(request, workflowId, kind).memo, [START_TOKEN_MEMO]: startToken },
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    let timer: NodeJS.Timeout | undefined;
    const ranOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    try {
      const done = await Promise.race([answer, ranOut]);
      if (done) return { workflowId, created: done.startedByThisCall, status: withoutEndedLink(done.status) };
      answer.catch(() => undefined); // it answers later, to nobody
      // The run carries this call's token only if this call started it.
      const [status, description] = await Promise.all([
        this.status(workflowId),
        this.call(workflowId, () => this.handle(workflowId).describe()),
      ]);
      return { workflowId, created: description.memo?.[START_TOKEN_MEMO] === startToken, status };
    } catch (err) {
      // A completed provisioning is not started again (ALLOW_DUPLICATE_FAILED_ONLY): it is the answer.
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return { workflowId, created: false, status: await this.status(workflowId) };
      }
      throw translate(workflowId, err);
    } finally {
      clearTimeout(timer);
    }
  }

  private startOptions(
    request: ProvisioningRequest,
    workflowId: string,
    { lifecycle, reusePolicy }: RunKind = FIRST_RUN,
  ): WorkflowStartOptions<typeof provisionConnector> {
    const verb =
      lifecycle?.action === 'reconnect' ? 'Reconnect' : lifecycle?.action === 'remove' ? 'Remove' : 'Provision';
    return {
      taskQueue: this.taskQueue,
      workflowId,
      args: lifecycle ? [request, { lifecycle }] : [request],
      workflowIdReusePolicy: reusePolicy,
      ...(lifecycle ? { memo: { [LIFECYCLE_MEMO]: lifecycle.action } } : {}),
      typedSearchAttributes: new TypedSearchAttributes([
        { key: ProvisioningStage, value: lifecycle?.previous.stage ?? 'resolving-connector' },
        { key: CyclrAccountId, value: request.accountId },
        { key: ConnectorName, value: request.connector.name ?? `connector-${request.connector.id}` },
        ...(request.batchId ? [{ key: BatchId, value: request.batchId }] : []),
      ]),
      staticSummary: `${verb} ${request.installName ?? request.connector.name ?? `connector ${request.connector.id}`} for ${request.accountId}`,
    };
  }

  handle(workflowId: string): WorkflowHandle<typeof provisionConnector> {
    return this.temporal.workflow.getHandle<typeof provisionConnector>(workflowId);
  }

  /**
   * Where a provisioning stands; for a batch row that ran without a workflow, its outcome from the batch store.
   * With `timeoutMs` the query itself ends then (a page is waiting; without a worker Temporal would not answer).
   */
  async status(workflowId: string, options: { timeoutMs?: number } = {}): Promise<ProvisioningStatus> {
    const query = () => this.handle(workflowId).query(statusQuery);
    const { timeoutMs } = options;
    try {
      return withoutEndedLink(
        await this.call(workflowId, () =>
          timeoutMs === undefined ? query() : this.temporal.connection.withDeadline(Date.now() + timeoutMs, query),
        ),
      );
    } catch (err) {
      if (!(err instanceof ProvisioningError && err.type === Failure.ProvisioningNotFound)) throw err;
      const row = await this.options.batchStore?.readRow(workflowId);
      if (!row) throw err;
      return row.status;
    }
  }

  /**
   * A fresh Cyclr connectorauth URL (mints a single-use sign-in token); only while awaiting consent. With `limit`,
   * the provisioning refuses clicks past it (TooManyClicks; `retryAfterMs` says when to try again).
   */
  async issueAuthUrl(workflowId: string, linkId?: string, limit?: ClickLimit): Promise<AuthUrl> {
    return this.call(workflowId, () =>
      this.handle(workflowId).executeUpdate(issueAuthUrlUpdate, { args: [{ linkId, ...(limit ? { limit } : {}) }] }),
    );
  }

  /** A new long-lived consent link; links issued before it stop working. */
  async issueConsentLink(workflowId: string): Promise<ConsentLink> {
    return this.call(workflowId, () => this.handle(workflowId).executeUpdate(issueConsentLinkUpdate));
  }

  /** Tells the provisioning consent was given; it checks with Cyclr and keeps waiting if Cyclr disagrees. */
  async completeConsent(workflowId: string, source = 'client'): Promise<void> {
    await this.requireRunning(workflowId);
    await this.call(workflowId, () => this.handle(workflowId).signal(consentCompletedSignal, { source }));
  }

  async cancel(workflowId: string, reason?: string): Promise<void> {
    await this.requireRunning(workflowId);
    await this.call(workflowId, () => this.handle(workflowId).signal(cancelSignal, { reason }));
  }

  /**
   * Waits for the end of the latest run; a failure becomes a ProvisioningError whose `type` names the cause
   * (ConsentExpired, ...; ProvisioningRemoved once it was removed).
   */
  async result(workflowId: string): Promise<ProvisioningResult> {
    let result: ProvisioningResult | RemovalResult;
    try {
      result = await this.handle(workflowId).result();
    } catch (err) {
      throw await this.resultError(workflowId, err);
    }
    if ('removed' in result) {
      throw new ProvisioningError(
        Failure.ProvisioningRemoved,
        `provisioning "${workflowId}" was removed at ${result.removedAt}; start it again to install it anew`,
      );
    }
    return result;
  }

  private async resultError(workflowId: string, err: unknown): Promise<unknown> {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      return new ProvisioningError(err.cause.type ?? Failure.Failed, err.cause.message);
    }
    return translate(workflowId, err);
  }

  private async requireRunning(workflowId: string): Promise<void> {
    const description = await this.call(workflowId, () => this.handle(workflowId).describe());
    if (description.status.name !== 'RUNNING') {
      throw new ProvisioningError(
        Failure.ProvisioningFinished,
        `provisioning "${workflowId}" has already finished (${endedAs(description)}); start a new one instead`,
      );
    }
  }

  private async call<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Temporal says "not found" both for unknown ids and for updates to finished runs; tell them apart.
      if (err instanceof WorkflowNotFoundError) {
        const description = await this.handle(workflowId)
          .describe()
          .catch(() => undefined);
        if (description && description.status.name !== 'RUNNING') {
          throw new ProvisioningError(
            Failure.ProvisioningFinished,
            `provisioning "${workflowId}" has already finished (${endedAs(description)})`,
          );
        }
      }
      throw translate(workflowId, err);
    }
  }
}

/**
 * How a closed provisioning ended, in the words of its stages: its last stage (`cancelled`, `expired`, ...), which
 * Temporal's own status does not tell apart (a cancel, an expiry and a failure all close the run as Failed).
 */
function endedAs(description: WorkflowExecutionDescription): string {
  return description.typedSearchAttributes.get(ProvisioningStage) ?? description.status.name.toLowerCase();
}

/** A link is shown only while it can work: once a provisioning has ended, its last consent link is revoked. */
function withoutEndedLink(status: ProvisioningStatus): ProvisioningStatus {
  if (!FINAL_STAGES.includes(status.stage)) return status;
  const { consentLink: _revoked, ...rest } = status;
  return rest;
}

/** One translation of Temporal's errors into words a support person can act on. */
function translate(workflowId: string, err: unknown): unknown {
  if (err instanceof WorkflowNotFoundError) {
    return new ProvisioningError(
      Failure.ProvisioningNotFound,
      `no provisioning "${workflowId}"; ids look like provision:{accountId}:{installName}; list them with "provisioner list"`,
    );
  }
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const [detail] = err.cause.details ?? [];
    const retryAfterMs = (detail as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    return new ProvisioningError(
      err.cause.type ?? Failure.UpdateRejected,
      err.cause.message,
      typeof retryAfterMs === 'number' ? retryAfterMs : undefined,
    );
  }
  if (err instanceof Error && /workflow execution already completed/i.test(err.message)) {
    return new ProvisioningError(Failure.ProvisioningFinished, `provisioning "${workflowId}" has already finished`);
  }
  return err;
}

function notReconnectable(workflowId: string, stage: Stage): ProvisioningError {
  return new ProvisioningError(
    Failure.NotReconnectable,
    `provisioning "${workflowId}" is ${stage}, not completed; start it again instead of reconnecting`,
  );
}
