/**
 * The messages of `provisionConnector`, defined once and shared by the workflow, the client library, the gateway
 * and the CLI.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Stage } from './stages.js';

export interface StageEntry {
  stage: Stage;
  at: string;
  /** Why the workflow entered this stage again, e.g. a consent hint Cyclr did not confirm. */
  note?: string;
}

export interface ProvisioningStatus {
  stage: Stage;
  accountId: string;
  connector: { id?: number; name?: string };
  accountConnectorId?: number;
  /** Our long-lived, signed consent link (never a Cyclr sign-in token). */
  consentLink?: string;
  consentExpiresAt?: string;
  /** Where the customer's browser lands when consent is done (from the request's `oauth.returnUrl`). */
  returnUrl?: string;
  /** Checks of `Authenticated` with Cyclr while awaiting consent. */
  attempts: number;
  history: StageEntry[];
  /** Reminder events sent to `notifyUrl` while awaiting consent (absent until the first). */
  remindersSent?: number;
  /** The request's `timeouts`, defaults filled in (provisionings started from v3 on). */
  timeouts?: { consent: string; reminderEvery: string; checkEvery: string; checkEveryMax: string };
  /** While awaiting consent (from v3 on): when Cyclr is asked next, and why then. */
  consentChecks?: ConsentChecks;
  lastError?: { type: string; message: string };
  batchId?: string;
  /** How many times this provisioning was reconnected (absent until the first reconnect). */
  reconnects?: number;
}

/**
 * The schedule of checks with Cyclr while awaiting consent: idle checks start `checkEvery` apart and back off,
 * doubling, to `checkEveryMax`; a reminder sent restarts the gap; a click or a consent hint makes checks brisk.
 */
export interface ConsentChecks {
  /** The idle gap now, a duration such as "40m" (from `checkEvery` up to `checkEveryMax`). */
  gap: string;
  /** When Cyclr is asked next (ISO 8601). */
  nextAt: string;
  /** Checks are brisk until then, after a click on the consent link or a consent hint (ISO 8601). */
  briskUntil?: string;
  /**
   * Idle checks in this wait that gave way, unsent, to a busy request budget (CYCLR_MAX_REQUESTS_PER_SECOND); each
   * is asked again within its gap. Absent: none.
   */
  deferred?: number;
}

/**
 * Where a provisioning stands before it has done anything: the account and connector its request names. The request
 * is read leniently (the workflow reports on a request it is about to refuse); add `returnUrl` once it is valid.
 */
export function initialStatus(request: unknown): ProvisioningStatus {
  const r = (typeof request === 'object' && request !== null ? request : {}) as {
    accountId?: unknown;
    connector?: { id?: number; name?: string };
    batchId?: string;
  };
  return {
    stage: 'resolving-connector',
    accountId: typeof r.accountId === 'string' ? r.accountId : '',
    connector: { id: r.connector?.id, name: r.connector?.name },
    attempts: 0,
    history: [],
    batchId: r.batchId,
  };
}

export interface ProvisioningResult {
  accountConnectorId: number;
  connectorId: number;
  authenticated: true;
  completedAt: string;
}

/** What a removal run returns: the account connector is gone at Cyclr. */
export interface RemovalResult {
  removed: true;
  accountConnectorId?: number;
  /** True when Cyclr had no such account connector any more (404): nothing was uninstalled by this run. */
  alreadyGone: boolean;
  removedAt: string;
}

/**
 * A run of a provisioning after its first: a reconnect (check with Cyclr, and wait for consent again if it lapsed)
 * or a removal (uninstall at Cyclr). It starts from the status the previous run ended with.
 */
export type LifecycleAction =
  | { action: 'reconnect'; previous: ProvisioningStatus; force?: boolean }
  | { action: 'remove'; previous: ProvisioningStatus };

/** The memo key naming a lifecycle run's action (`reconnect`, `remove`), so a caller can tell what is running. */
export const LIFECYCLE_MEMO = 'lifecycle';

export interface AuthUrl {
  url: string;
  expiresAt: string;
}

export interface IssueAuthUrlInput {
  /** The consent link the browser clicked; a link that is no longer current is refused (revoked). */
  linkId?: string;
  /**
   * The gateway's GATEWAY_CONSENT_CLICK_LIMIT: the provisioning refuses a click past it (TooManyClicks, with the
   * milliseconds to wait as its detail). Counted by the provisioning, so every gateway shares one count per link.
   */
  limit?: ClickLimit;
}

export interface ClickLimit {
  max: number;
  windowMs: number;
}

export interface ConsentLink {
  url: string;
  linkId: string;
  expiresAt: string;
}

export interface ConsentLinkWaitInput {
  /** The caller's `START_TOKEN_MEMO` of its start: the answer says whether that start created the provisioning. */
  startToken?: string;
}

export interface ConsentLinkWait {
  status: ProvisioningStatus;
  /** True when the run was started by the very call that sent this update (its start token is the run's). */
  startedByThisCall: boolean;
}

/**
 * The memo key under which a start carries a token unique to that call. With update-with-start the same token rides
 * in the update, so the workflow answers exactly whether this call started it (a run that was already there has
 * another token, or none).
 */
export const START_TOKEN_MEMO = 'startToken';

export interface ConsentCompleted {
  source?: string;
}

export interface CancelRequest {
  reason?: string;
}

export const statusQuery = defineQuery<ProvisioningStatus>('status');
export const issueAuthUrlUpdate = defineUpdate<AuthUrl, [IssueAuthUrlInput]>('issueAuthUrl');
/** Revokes the current consent link and returns a new one (the CLI's `link`, the gateway's re-send). */
export const issueConsentLinkUpdate = defineUpdate<ConsentLink, []>('issueConsentLink');
/**
 * Answers once the provisioning awaits consent (its status then carries `consentLink`) or has ended: with
 * update-with-start, one round trip from "start" to "here is the link" (`POST /provisionings?wait=10s`).
 */
export const waitForConsentLinkUpdate = defineUpdate<ConsentLinkWait, [ConsentLinkWaitInput?]>('waitForConsentLink');
export const consentCompletedSignal = defineSignal<[ConsentCompleted?]>('consentCompleted');
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
