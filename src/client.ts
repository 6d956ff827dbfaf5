/**
 * The typed client library that onboarding services import: start a provisioning (idempotently), read its status,
 * hand out consent links, steer it, and await its result.
 */
import {
  Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { BatchStore } from './batch/store.js';
import { loadConfig, type ClientConfig } from './config.js';
import { connectClient } from './temporal/connection.js';
import { Failure } from './contract/failures.js';
import { provisioningWorkflowId } from './contract/ids.js';
import {
  START_TOKEN_MEMO,
  cancelSignal,
  consentCompletedSignal,
  issueAuthUrlUpdate,
  issueConsentLinkUpdate,
  statusQuery,
  waitForConsentLinkUpdate,
  type AuthUrl,
  type ConsentLink,
  type ProvisioningResult,
  type ProvisioningStatus,
} from './contract/messages.js';
import {
  formatInvalidFields,
  parseProvisioningRequest,
  type InvalidField,
  type ProvisioningRequest,
} from './contract/request.js';
import { ConnectorName, CyclrAccountId, ProvisioningStage, BatchId } from './contract/search-attributes.js';
import type { provisionConnector } from './workflows/provision-connector.js';

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
    if (options.waitMs !== undefined) return this.startAndWait(request, workflowId, options.waitMs);
    try {
      const handle = await this.temporal.workflow.start<typeof provisionConnector>(
        'provisionConnector',
        this.startOptions(request, workflowId),
      );
      return { workflowId, runId: handle.firstExecutionRunId, created: true };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return { workflowId, created: false, status: await this.status(workflowId) };
      }
      throw err;
    }
  }

  /** One round trip from "start" to "here is the consent link" (update-with-start, as in the early-return sample). */
  private async startAndWait(
    request: ProvisioningRequest,
    workflowId: string,
    waitMs: number,
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
        ...this.startOptions(request, workflowId),
        memo: { [START_TOKEN_MEMO]: startToken },
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    let timer: NodeJS.Timeout | undefined;
    const ranOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    try {
      const done = await Promise.race([answer, ranOut]);
      if (done) return { workflowId, created: done.startedByThisCall, status: done.status };
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
  ): WorkflowStartOptions<typeof provisionConnector> {
    return {
      taskQueue: this.taskQueue,
      workflowId,
      args: [request],
      // A completed provisioning is returned, not redone; a failed, cancelled or expired one may start again.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: ProvisioningStage, value: 'resolving-connector' },
        { key: CyclrAccountId, value: request.accountId },
        { key: ConnectorName, value: request.connector.name ?? `connector-${request.connector.id}` },
        ...(request.batchId ? [{ key: BatchId, value: request.batchId }] : []),
      ]),
      staticSummary: `Provision ${request.installName ?? request.connector.name ?? `connector ${request.connector.id}`} for ${request.accountId}`,
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
      return await this.call(workflowId, () =>
        timeoutMs === undefined ? query() : this.temporal.connection.withDeadline(Date.now() + timeoutMs, query),
      );
    } catch (err) {
      if (!(err instanceof ProvisioningError && err.type === Failure.ProvisioningNotFound)) throw err;
      const row = await this.options.batchStore?.readRow(workflowId);
      if (!row) throw err;
      return row.status;
    }
  }

  /** A fresh Cyclr connectorauth URL (mints a single-use sign-in token); only while awaiting consent. */
  async issueAuthUrl(workflowId: string, linkId?: string): Promise<AuthUrl> {
    return this.call(workflowId, () =>
      this.handle(workflowId).executeUpdate(issueAuthUrlUpdate, { args: [{ linkId }] }),
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

  /** Waits for the end; a failure becomes a ProvisioningError whose `type` names the cause (ConsentExpired, ...). */
  async result(workflowId: string): Promise<ProvisioningResult> {
    try {
      return await this.handle(workflowId).result();
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
        throw new ProvisioningError(err.cause.type ?? Failure.Failed, err.cause.message);
      }
      throw translate(workflowId, err);
    }
  }

  private async requireRunning(workflowId: string): Promise<void> {
    const description = await this.call(workflowId, () => this.handle(workflowId).describe());
    if (description.status.name !== 'RUNNING') {
      throw new ProvisioningError(
        Failure.ProvisioningFinished,
        `provisioning "${workflowId}" has already finished (${description.status.name.toLowerCase()}); start a new one instead`,
      );
    }
  }

  private async call<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Temporal says "not found" both for unknown ids and for updates to finished runs; tell them apart.
      if (err instanceof WorkflowNotFoundError) {
        const finished = await this.handle(workflowId)
          .describe()
          .then((d) => d.status.name.toLowerCase())
          .catch(() => undefined);
        if (finished && finished !== 'running') {
          throw new ProvisioningError(
            Failure.ProvisioningFinished,
            `provisioning "${workflowId}" has already finished (${finished})`,
          );
        }
      }
      throw translate(workflowId, err);
    }
  }
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
    return new ProvisioningError(err.cause.type ?? Failure.UpdateRejected, err.cause.message);
  }
  if (err instanceof Error && /workflow execution already completed/i.test(err.message)) {
    return new ProvisioningError(Failure.ProvisioningFinished, `provisioning "${workflowId}" has already finished`);
  }
  return err;
}
