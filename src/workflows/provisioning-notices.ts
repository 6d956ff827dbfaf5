/**
 * What a provisioning tells others while it runs: lifecycle events to the request's `notifyUrl`, and notices to the
 * batch that started it (which counts its consent rows by them). Both run beside the process, so a receiver that is
 * down delays no customer; `settled()` waits for those in flight before the run ends. Deterministic code.
 */
import { getExternalWorkflowHandle, log, uuid4, workflowInfo } from '@temporalio/workflow';
import { batchItemSignal } from '../contract/batch-messages.js';
import type { ProvisioningStatus } from '../contract/messages.js';
import { FINAL_STAGES } from '../contract/stages.js';
import type { EventType } from '../contract/webhook-events.js';
import { events } from './provisioning-activities.js';

export class ProvisioningNotices {
  private readonly pending: Promise<void>[] = [];

  constructor(
    private readonly workflowId: string,
    /** The request's receiver; none for a request without one (or a refused request). */
    private readonly notifyUrl: string | undefined,
  ) {}

  get hasReceiver(): boolean {
    return this.notifyUrl !== undefined;
  }

  /** An event to the receiver, as the status stands now. */
  event(type: EventType, status: Readonly<ProvisioningStatus>, extra: { reason?: string } = {}): void {
    const notifyUrl = this.notifyUrl;
    if (!notifyUrl) return;
    const event = {
      id: uuid4(),
      type,
      timestamp: new Date().toISOString(),
      data: {
        workflowId: this.workflowId,
        accountId: status.accountId,
        connector: status.connector,
        accountConnectorId: status.accountConnectorId,
        consentLink: status.consentLink,
        consentExpiresAt: status.consentExpiresAt,
        error: status.lastError,
        ...extra,
      },
    };
    this.pending.push(
      events.sendEvent({ notifyUrl, event }).catch((err) => {
        log.warn('event not delivered', { type, error: String(err) });
      }),
    );
  }

  /**
   * Tells the batch that started this provisioning (if one did) that it awaits consent or has ended. A batch that
   * has ended no longer listens, which is fine.
   */
  tellBatch(status: Readonly<ProvisioningStatus>): void {
    const parent = workflowInfo().parent;
    const { stage } = status;
    if (!parent || !(stage === 'awaiting-consent' || FINAL_STAGES.includes(stage))) return;
    this.pending.push(
      getExternalWorkflowHandle(parent.workflowId)
        .signal(batchItemSignal, {
          workflowId: this.workflowId,
          stage,
          error: FINAL_STAGES.includes(stage) && stage !== 'completed' ? status.lastError : undefined,
        })
        .catch(() => undefined),
    );
  }

  /** Resolves once every event and notice sent so far has been delivered or given up on. */
  settled(): Promise<unknown> {
    return Promise.all(this.pending);
  }
}
