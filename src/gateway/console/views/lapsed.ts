/** Lapsed connections: what the latest connection check found, each linking to its provisioning (to reconnect). */
import type { ConnectionCheckResult } from '../../../contract/connection-check.js';
import { html } from '../html.js';
import { ago, detailLink, table } from './components.js';
import { layout, type PageContext } from './layout.js';

export function lapsedPage(ctx: PageContext, check: ConnectionCheckResult | undefined, now: number): string {
  const at = check?.finishedAt ?? check?.startedAt;
  return layout(
    ctx,
    'Lapsed connections',
    html`<h1>Lapsed connections</h1>
      ${
        !check
          ? html`<p id="empty">
              No connection check has finished yet. The workers run one every CONNECTION_CHECK_EVERY.
            </p>`
          : html`<p id="check-summary">
                Checked <span title="${at}">${ago(at, now)} ago</span>: ${check.connections} connection(s) in
                ${check.accounts} account(s), <strong id="lapsed-total">${check.lapsedTotal}</strong> lapsed${
                  check.lapsedTotal > check.lapsed.length ? html` (the first ${check.lapsed.length} listed)` : ''
                }${check.failedAccounts.length ? html`; ${check.failedAccounts.length} account(s) could not be checked` : ''}.
              </p>
              ${
                check.lapsed.length === 0
                  ? html`<p id="none">None lapsed.</p>`
                  : table(
                      'lapsed',
                      ['Provisioning', 'Account', 'Connector', 'Account connector', 'Why'],
                      check.lapsed.map(
                        (l) =>
                          html`<tr>
                            <td>${detailLink(l.workflowId)}</td>
                            <td>${l.accountId}</td>
                            <td>${l.connector.name ?? `connector ${l.connector.id ?? '?'}`}</td>
                            <td>${String(l.accountConnectorId)}</td>
                            <td>${l.reason === 'gone' ? 'no longer at Cyclr' : 'not authenticated'}</td>
                          </tr>`,
                      ),
                    )
              }`
      }`,
  );
}
