/** The console's home page: provisionings per stage, the filter form, and one page of matching provisionings. */
import { STAGES, type Stage } from '../../../contract/stages.js';
import type { FilterValues, ListedProvisioning } from '../../../operations/filters.js';
import { html } from '../html.js';
import { ago, batchLink, detailLink, problemAlert, table } from './components.js';
import { filterFields, filterQueryString } from './filter-form.js';
import { layout, type PageContext } from './layout.js';

export interface ListRow extends ListedProvisioning {
  /** When it entered its current stage, if known. */
  stageSince?: string;
}

export interface ListView {
  filter: FilterValues;
  counts: Record<Stage, number>;
  rows: ListRow[];
  page?: string;
  nextPage?: string;
  /** Rows per page when not the default (kept in the paging links). */
  size?: string;
  problem?: string;
  now: number;
}

const COLUMNS = ['Provisioning', 'Stage', 'Time in stage', 'Account', 'Connector', 'Batch', 'Started'];

export function listPage(ctx: PageContext, v: ListView): string {
  const withoutStage = { ...v.filter, stage: undefined };
  const total = Object.values(v.counts).reduce((a, b) => a + b, 0);
  return layout(
    ctx,
    'Provisionings',
    html`<h1>Provisionings</h1>
      <ul class="counts" aria-label="Provisionings per stage">
        <li>
          <a href="/console${filterQueryString(withoutStage)}" class="${v.filter.stage ? '' : 'current'}"
            >all <b>${total}</b></a
          >
        </li>
        ${STAGES.map(
          (s) =>
            html`<li>
              <a
                href="/console${filterQueryString({ ...withoutStage, stage: s })}"
                class="stage-${s} ${v.filter.stage === s ? 'current' : ''}"
                data-stage="${s}"
                >${s} <b>${v.counts[s]}</b></a
              >
            </li>`,
        )}
      </ul>
      <form method="get" action="/console" class="filters" role="search">
        ${filterFields(v.filter, 'f-')}
        <div class="field buttons"><button type="submit" id="apply">Filter</button> <a href="/console">Clear</a></div>
      </form>
      ${problemAlert(v.problem)}
      ${
        v.rows.length === 0
          ? html`<p id="empty">No provisionings match.</p>`
          : table(
              'provisionings',
              COLUMNS,
              v.rows.map(
                (r) =>
                  html`<tr data-workflow-id="${r.workflowId}">
                    <td>${detailLink(r.workflowId)}</td>
                    <td><span class="stage stage-${r.stage ?? ''}">${r.stage ?? r.status}</span></td>
                    <td class="in-stage">${r.stageSince ? ago(r.stageSince, v.now) : '?'}</td>
                    <td>${r.accountId ?? ''}</td>
                    <td>${r.connector ?? ''}</td>
                    <td>${r.batchId ? batchLink(r.batchId) : ''}</td>
                    <td title="${r.startTime}">${ago(r.startTime, v.now)} ago</td>
                  </tr>`,
              ),
            )
      }
      <nav class="paging" aria-label="Pages">
        ${v.page ? html`<a href="/console${filterQueryString(v.filter, { size: v.size })}">First page</a>` : ''}
        ${v.nextPage ? html`<a id="next-page" href="/console${filterQueryString(v.filter, { page: v.nextPage, size: v.size })}">Next page</a>` : ''}
      </nav>`,
  );
}
