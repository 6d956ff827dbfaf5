/** Keeping the `status` query, the search attributes and the Web UI summary in step with the stage. */
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ProvisioningStatus } from '../contract/messages.js';
import { ConnectorName, ProvisioningStage } from '../contract/search-attributes.js';
import { onStageChange } from './stage-telemetry.js';
import type { Stage } from '../contract/stages.js';

/** Enough for a long wait with many unconfirmed hints, without letting the query result grow without bound. */
const MAX_HISTORY = 100;

/**
 * Records a stage and keeps the search attributes in step at once (one upsert per change). provisionConnector v1
 * (legacy/) uses it; the current workflow pushes stages as they happen and upserts only before it waits.
 */
export function recordStage(status: ProvisioningStatus, stage: Stage, note?: string): void {
  pushStage(status, stage, note);
  upsertStageAttributes(status);
}

/** The stage in the status query, the log, the metrics and the Web UI summary (no history event of its own). */
export function pushStage(status: ProvisioningStatus, stage: Stage, note?: string): void {
  status.stage = stage;
  status.history.push({ stage, at: new Date().toISOString(), ...(note ? { note } : {}) });
  if (status.history.length > MAX_HISTORY) status.history.splice(1, status.history.length - MAX_HISTORY);
  onStageChange(status, stage, note);
  setCurrentDetails(
    `**${stage}**: ${status.connector.name ?? `connector ${status.connector.id ?? '?'}`} for account ${status.accountId}` +
      (status.accountConnectorId !== undefined ? ` (account connector ${status.accountConnectorId})` : '') +
      (note ? `\n\n${note}` : ''),
  );
}

/** The stage and connector name as search attributes, for listing; each upsert is a history event: only changes. */
export function upsertStageAttributes(status: ProvisioningStatus): void {
  const current = workflowInfo().typedSearchAttributes;
  const changes = [
    ...(current.get(ProvisioningStage) !== status.stage ? [{ key: ProvisioningStage, value: status.stage }] : []),
    ...(status.connector.name && current.get(ConnectorName) !== status.connector.name
      ? [{ key: ConnectorName, value: status.connector.name }]
      : []),
  ];
  if (changes.length) upsertSearchAttributes(changes);
}
