/**
 * What a stage change tells operators, emitted from inside the workflow (deterministic code: imports only
 * '@temporalio/workflow' and types): one structured log line (the workflow `log`, which carries workflowId, runId
 * and workflowType and reaches the worker's JSON logger) and the provisioning counters (the workflow `metricMeter`,
 * sent through the runtime's Prometheus exporter). The SDK drops both during replay, so a recovered worker neither
 * logs nor counts twice. Call `onStageChange` every time the stage changes, after the new entry is pushed onto
 * `status.history` (at the end of `recordStage` in status.ts).
 */
import { log, metricMeter } from '@temporalio/workflow';
import type { ProvisioningStatus } from '../contract/messages.js';
import { Failure } from '../contract/failures.js';
import { METRIC } from '../contract/metric-names.js';
import type { Stage } from '../contract/stages.js';

export function onStageChange(status: ProvisioningStatus, stage: Stage, note?: string): void {
  const level = stage === 'failed' ? 'warn' : 'info';
  log[level](`stage ${stage}`, {
    stage,
    accountId: status.accountId,
    connector: status.connector.name ?? status.connector.id,
    ...(status.accountConnectorId !== undefined ? { accountConnectorId: status.accountConnectorId } : {}),
    attempts: status.attempts,
    ...(note ? { note } : {}),
    ...(status.lastError && (stage === 'failed' || stage === 'expired' || stage === 'cancelled')
      ? { error: status.lastError }
      : {}),
  });
  recordStageMetrics(status, stage);
}

function recordStageMetrics(status: ProvisioningStatus, stage: Stage): void {
  switch (stage) {
    case 'resolving-connector':
      // Only the very first entry is a start; continue-as-new resumes without re-recording it.
      if (status.history.length === 1) metricMeter.createCounter(METRIC.started).add(1);
      return;
    case 'completed':
      metricMeter.createCounter(METRIC.completed).add(1);
      break;
    case 'failed':
      metricMeter.createCounter(METRIC.failed).add(1, { type: status.lastError?.type ?? Failure.Error });
      break;
    case 'expired':
      metricMeter.createCounter(METRIC.expired).add(1);
      break;
    case 'cancelled':
      metricMeter.createCounter(METRIC.cancelled).add(1);
      break;
    default:
      return;
  }
  const waitMs = consentWaitMs(status);
  if (waitMs !== undefined) {
    metricMeter
      .createHistogram(METRIC.consentWait, 'int', 'ms', 'Time from asking for consent to the end')
      .record(waitMs, {
        outcome: stage,
      });
  }
}

/** From the first `awaiting-consent` entry to the last entry; undefined when consent was never asked for. */
function consentWaitMs(status: ProvisioningStatus): number | undefined {
  const asked = status.history.find((h) => h.stage === 'awaiting-consent');
  const last = status.history[status.history.length - 1];
  if (!asked || !last) return undefined;
  return Math.max(0, Date.parse(last.at) - Date.parse(asked.at));
}
