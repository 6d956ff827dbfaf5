/** A provisioning's page (facts, timeline, actions), and the confirm and outcome pages of an action on it. */
import type { ConsentLink, ProvisioningStatus } from '../../../contract/messages.js';
import { FINAL_STAGES } from '../../../contract/stages.js';
import type { Acted } from '../../../operations/acted.js';
import type { ProvisioningActionName } from '../../../operations/bulk.js';
import { formatDuration } from '../../../operations/format.js';
import { html, type Html } from '../html.js';
import { ACTION_WORDS } from './action-words.js';
import { ago, batchLink, copyLink, csrfField, detailHref, hiddenField, shown } from './components.js';
import { layout, type PageContext } from './layout.js';

export interface DetailView {
  workflowId: string;
  status: ProvisioningStatus;
  running: boolean;
  /** Its latest run's start and support's messages, each with who sent it (Temporal's identity). */
  acted: Acted[];
  /** False for a batch row that ran without a workflow of its own (its status is the batch store's record). */
  hasWorkflow: boolean;
  now: number;
}

function whoActed(acted: Acted[]): Html {
  return html`<ol class="acted" id="acted">
    ${acted.map(
      (a) =>
        html`<li>
          <span class="action">${a.action}</span> <time datetime="${a.at}">${a.at}</time>
          <span class="by">by ${a.by || 'unknown'}</span>
        </li>`,
    )}
  </ol>`;
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
    ctx.scope === 'write' && v.running && v.hasWorkflow
      ? html`<section class="actions" aria-label="Actions">
          <h2>Actions</h2>
          ${
            awaiting
              ? html`<form method="post" action="${href}/link">
                    ${csrfField(ctx)}
                    <button type="submit" id="action-link">Re-send link…</button>
                    <span class="hint">a new consent link; the earlier one stops working</span>
                  </form>
                  <form method="post" action="${href}/complete">
                    ${csrfField(ctx)}
                    <button type="submit" id="action-complete">Mark complete…</button>
                    <span class="hint">the provisioning checks with Cyclr, and keeps waiting if Cyclr disagrees</span>
                  </form>`
              : ''
          }
          <form method="post" action="${href}/cancel">
            ${csrfField(ctx)}
            <label for="reason">Reason for cancelling</label>
            <input id="reason" name="reason" maxlength="500" placeholder="e.g. customer left" />
            <button type="submit" id="action-cancel" class="danger">Cancel…</button>
          </form>
        </section>`
      : '';
  const ended =
    ctx.scope === 'write' && !v.running && s.stage !== 'removed'
      ? html`<section class="actions" aria-label="Actions">
          <h2>Actions</h2>
          ${
            s.stage === 'completed'
              ? html`<form method="post" action="${href}/reconnect">
                  ${csrfField(ctx)}
                  <button type="submit" id="action-reconnect">Reconnect…</button>
                  <span class="hint"
                    >when the customer's connection lapsed: asks Cyclr, and for consent again if needed</span
                  >
                </form>`
              : ''
          }
          <form method="post" action="${href}/remove">
            ${csrfField(ctx)}
            <button type="submit" id="action-remove" class="danger">Remove…</button>
            <span class="hint">offboarding: uninstalls the connector from the customer's account</span>
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
                <dd>${batchLink(s.batchId)}</dd>`
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
        ${
          s.consentChecks
            ? html`<dt>Next check</dt>
                <dd id="next-check">
                  <time datetime="${s.consentChecks.nextAt}">${s.consentChecks.nextAt}</time> (gap
                  ${s.consentChecks.gap}${
                    s.timeouts ? `, from ${s.timeouts.checkEvery} doubling to ${s.timeouts.checkEveryMax}` : ''
                  }${s.consentChecks.briskUntil ? `; brisk until ${s.consentChecks.briskUntil}` : ''})
                </dd>`
            : ''
        }
        <dt>Reconnects</dt>
        <dd id="reconnects">${String(s.reconnects ?? 0)}</dd>
        <dt>Last error</dt>
        <dd id="last-error">
          ${s.lastError ? html`<strong>${s.lastError.type}</strong>: ${shown(s.lastError.message)}` : 'none'}
        </dd>
      </dl>
      <h2>Timeline</h2>
      ${timeline(s, v.now)}
      ${
        v.hasWorkflow
          ? html`<h2>Who acted</h2>
              ${whoActed(v.acted)}`
          : html`<p id="without-workflow">
              This row of its batch ran without a workflow of its own: what is shown is the batch's record of it. A
              reconnect or a removal gives it one.
            </p>`
      }
      ${actions} ${ended}`,
  );
}

export function confirmPage(
  ctx: PageContext,
  action: ProvisioningActionName,
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
        ${csrfField(ctx)} ${hiddenField('confirmed', 'yes')}
        ${Object.entries(fields).map(([k, val]) => hiddenField(k, val))}
        <button type="submit" id="confirm" class="${action === 'cancel' || action === 'remove' ? 'danger' : ''}">
          ${words.button}
        </button>
        <a href="${href}" id="back">No, go back</a>
      </form>
    </section>`,
  );
}

const DONE: Record<ProvisioningActionName, string> = {
  link: 'A new consent link was issued. Send it to the customer; the earlier link no longer works.',
  complete: 'Signalled: the provisioning is checking with Cyclr. Its page shows the result.',
  cancel: 'Cancelling: the provisioning is stopping and removing what it installed.',
  reconnect: 'Reconnecting: a new run is checking the connection with Cyclr. Its page shows where it stands.',
  remove: 'Removed: the connector is uninstalled from the account.',
};

export function outcomePage(
  ctx: PageContext,
  action: ProvisioningActionName,
  workflowId: string,
  outcome: { ok: true; link?: ConsentLink } | { ok: false; error: { type: string; message: string } },
): string {
  const href = detailHref(workflowId);
  return layout(
    ctx,
    ACTION_WORDS[action].title,
    html`<section class="card narrow">
      <h1>${ACTION_WORDS[action].title}</h1>
      ${
        outcome.ok
          ? html`<p id="outcome" class="ok" role="status">${DONE[action]}</p>
              ${outcome.link ? copyLink('new-link', outcome.link, 'copy-link') : ''}`
          : html`<p id="outcome" class="error" role="alert">
              Not done: <strong>${outcome.error.type}</strong>: ${shown(outcome.error.message)}
            </p>`
      }
      <p><a href="${href}" id="back">Back to ${workflowId}</a></p>
    </section>`,
  );
}
