/**
 * Who acted on a provisioning's latest run: its start and the messages support sends (cancel, mark complete,
 * re-send link), each with the identity Temporal recorded for it. The gateway sends under the acting token's name
 * and the CLI under the user's (ProvisioningClient.actingAs), so this answers "who cancelled this?".
 */
import type { Client } from '@temporalio/client';
import { dateOf } from './filters.js';

export interface Acted {
  /** When Temporal recorded it (ISO 8601). */
  at: string;
  action: 'start' | 'cancel' | 'mark complete' | 're-send link';
  /** The sender's identity, e.g. "write token 1a2b3c4d via the console (123@gateway-1)". */
  by: string;
}

const SIGNALS: Record<string, Acted['action']> = { cancel: 'cancel', consentCompleted: 'mark complete' };
const UPDATES: Record<string, Acted['action']> = { issueConsentLink: 're-send link' };

export async function whoActed(client: Client, workflowId: string): Promise<Acted[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const acted: Acted[] = [];
  for (const e of history.events ?? []) {
    const at = dateOf(e.eventTime)?.toISOString() ?? '';
    const started = e.workflowExecutionStartedEventAttributes;
    const signal = e.workflowExecutionSignaledEventAttributes;
    const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    const cancel = e.workflowExecutionCancelRequestedEventAttributes;
    if (started) acted.push({ at, action: 'start', by: started.identity ?? '' });
    else if (signal && SIGNALS[signal.signalName ?? '']) {
      acted.push({ at, action: SIGNALS[signal.signalName!]!, by: signal.identity ?? '' });
    } else if (update && UPDATES[update.input?.name ?? '']) {
      acted.push({ at, action: UPDATES[update.input!.name!]!, by: update.meta?.identity ?? '' });
    } else if (cancel) acted.push({ at, action: 'cancel', by: cancel.identity ?? '' });
  }
  return acted;
}
