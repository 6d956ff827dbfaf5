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
  lastError?: { type: string; message: string };
  batchId?: string;
}

export interface ProvisioningResult {
  accountConnectorId: number;
  connectorId: number;
  authenticated: true;
  completedAt: string;
}

export interface AuthUrl {
  url: string;
  expiresAt: string;
}

export interface IssueAuthUrlInput {
  /** The consent link the browser clicked; a link that is no longer current is refused (revoked). */
  linkId?: string;
}

export interface ConsentLink {
  url: string;
  linkId: string;
  expiresAt: string;
}

export interface ConsentLinkWait {
  status: ProvisioningStatus;
  /** True when the update arrived with the workflow's start (update-with-start created it). */
  startedByThisCall: boolean;
}

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
export const waitForConsentLinkUpdate = defineUpdate<ConsentLinkWait, []>('waitForConsentLink');
export const consentCompletedSignal = defineSignal<[ConsentCompleted?]>('consentCompleted');
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
