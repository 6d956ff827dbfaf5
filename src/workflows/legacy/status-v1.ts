/**
 * FROZEN with v1: how a v1 provisioning records a stage (the `status` query, the search attributes, the Web UI
 * summary, the log line and the counters), copied from the live status.ts and stage-telemetry.ts as they were. A
 * v1 run upserts its search attributes at every stage change, so an edit here would change what it replays. Do
 * not edit; delete with the rest of legacy/ (docs/workflow-versions.md).
 */
import { log, metricMeter, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { Failure } from '../../contract/failures.js';
import type { ProvisioningStatus } from '../../contract/messages.js';
import { METRIC } from '../../contract/metric-names.js';
import { ConnectorName, ProvisioningStage } from '../../contract/search-attributes.js';
import type { Stage } from '../../contract/stages.js';

const MAX_HISTORY = 100;

/** Records a stage and keeps the search attributes in step at once (one upsert per change). */
export function recordStage(status: ProvisioningStatus, stage: Stage, note?: string): void {
  status.stage = stage;
  status.history.push({ stage, at: new Date().toISOString(), ...(note ? { note } : {}) });
  if (status.history.length > MAX_HISTORY) status.history.splice(1, status.history.length - MAX_HISTORY);
  onStageChange(status, stage, note);
  setCurrentDetails(
    `**${stage}**: ${status.connector.name ?? `connector ${status.connector.id ?? '?'}`} for account ${status.accountId}` +
      (status.accountConnectorId !== undefined ? ` (account connector ${status.accountConnectorId})` : '') +
      (note ? `\n\n${note}` : ''),
  );
  const current = workflowInfo().typedSearchAttributes;
  const changes = [
    ...(current.get(ProvisioningStage) !== status.stage ? [{ key: ProvisioningStage, value: status.stage }] : []),
    ...(status.connector.name && current.get(ConnectorName) !== status.connector.name
      ? [{ key: ConnectorName, value: status.connector.name }]
      : []),
  ];
  if (changes.length) upsertSearchAttributes(changes);
}

function onStageChange(status: ProvisioningStatus, stage: Stage, note?: string): void {
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
  switch (stage) {
    case 'resolving-connector':
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
  const asked = status.history.find((h) => h.stage === 'awaiting-consent');
  const last = status.history[status.history.length - 1];
  if (asked && last) {
    metricMeter
      .createHistogram(METRIC.consentWait, 'int', 'ms', 'Time from asking for consent to the end')
      .record(Math.max(0, Date.parse(last.at) - Date.parse(asked.at)), { outcome: stage });
  }
}
