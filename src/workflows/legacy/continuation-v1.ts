/**
 * FROZEN with v1: what a v1 provisioning carries across continue-as-new, and how it asks for one (copied from the
 * live provisioning-state.ts as it was). The next run takes the current code with this state, so the live
 * `ConsentWaitState` must keep accepting this shape. Do not edit; delete with the rest of legacy/.
 */
import type { ResolvedConnector } from '../../contract/connector.js';
import type { ProvisioningStatus } from '../../contract/messages.js';

export interface ConsentWaitStateV1 {
  status: ProvisioningStatus;
  connector: ResolvedConnector;
  accountConnectorId: number;
  linkId: string;
  consentDeadline: number;
  nextReminderAt: number;
}

export interface ProvisionOptionsV1 {
  /** A connector already resolved (by the v1 batch, once per batch). */
  connector?: ResolvedConnector;
  /** Set by continue-as-new only. */
  resume?: ConsentWaitStateV1;
  /** History length that triggers continue-as-new while waiting; lowered only by tests. */
  continueAsNewAfterEvents?: number;
}

/** Continue-as-new well before Temporal's ~50k-event history limit. */
export const HISTORY_EVENTS_BEFORE_CONTINUE = 10_000;

/** Thrown out of the main scope so continue-as-new happens after in-flight events and handlers finish. */
export class ContinueAsNewRequested extends Error {
  constructor(readonly state: ConsentWaitStateV1) {
    super('continue-as-new');
  }
}
