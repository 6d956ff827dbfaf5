/** Pieces more than one console page is built from: links, form fields, alerts, tables, a link to copy. */
import type { ConsentLink } from '../../../contract/messages.js';
import { formatDuration } from '../../../operations/format.js';
import { html, type Html } from '../html.js';

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

export function detailHref(workflowId: string): string {
  return `/console/provisionings/${encodeURIComponent(workflowId)}`;
}

export function batchHref(batchId: string): string {
  return `/console/batches/${encodeURIComponent(batchId)}`;
}

/** A provisioning's id, linking to its page. */
export function detailLink(workflowId: string): Html {
  return html`<a href="${detailHref(workflowId)}">${workflowId}</a>`;
}

/** A batch's id, linking to its page. */
export function batchLink(batchId: string): Html {
  return html`<a href="${batchHref(batchId)}">${batchId}</a>`;
}

/** Every form that writes carries the CSRF token. */
export function csrfField(ctx: { csrf: string }): Html {
  return hiddenField('_csrf', ctx.csrf);
}

export function hiddenField(name: string, value: string): Html {
  return html`<input type="hidden" name="${name}" value="${value}" />`;
}

/** What was wrong with the request, when something was. */
export function problemAlert(problem: string | undefined): Html | '' {
  return problem ? html`<p class="error" role="alert" id="problem">${problem}</p>` : '';
}

/** A table with a header row of column names; `rows` are its `<tr>`s. */
export function table(id: string, columns: readonly string[], rows: readonly Html[]): Html {
  return html`<table id="${id}">
    <thead>
      <tr>
        ${columns.map((c) => html`<th scope="col">${c}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

/** A new consent link to copy and send on; console.js makes the button copy it. */
export function copyLink(
  inputId: string,
  link: { url: string; expiresAt?: ConsentLink['expiresAt'] },
  buttonId?: string,
): Html {
  const button = buttonId
    ? html`<button type="button" class="copy-button" data-copy="${inputId}" id="${buttonId}">Copy link</button>`
    : html`<button type="button" data-copy="${inputId}">Copy link</button>`;
  return html`<div class="copy">
    <label for="${inputId}">New consent link (valid until ${link.expiresAt})</label>
    <input id="${inputId}" readonly value="${link.url}" />
    ${button}
    <span class="copied" aria-live="polite"></span>
  </div>`;
}
