/**
 * Driving provisionConnector in the fast workflow tests the way callers do: start it by name, read the `status`
 * query, and read the events it POSTed to `notifyUrl`. Nothing here knows the workflow's internals.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ProvisioningEvent } from '../../src/contract/webhook-events.js';
import type { ProvisioningStatus } from '../../src/contract/messages.js';
import type { WorkflowTestEnv } from '../support/time-skipping.js';
import { OAUTH_CONNECTOR } from './fake-cyclr.js';

export interface StartOptions {
  /** provisionConnector's second argument. */
  options?: { continueAsNewAfterEvents: number };
  timeouts?: Partial<Record<'consent' | 'reminderEvery' | 'checkEvery' | 'checkEveryMax', string>>;
}

export class Provisionings {
  private accounts = 0;

  constructor(private readonly t: WorkflowTestEnv) {}

  /** An OAuth provisioning for a new account, reporting to the test's event receiver. */
  async start(taskQueue: string, { options, timeouts }: StartOptions = {}) {
    const accountId = `acct-${++this.accounts}`;
    const workflowId = `provision:${accountId}:${OAUTH_CONNECTOR.Name}`;
    const request = {
      accountId,
      connector: { name: OAUTH_CONNECTOR.Name },
      oauth: { username: `jo@${accountId}.test`, returnUrl: 'https://app.example.com/done' },
      notifyUrl: this.t.receiver.eventsUrl,
      ...(timeouts ? { timeouts } : {}),
    };
    const handle = await this.t.env.client.workflow.start('provisionConnector', {
      taskQueue,
      workflowId,
      args: options ? [request, options] : [request],
    });
    return { handle, accountId, workflowId };
  }

  status(handle: WorkflowHandle): Promise<ProvisioningStatus> {
    return handle.query<ProvisioningStatus>('status');
  }

  /** Queries until the provisioning reaches the stage (queries do not advance workflow time). */
  async reach(handle: WorkflowHandle, stage: ProvisioningStatus['stage']): Promise<ProvisioningStatus> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const s = await this.status(handle).catch(() => undefined);
      if (s?.stage === stage) return s;
      if (Date.now() > deadline) throw new Error(`still "${s?.stage}" after 20 s, waiting for "${stage}"`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  events(workflowId: string, type: string): ProvisioningEvent[] {
    return this.t.receiver.eventsFor(workflowId, type).map((r) => r.event);
  }

  /** Workflow time from the consent request to an event, in days, to the minute (a workflow task takes a few ms). */
  daysSinceConsentRequested(workflowId: string): (e: { timestamp: string }) => number {
    const [requested] = this.events(workflowId, 'provisioning.consent_requested');
    if (!requested) throw new Error(`${workflowId} never requested consent`);
    return (e) => Math.round((Date.parse(e.timestamp) - Date.parse(requested.timestamp)) / 60_000) / (24 * 60);
  }
}

/** The ApplicationFailure a workflow failed with, as a caller awaiting its result sees it. */
export async function failureOf(result: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}
