/** The console's pages, rendered on the server. Every value goes through `html`, which escapes it. */
import type { BatchFailure, BatchProgress } from '../../contract/batch-messages.js';
import type { ConsentLink, ProvisioningStatus } from '../../contract/messages.js';
import { FINAL_STAGES, STAGES, type Stage } from '../../contract/stages.js';
import type { FilterValues, ListedProvisioning } from '../../operations/filters.js';
import type { BulkActionName, Outcome } from '../../operations/bulk.js';
import { formatDuration } from '../../operations/format.js';
import type { Scope } from '../auth.js';
import { html, type Html } from './html.js';

export interface PageContext {
  /** Absent on the sign-in page. */
  scope?: Scope;
  csrf: string;
}

const NAV = [
  { href: '/console', label: 'Provisionings' },
  { href: '/console/batches', label: 'Batches' },
];

export function layout(ctx: PageContext, title: string, body: Html, scripts: string[] = []): string {
  const nav = ctx.scope
    ? html`<header>
        <nav aria-label="Console">
          <a class="brand" href="/console">Provisioning console</a>
          ${NAV.map((n) => html`<a href="${n.href}">${n.label}</a>`)}
          ${ctx.scope === 'write' ? html`<a href="/console/bulk">Bulk actions</a>` : ''}
        </nav>
        <form method="post" action="/console/sign-out" class="signout">
          <span id="scope">Signed in: ${ctx.scope === 'write' ? 'read and write' : 'read only'}</span>
          <input type="hidden" name="_csrf" value="${ctx.csrf}" />
          <button type="submit">Sign out</button>
        </form>
      </header>`
    : '';
  return `<!DOCTYPE html>${html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>${title} · Provisioning console</title>
      <link rel="stylesheet" href="/console/assets/console.css" />
    </head>
    <body>
      ${nav}
      <main id="main">${body}</main>
      <script src="/console/assets/console.js"></script>
      ${scripts.map((s) => html`<script src="/console/assets/${s}"></script>`)}
    </body>
  </html>`}`;
}

export function signInPage(ctx: PageContext, problem?: string): string {
  return layout(
    ctx,
    'Sign in',
    html`<section class="card narrow">
      <h1>Provisioning console</h1>
      <p>Sign in with a gateway token (GATEWAY_API_TOKENS, or GATEWAY_READ_TOKENS for read-only).</p>
      ${problem ? html`<p class="error" role="alert" id="problem">${problem}</p>` : ''}
      <form method="post" action="/console/sign-in">
        <input type="hidden" name="_csrf" value="${ctx.csrf}" />
        <label for="token">Gateway token</label>
        <input id="token" name="token" type="password" autocomplete="off" required autofocus />
        <button type="submit">Sign in</button>
      </form>
    </section>`,
  );
}

export function messagePage(ctx: PageContext, title: string, message: string, back?: { href: string; label: string }) {
  return layout(
    ctx,
    title,
    html`<section class="card narrow">
      <h1>${title}</h1>
      <p id="message" role="alert">${message}</p>
      ${back ? html`<a href="${back.href}">${back.label}</a>` : ''}
    </section>`,
  );
}

/**
 * Error text can quote what a remote said; a URL in it that carries a sign-in token (Cyclr's connectorauth, or any
 * `token=` parameter) is replaced, so no page ever shows one.
 */
export function shown(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>]*[^\s"'<>.,;:!?)]/gi, (url) =>
    /connectorauth|[?&](token|signintoken|access_token|code)=/i.test(url) ? '[a sign-in link, not shown]' : url,
  );
}

export function ago(iso: string | undefined, now: number): string {
  if (!iso) return '';
  return formatDuration(Math.max(0, now - Date.parse(iso)));
}

function filterFields(f: FilterValues, idPrefix: string): Html {
  const field = (name: keyof FilterValues, label: string, hint: string) =>
    html`<div class="field">
      <label for="${idPrefix}${name}">${label}</label>
      <input id="${idPrefix}${name}" name="${name}" value="${f[name] ?? ''}" placeholder="${hint}" />
    </div>`;
  return html`<div class="field">
      <label for="${idPrefix}stage">Stage</label>
      <select id="${idPrefix}stage" name="stage">
        <option value="">any stage</option>
        ${STAGES.map((s) => html`<option value="${s}" ${f.stage === s ? html`selected` : ''}>${s}</option>`)}
      </select>
    </div>
    ${field('account', 'Account id', 'search by account id')} ${field('connector', 'Connector', 'e.g. HubSpot')}
    ${field('batch', 'Batch id', 'b-...')} ${field('older-than', 'Older than', 'e.g. 2d, 12h')}`;
}

export function filterQueryString(f: FilterValues, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...extra })) if (v) params.set(k, v);
  const s = params.toString();
  return s ? `?${s}` : '';
}

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

export function detailHref(workflowId: string): string {
  return `/console/provisionings/${encodeURIComponent(workflowId)}`;
}

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
      ${v.problem ? html`<p class="error" role="alert" id="problem">${v.problem}</p>` : ''}
      ${
        v.rows.length === 0
          ? html`<p id="empty">No provisionings match.</p>`
          : html`<table id="provisionings">
              <thead>
                <tr>
                  <th scope="col">Provisioning</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Time in stage</th>
                  <th scope="col">Account</th>
                  <th scope="col">Connector</th>
                  <th scope="col">Batch</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                ${v.rows.map(
                  (r) =>
                    html`<tr data-workflow-id="${r.workflowId}">
                      <td><a href="${detailHref(r.workflowId)}">${r.workflowId}</a></td>
                      <td><span class="stage stage-${r.stage ?? ''}">${r.stage ?? r.status}</span></td>
                      <td class="in-stage">${r.stageSince ? ago(r.stageSince, v.now) : '?'}</td>
                      <td>${r.accountId ?? ''}</td>
                      <td>${r.connector ?? ''}</td>
                      <td>
                        ${r.batchId ? html`<a href="/console/batches/${encodeURIComponent(r.batchId)}">${r.batchId}</a>` : ''}
                      </td>
                      <td title="${r.startTime}">${ago(r.startTime, v.now)} ago</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <nav class="paging" aria-label="Pages">
        ${v.page ? html`<a href="/console${filterQueryString(v.filter, { size: v.size })}">First page</a>` : ''}
        ${v.nextPage ? html`<a id="next-page" href="/console${filterQueryString(v.filter, { page: v.nextPage, size: v.size })}">Next page</a>` : ''}
      </nav>`,
  );
}

export interface DetailView {
  workflowId: string;
  status: ProvisioningStatus;
  running: boolean;
  now: number;
}

function timeline(s: ProvisioningStatus, now: number): Html {
  return html`<ol class="timeline" id="timeline">
    ${s.history.map((h, i) => {
      const next = s.history[i + 1];
      const lasted = next
        ? formatDuration(Date.parse(next.at) - Date.parse(h.at))
        : FINAL_STAGES.includes(h.stage)
          ? ''
          : `${ago(h.at, now)} so far`;
      return html`<li>
        <span class="stage stage-${h.stage}">${h.stage}</span> <time datetime="${h.at}">${h.at}</time>
        ${lasted ? html`<span class="lasted">${lasted}</span>` : ''}
        ${h.note ? html`<span class="note">${shown(h.note)}</span>` : ''}
      </li>`;
    })}
  </ol>`;
}

export function detailPage(ctx: PageContext, v: DetailView): string {
  const s = v.status;
  const href = detailHref(v.workflowId);
  const awaiting = s.stage === 'awaiting-consent';
  const actions =
    ctx.scope === 'write' && v.running
      ? html`<section class="actions" aria-label="Actions">
          <h2>Actions</h2>
          ${
            awaiting
              ? html`<form method="post" action="${href}/link">
                    <input type="hidden" name="_csrf" value="${ctx.csrf}" />
                    <button type="submit" id="action-link">Re-send link…</button>
                    <span class="hint">a new consent link; the earlier one stops working</span>
                  </form>
                  <form method="post" action="${href}/complete">
                    <input type="hidden" name="_csrf" value="${ctx.csrf}" />
                    <button type="submit" id="action-complete">Mark complete…</button>
                    <span class="hint">the provisioning checks with Cyclr, and keeps waiting if Cyclr disagrees</span>
                  </form>`
              : ''
          }
          <form method="post" action="${href}/cancel">
            <input type="hidden" name="_csrf" value="${ctx.csrf}" />
            <label for="reason">Reason for cancelling</label>
            <input id="reason" name="reason" maxlength="500" placeholder="e.g. customer left" />
            <button type="submit" id="action-cancel" class="danger">Cancel…</button>
          </form>
        </section>`
      : '';
  const reminders = String(s.remindersSent ?? 0);
  return layout(
    ctx,
    v.workflowId,
    html`<h1 id="workflow-id">${v.workflowId}</h1>
      <dl class="facts">
        <dt>Stage</dt>
        <dd><span class="stage stage-${s.stage}" id="stage">${s.stage}</span></dd>
        <dt>Account</dt>
        <dd id="account">${s.accountId}</dd>
        <dt>Connector</dt>
        <dd id="connector">
          ${s.connector.name ?? '?'}${s.connector.id !== undefined ? ` (id ${s.connector.id})` : ''}
        </dd>
        <dt>Account connector id</dt>
        <dd id="account-connector">${s.accountConnectorId ?? 'not installed yet'}</dd>
        ${
          s.batchId
            ? html`<dt>Batch</dt>
                <dd><a href="/console/batches/${encodeURIComponent(s.batchId)}">${s.batchId}</a></dd>`
            : ''
        }
        <dt>Consent link expires</dt>
        <dd id="consent-expires">
          ${s.consentExpiresAt ? html`<time datetime="${s.consentExpiresAt}">${s.consentExpiresAt}</time>` : 'no link issued'}
        </dd>
        <dt>Reminders sent</dt>
        <dd id="reminders">${reminders}</dd>
        <dt>Checks with Cyclr</dt>
        <dd id="attempts">${s.attempts}</dd>
        <dt>Last error</dt>
        <dd id="last-error">
          ${s.lastError ? html`<strong>${s.lastError.type}</strong>: ${shown(s.lastError.message)}` : 'none'}
        </dd>
      </dl>
      <h2>Timeline</h2>
      ${timeline(s, v.now)} ${actions}`,
  );
}

export const ACTION_WORDS: Record<BulkActionName, { title: string; confirm: string; button: string }> = {
  link: {
    title: 'Re-send the consent link',
    confirm: 'A new consent link will be issued; the link the customer has now will stop working.',
    button: 'Yes, issue a new link',
  },
  complete: {
    title: 'Mark consent complete',
    confirm: 'The provisioning will ask Cyclr whether the connector is authenticated, and keep waiting if not.',
    button: 'Yes, mark complete',
  },
  cancel: {
    title: 'Cancel',
    confirm: 'The provisioning will stop, and the account connector it installed will be removed.',
    button: 'Yes, cancel it',
  },
};

export function confirmPage(
  ctx: PageContext,
  action: BulkActionName,
  workflowId: string,
  fields: Record<string, string>,
): string {
  const words = ACTION_WORDS[action];
  const href = detailHref(workflowId);
  return layout(
    ctx,
    words.title,
    html`<section class="card narrow">
      <h1>${words.title}?</h1>
      <p><strong id="confirm-target">${workflowId}</strong></p>
      <p>${words.confirm}</p>
      ${fields.reason ? html`<p>Reason: <span id="confirm-reason">${fields.reason}</span></p>` : ''}
      <form method="post" action="${href}/${action}">
        <input type="hidden" name="_csrf" value="${ctx.csrf}" />
        <input type="hidden" name="confirmed" value="yes" />
        ${Object.entries(fields).map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}" />`)}
        <button type="submit" id="confirm" class="${action === 'cancel' ? 'danger' : ''}">${words.button}</button>
        <a href="${href}" id="back">No, go back</a>
      </form>
    </section>`,
  );
}

export function outcomePage(
  ctx: PageContext,
  action: BulkActionName,
  workflowId: string,
  outcome: { ok: true; link?: ConsentLink } | { ok: false; error: { type: string; message: string } },
): string {
  const href = detailHref(workflowId);
  const done: Record<BulkActionName, string> = {
    link: 'A new consent link was issued. Send it to the customer; the earlier link no longer works.',
    complete: 'Signalled: the provisioning is checking with Cyclr. Its page shows the result.',
    cancel: 'Cancelling: the provisioning is stopping and removing what it installed.',
  };
  return layout(
    ctx,
    ACTION_WORDS[action].title,
    html`<section class="card narrow">
      <h1>${ACTION_WORDS[action].title}</h1>
      ${
        outcome.ok
          ? html`<p id="outcome" class="ok" role="status">${done[action]}</p>
              ${
                outcome.link
                  ? html`<div class="copy">
                      <label for="new-link">New consent link (valid until ${outcome.link.expiresAt})</label>
                      <input id="new-link" readonly value="${outcome.link.url}" />
                      <button type="button" class="copy-button" data-copy="new-link" id="copy-link">Copy link</button>
                      <span class="copied" aria-live="polite"></span>
                    </div>`
                  : ''
              }`
          : html`<p id="outcome" class="error" role="alert">
              Not done: <strong>${outcome.error.type}</strong>: ${shown(outcome.error.message)}
            </p>`
      }
      <p><a href="${href}" id="back">Back to ${workflowId}</a></p>
    </section>`,
  );
}

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

export function bulkPage(ctx: PageContext, v: BulkView): string {
  const actionSelect = html`<div class="field">
    <label for="b-action">Action</label>
    <select id="b-action" name="action">
      ${(Object.keys(ACTION_WORDS) as BulkActionName[]).map(
        (a) => html`<option value="${a}" ${v.action === a ? html`selected` : ''}>${ACTION_WORDS[a].title}</option>`,
      )}
    </select>
  </div>`;
  const t = v.targets;
  const preview = t
    ? t.length === 0
      ? html`<p id="dry-run-empty">No running provisioning matches: nothing would be done.</p>`
      : html`<h2 id="dry-run-title">Dry run: would ${ACTION_WORDS[v.action!].title.toLowerCase()} ${t.length}</h2>
          ${t.length >= v.limit ? html`<p class="warn">That is the limit; narrow the filters to see the rest.</p>` : ''}
          <table id="dry-run">
            <thead>
              <tr>
                <th scope="col">Provisioning</th>
                <th scope="col">Stage</th>
                <th scope="col">Account</th>
                <th scope="col">Connector</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              ${t.map(
                (r) =>
                  html`<tr>
                    <td><a href="${detailHref(r.workflowId)}">${r.workflowId}</a></td>
                    <td>${r.stage ?? ''}</td>
                    <td>${r.accountId ?? ''}</td>
                    <td>${r.connector ?? ''}</td>
                    <td>${ago(r.startTime, v.now)} ago</td>
                  </tr>`,
              )}
            </tbody>
          </table>
          <form method="post" action="/console/bulk" class="confirm">
            <input type="hidden" name="_csrf" value="${ctx.csrf}" />
            <input type="hidden" name="action" value="${v.action!}" />
            ${Object.entries(v.filter).map(([k, val]) => (val ? html`<input type="hidden" name="${k}" value="${val}" />` : ''))}
            ${v.reason ? html`<input type="hidden" name="reason" value="${v.reason}" />` : ''}
            ${t.map((r) => html`<input type="hidden" name="id" value="${r.workflowId}" />`)}
            <p>${ACTION_WORDS[v.action!].confirm} Only the provisionings listed above are touched.</p>
            <button type="submit" id="bulk-confirm" class="${v.action === 'cancel' ? 'danger' : ''}">
              Confirm: ${ACTION_WORDS[v.action!].title.toLowerCase()} these ${t.length}
            </button>
          </form>`
    : '';
  return layout(
    ctx,
    'Bulk actions',
    html`<h1>Bulk actions</h1>
      <p>
        Choose running provisionings by filter, check the dry run, then confirm. The same rules as the CLI's bulk
        <code>link</code>, <code>complete</code> and <code>cancel</code>.
      </p>
      <form method="get" action="/console/bulk" class="filters">
        ${actionSelect} ${filterFields(v.filter, 'b-')}
        <div class="field">
          <label for="b-reason">Reason (for cancel)</label>
          <input id="b-reason" name="reason" value="${v.reason ?? ''}" maxlength="500" />
        </div>
        <div class="field buttons"><button type="submit" id="dry-run-button">Dry run</button></div>
      </form>
      ${v.problem ? html`<p class="error" role="alert" id="problem">${v.problem}</p>` : ''} ${preview}`,
  );
}

/** "done", or for a re-sent link the new link, to copy and send on (the CLI prints them the same way). */
function newLink(result: unknown, i: number): Html {
  const link = result as Partial<ConsentLink> | undefined;
  if (!link?.url) return html`done`;
  return html`<div class="copy">
    <label for="link-${i}">New consent link (valid until ${link.expiresAt})</label>
    <input id="link-${i}" readonly value="${link.url}" />
    <button type="button" data-copy="link-${i}">Copy link</button>
    <span class="copied" aria-live="polite"></span>
  </div>`;
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
      <table id="bulk-outcomes">
        <thead>
          <tr>
            <th scope="col">Provisioning</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          ${outcomes.map(
            (o, i) =>
              html`<tr>
                <td><a href="${detailHref(o.workflowId)}">${o.workflowId}</a></td>
                <td>
                  ${
                    o.ok
                      ? newLink(o.result, i)
                      : html`<span class="error">${o.error!.type}: ${shown(o.error!.message)}</span>`
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      <p><a href="/console/bulk">Another bulk action</a></p>`,
  );
}

export interface BatchRow {
  batchId: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

export function batchesPage(ctx: PageContext, rows: BatchRow[], now: number, page?: string, nextPage?: string): string {
  return layout(
    ctx,
    'Batches',
    html`<h1>Batches</h1>
      ${
        rows.length === 0
          ? html`<p id="empty">No batches yet.</p>`
          : html`<table id="batches">
              <thead>
                <tr>
                  <th scope="col">Batch</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col">Finished</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map(
                  (b) =>
                    html`<tr>
                      <td><a href="/console/batches/${encodeURIComponent(b.batchId)}">${b.batchId}</a></td>
                      <td>${b.status}</td>
                      <td title="${b.startTime}">${ago(b.startTime, now)} ago</td>
                      <td>${b.closeTime ? html`${ago(b.closeTime, now)} ago` : ''}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <nav class="paging" aria-label="Pages">
        ${page ? html`<a href="/console/batches">First page</a>` : ''}
        ${nextPage ? html`<a href="/console/batches?page=${encodeURIComponent(nextPage)}">Next page</a>` : ''}
      </nav>`,
  );
}

export function batchPage(
  ctx: PageContext,
  batchId: string,
  snapshot: { progress: BatchProgress; status: string },
  failures: BatchFailure[],
): string {
  const p = snapshot.progress;
  const base = `/console/batches/${encodeURIComponent(batchId)}`;
  const count = (label: string, id: string, n: number | undefined) =>
    html`<div>
      <dt>${label}</dt>
      <dd id="${id}">${n ?? 0}</dd>
    </div>`;
  return layout(
    ctx,
    `Batch ${batchId}`,
    html`<h1>Batch <span id="batch-id">${batchId}</span></h1>
      <p>Status: <strong id="batch-status">${snapshot.status.toLowerCase()}</strong></p>
      <dl class="tally" id="tally">
        ${count('Rows', 'total', p.total)} ${count('Started', 'started', p.started)}
        ${count('Completed', 'completed', p.completed)} ${count('Awaiting consent', 'awaiting', p.awaitingConsent)}
        ${count('Failed', 'failed', p.failed)} ${count('Cancelled', 'cancelled', p.cancelled)}
      </dl>
      <figure>
        <div class="chart-box">
          <canvas
            id="progress-chart"
            role="img"
            aria-label="Completed, failed and awaiting consent over time"
            data-progress-url="${base}/progress.json"
          ></canvas>
        </div>
        <figcaption>
          Progress over time, sampled every 2 seconds while this page is open (<span id="samples">0</span> samples).
        </figcaption>
      </figure>
      <h2>Failures</h2>
      ${
        failures.length === 0
          ? html`<p id="no-failures">No failures.</p>`
          : html`<p>
                <a href="${base}/failures.jsonl" download id="failures-download">Download the failures file</a>
                (${failures.length}, one JSON object per line)
              </p>
              <table id="failures">
                <thead>
                  <tr>
                    <th scope="col">Line</th>
                    <th scope="col">Provisioning</th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  ${failures.map(
                    (f) =>
                      html`<tr>
                        <td>${f.line ?? ''}</td>
                        <td>
                          ${f.workflowId ? html`<a href="${detailHref(f.workflowId)}">${f.workflowId}</a>` : 'none (row rejected)'}
                        </td>
                        <td><strong>${f.type}</strong>: ${shown(f.message)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
      }`,
    ['chart.umd.min.js', 'batch-chart.js'],
  );
}
