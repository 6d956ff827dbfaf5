/** The filter fields of the list and bulk forms, and the same filter as a link's query string. */
import { FINAL_STAGES, STAGES, type Stage } from '../../../contract/stages.js';
import type { FilterValues } from '../../../operations/filters.js';
import { html, type Html } from '../html.js';

/**
 * `bulk`: the bulk form, where only remove touches an ended provisioning, so the final stages say so (the others
 * act on running ones only, and would find nothing there).
 */
function bulkNote(stage: Stage): string {
  if (stage === 'removed') return ' (no bulk action)';
  return FINAL_STAGES.includes(stage) ? ' (remove only)' : '';
}

export function filterFields(f: FilterValues, idPrefix: string, bulk = false): Html {
  const field = (name: keyof FilterValues, label: string, hint: string) =>
    html`<div class="field">
      <label for="${idPrefix}${name}">${label}</label>
      <input id="${idPrefix}${name}" name="${name}" value="${f[name] ?? ''}" placeholder="${hint}" />
    </div>`;
  return html`<div class="field">
      <label for="${idPrefix}stage">Stage</label>
      <select id="${idPrefix}stage" name="stage">
        <option value="">any stage</option>
        ${STAGES.map(
          (s) =>
            html`<option value="${s}" ${f.stage === s ? html`selected` : ''}>${s}${bulk ? bulkNote(s) : ''}</option>`,
        )}
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
