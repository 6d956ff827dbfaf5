/**
 * What a provisionConnector run takes and gives beside its request: its options, the state it carries across
 * continue-as-new while awaiting consent, and what its consent wait returns.
 */
import type { ResolvedConnector } from '../contract/connector.js';
import type { LifecycleAction, ProvisioningResult, ProvisioningStatus, RemovalResult } from '../contract/messages.js';
import type { ConsentClock } from './consent-wait.js';
import type { PROVISIONING_VERSIONS, VersionOf } from './versions.js';

/** The versions this code runs (v1 is legacy/): consult `p.version` where a newer version's path parts. */
export type ProvisioningVersion = Exclude<VersionOf<typeof PROVISIONING_VERSIONS>, 1>;

/** State carried across continue-as-new while awaiting consent (v1 carries the same shape, its clock shorter). */
export interface ConsentWaitState extends ConsentClock {
  status: ProvisioningStatus;
  connector: ResolvedConnector;
  accountConnectorId: number;
  linkId: string;
}

export interface ProvisionOptions {
  /** A connector already resolved (by provisionBatch, once per batch). */
  connector?: ResolvedConnector;
  /** Set by continue-as-new only. */
  resume?: ConsentWaitState;
  /** A reconnect or a removal of a provisioning that ran before (v3): started by the client's reconnect/remove. */
  lifecycle?: LifecycleAction;
  /** History length that triggers continue-as-new while waiting; lowered only by tests. */
  continueAsNewAfterEvents?: number;
}

/** Continue-as-new well before Temporal's ~50k-event history limit. */
export const HISTORY_EVENTS_BEFORE_CONTINUE = 10_000;

/** What the consent wait returns when the history has grown long: the run goes on as a new one, with its state. */
export const CONTINUE_AS_NEW = 'continue-as-new';
export type WaitOutcome = ProvisioningResult | typeof CONTINUE_AS_NEW;

/** What a provisionConnector run returns: the connection, or (a removal run) that it is gone. */
export type RunResult = ProvisioningResult | RemovalResult;
