/** The list of batches, and a batch's page: its tally, a live progress chart, and its failures. */
import type { BatchFailure, BatchProgress } from '../../../contract/batch-messages.js';
import { html } from '../html.js';
import { ago, batchHref, batchLink, detailLink, shown, table } from './components.js';
import { layout, type PageContext } from './layout.js';

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
          : table(
              'batches',
              ['Batch', 'Status', 'Started', 'Finished'],
              rows.map(
                (b) =>
                  html`<tr>
                    <td>${batchLink(b.batchId)}</td>
                    <td>${b.status}</td>
                    <td title="${b.startTime}">${ago(b.startTime, now)} ago</td>
                    <td>${b.closeTime ? html`${ago(b.closeTime, now)} ago` : ''}</td>
                  </tr>`,
              ),
            )
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
  const base = batchHref(batchId);
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
      ${
        p.problem
          ? html`<p id="batch-problem" role="alert">
              ${
                p.problem.retrying
                  ? `Held, retrying${p.problem.attempt ? ` (attempt ${p.problem.attempt})` : ''}`
                  : 'Failed'
              }:
              <strong>${p.problem.type}</strong>: ${shown(p.problem.message)}
            </p>`
          : ''
      }
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
            data-timeline="${JSON.stringify(p.timeline ?? [])}"
          ></canvas>
        </div>
        <figcaption>
          Progress over the batch's run, as the batch recorded it (<span id="samples"
            >${String(p.timeline?.length ?? 0)}</span
          >
          points; times in UTC), updated every 2 seconds while it runs.
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
              ${table(
                'failures',
                ['Line', 'Provisioning', 'Reason'],
                failures.map(
                  (f) =>
                    html`<tr>
                      <td>${f.line ?? ''}</td>
                      <td>${f.workflowId ? detailLink(f.workflowId) : 'none (row rejected)'}</td>
                      <td><strong>${f.type}</strong>: ${shown(f.message)}</td>
                    </tr>`,
                ),
              )}`
      }`,
    ['chart.umd.min.js', 'batch-chart.js'],
  );
}
