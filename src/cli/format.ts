/** Human-readable renderings for the CLI. */
import type { ConnectionCheckResult } from '../contract/connection-check.js';
import type { ProvisioningStatus } from '../contract/messages.js';
import { FINAL_STAGES } from '../contract/stages.js';
import type { ListedProvisioning } from './filter-flags.js';
import { formatDuration } from '../operations/format.js';

export function formatStatus(workflowId: string, s: ProvisioningStatus, now = new Date()): string {
  const lines = [
    `${workflowId}`,
    `  stage:      ${s.stage}`,
    `  account:    ${s.accountId}`,
    `  connector:  ${s.connector.name ?? '?'}${s.connector.id !== undefined ? ` (id ${s.connector.id})` : ''}`,
  ];
  if (s.accountConnectorId !== undefined) lines.push(`  installed:  account connector ${s.accountConnectorId}`);
  if (s.consentLink) lines.push(`  link:       ${s.consentLink}`, `  expires:    ${s.consentExpiresAt}`);
  lines.push(`  checks:     ${s.attempts}`);
  const c = s.consentChecks;
  if (c) {
    const schedule = s.timeouts ? `; from ${s.timeouts.checkEvery}, doubling to ${s.timeouts.checkEveryMax}` : '';
    lines.push(
      `  next check: ${c.nextAt} (gap ${c.gap}${schedule}${c.briskUntil ? `; brisk until ${c.briskUntil}` : ''})`,
    );
  }
  if (s.reconnects) lines.push(`  reconnects: ${s.reconnects}`);
  if (s.lastError) lines.push(`  last error: ${s.lastError.type}: ${s.lastError.message}`);
  const width = Math.max('STAGE'.length, ...s.history.map((h) => h.stage.length));
  lines.push(
    '  timeline:',
    `    ${'AT'.padEnd(24)}  ${'SINCE START'.padEnd(11)}  ${'STAGE'.padEnd(width)}  TIME IN STAGE`,
  );
  const start = s.history[0] ? Date.parse(s.history[0].at) : 0;
  s.history.forEach((h, i) => {
    const at = Date.parse(h.at);
    const next = s.history[i + 1];
    // How long it stayed in the stage: until the next entry, or until now for a stage still in progress.
    const lasted = next
      ? `${formatDuration(Date.parse(next.at) - at)}`
      : FINAL_STAGES.includes(h.stage)
        ? ''
        : `${formatDuration(Math.max(0, now.getTime() - at))} so far`;
    const cells = [
      `    ${h.at.padEnd(24)}`,
      `+${formatDuration(at - start)}`.padEnd(11),
      h.stage.padEnd(width),
      lasted.padEnd(13),
    ];
    lines.push(`${cells.join('  ')}${h.note ? `  ${h.note}` : ''}`.trimEnd());
  });
  return lines.join('\n');
}

/** A table of provisionings for `list` and bulk previews. */
export function formatList(rows: ListedProvisioning[], now: Date, limit?: number): string {
  if (rows.length === 0) return 'no provisionings match';
  const header = ['WORKFLOW ID', 'STAGE', 'ACCOUNT', 'CONNECTOR', 'AGE', 'STATUS'];
  const body = rows.map((r) => [
    r.workflowId,
    r.stage ?? '-',
    r.accountId ?? '-',
    r.connector ?? '-',
    formatDuration(Math.max(0, now.getTime() - Date.parse(r.startTime))),
    r.status,
  ]);
  const lines = table(header, body);
  lines.push(
    limit !== undefined && rows.length >= limit
      ? `${rows.length} shown (the limit); narrow the filters or raise --limit`
      : `${rows.length} provisioning(s)`,
  );
  return lines.join('\n');
}

/** The latest connection check's lapses, as `list --lapsed` prints them. */
export function formatLapsed(check: ConnectionCheckResult | undefined): string {
  if (!check) return 'no connection check has finished yet (the workers run one every CONNECTION_CHECK_EVERY)';
  const { lapsed } = check;
  const when = `checked ${check.finishedAt ?? check.startedAt}: ${check.connections} connection(s) in ${check.accounts} account(s)`;
  if (lapsed.length === 0) return `${when}; none lapsed`;
  const header = ['WORKFLOW ID', 'ACCOUNT', 'CONNECTOR', 'ACCOUNT CONNECTOR', 'WHY'];
  const body = lapsed.map((l) => [
    l.workflowId,
    l.accountId,
    l.connector.name ?? `connector ${l.connector.id ?? '?'}`,
    String(l.accountConnectorId),
    l.reason === 'gone' ? 'no longer at Cyclr' : 'not authenticated',
  ]);
  const more =
    check.lapsedTotal > check.lapsed.length
      ? ` (${check.lapsedTotal} in all; the first ${check.lapsed.length} listed)`
      : '';
  return [
    `${when}; ${lapsed.length} lapsed${more}`,
    ...table(header, body),
    'reconnect one: provisioner reconnect <id>',
  ].join('\n');
}

/** Rows of cells as aligned lines, the header first (the last column is not padded). */
function table(header: string[], body: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...body.map(line)];
}
