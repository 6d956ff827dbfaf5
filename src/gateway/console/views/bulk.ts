/** Bulk actions: choose provisionings by filter, the dry run to confirm, and every outcome. */
import type { ConsentLink } from '../../../contract/messages.js';
import { BULK_ACTIONS, type BulkActionName, type Outcome } from '../../../operations/bulk.js';
import type { FilterValues, ListedProvisioning } from '../../../operations/filters.js';
import { html, type Html } from '../html.js';
import { ACTION_WORDS } from './action-words.js';
import { ago, copyLink, csrfField, detailLink, hiddenField, problemAlert, shown, table } from './components.js';
import { filterFields } from './filter-form.js';
import { layout, type PageContext } from './layout.js';

export interface BulkView {
  action?: BulkActionName;
  filter: FilterValues;
  reason?: string;
  limit: number;
  /** Present once a filter was given: the dry run. */
  targets?: ListedProvisioning[];
  problem?: string;
  now: number;
}

function dryRun(ctx: PageContext, v: BulkView, t: ListedProvisioning[]): Html {
  if (t.length === 0) {
    const none =
      BULK_ACTIONS[v.action!].targets === 'not-removed'
        ? 'No provisioning matches that is not removed already'
        : 'No running provisioning matches';
    return html`<p id="dry-run-empty">${none}: nothing would be done.</p>`;
  }
  const words = ACTION_WORDS[v.action!];
  return html`<h2 id="dry-run-title">Dry run: would ${words.title.toLowerCase()} ${t.length}</h2>
    ${t.length >= v.limit ? html`<p class="warn">That is the limit; narrow the filters to see the rest.</p>` : ''}
    ${table(
      'dry-run',
      ['Provisioning', 'Stage', 'Account', 'Connector', 'Started'],
      t.map(
        (r) =>
          html`<tr>
            <td>${detailLink(r.workflowId)}</td>
            <td>${r.stage ?? ''}</td>
            <td>${r.accountId ?? ''}</td>
            <td>${r.connector ?? ''}</td>
            <td>${ago(r.startTime, v.now)} ago</td>
          </tr>`,
      ),
    )}
    <form method="post" action="/console/bulk" class="confirm">
      ${csrfField(ctx)} ${hiddenField('action', v.action!)}
      ${Object.entries(v.filter).map(([k, val]) => (val ? hiddenField(k, val) : ''))}
      ${v.reason ? hiddenField('reason', v.reason) : ''} ${t.map((r) => hiddenField('id', r.workflowId))}
      <p>${words.confirm} Only the provisionings listed above are touched.</p>
      <button type="submit" id="bulk-confirm" class="${v.action === 'cancel' || v.action === 'remove' ? 'danger' : ''}">
        Confirm: ${words.title.toLowerCase()} these ${t.length}
      </button>
    </form>`;
}

export function bulkPage(ctx: PageContext, v: BulkView): string {
  const actionSelect = html`<div class="field">
    <label for="b-action">Action</label>
    <select id="b-action" name="action">
      ${(Object.keys(BULK_ACTIONS) as BulkActionName[]).map(
        (a) => html`<option value="${a}" ${v.action === a ? html`selected` : ''}>${ACTION_WORDS[a].title}</option>`,
      )}
    </select>
  </div>`;
  return layout(
    ctx,
    'Bulk actions',
    html`<h1>Bulk actions</h1>
      <p>
        Choose provisionings by filter, check the dry run, then confirm: running ones (remove: any not removed yet,
        ended ones too). The same rules as the CLI's bulk <code>link</code>, <code>complete</code>,
        <code>cancel</code> and <code>remove</code>.
      </p>
      <form method="get" action="/console/bulk" class="filters">
        ${actionSelect} ${filterFields(v.filter, 'b-', true)}
        <div class="field">
          <label for="b-reason">Reason (for cancel)</label>
          <input id="b-reason" name="reason" value="${v.reason ?? ''}" maxlength="500" />
        </div>
        <div class="field buttons"><button type="submit" id="dry-run-button">Dry run</button></div>
      </form>
      ${problemAlert(v.problem)} ${v.targets ? dryRun(ctx, v, v.targets) : ''}`,
  );
}

/** "done", or for a re-sent link the new link, to copy and send on (the CLI prints them the same way). */
function newLink(result: unknown, i: number): Html {
  const link = result as Partial<ConsentLink> | undefined;
  if (!link?.url) return html`done`;
  return copyLink(`link-${i}`, { url: link.url, expiresAt: link.expiresAt });
}

export function bulkOutcomePage(
  ctx: PageContext,
  action: BulkActionName,
  outcomes: Outcome<unknown>[],
  skipped: number,
) {
  const failed = outcomes.filter((o) => !o.ok);
  const summary =
    `${outcomes.length - failed.length} done, ${failed.length} failed` +
    (skipped ? `, ${skipped} skipped (no longer matching the filter)` : '');
  return layout(
    ctx,
    'Bulk outcome',
    html`<h1>${ACTION_WORDS[action].title}: done</h1>
      <p id="bulk-summary" role="status">${summary}</p>
      ${table(
        'bulk-outcomes',
        ['Provisioning', 'Outcome'],
        outcomes.map(
          (o, i) =>
            html`<tr>
              <td>${detailLink(o.workflowId)}</td>
              <td>
                ${o.ok ? newLink(o.result, i) : html`<span class="error">${o.error!.type}: ${shown(o.error!.message)}</span>`}
              </td>
            </tr>`,
        ),
      )}
      <p><a href="/console/bulk">Another bulk action</a></p>`,
  );
}
