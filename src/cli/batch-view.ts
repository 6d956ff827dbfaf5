/** What `batch --follow` and `batch-status` show: a live progress bar (or plain lines), a summary, a failures file. */
import type { Client } from '@temporalio/client';
import { batchFailures, batchProgress, writeFailuresFile, type BatchSnapshot } from '../batch/batch-client.js';
import type { BatchStore } from '../batch/store.js';
import type { BatchFailure, BatchProblem, BatchProgress } from '../contract/batch-messages.js';
import { batchWorkflowId } from '../contract/ids.js';
import { formatDuration } from '../operations/format.js';

/** Rows the batch is finished with, from its point of view (awaiting consent is in the customer's hands). */
export function settled(p: BatchProgress): number {
  return p.completed + p.failed + p.cancelled + p.awaitingConsent + (p.notStarted ?? 0);
}

export function progressLine(p: BatchProgress, ratePerSec: number | undefined, tty: boolean): string {
  const done = settled(p);
  const pct = p.total ? Math.floor((done / p.total) * 100) : 100;
  const rate = ratePerSec !== undefined ? `${ratePerSec.toFixed(1)} rows/s` : '- rows/s';
  const left = p.total - done;
  const eta =
    ratePerSec && ratePerSec > 0 && left > 0
      ? `ETA ${formatDuration(Math.round((left / ratePerSec) * 1000))}`
      : 'ETA -';
  const counts =
    `${done}/${p.total} (${pct}%)  completed ${p.completed}  failed ${p.failed}  ` +
    `awaiting consent ${p.awaitingConsent}  in flight ${p.inFlight ?? 0}  ${rate}  ${eta}`;
  const held = p.problem ? `  ${problemText(p.problem)}` : '';
  if (!tty) return `${new Date().toISOString()} ${counts}${held}`;
  const width = 24;
  const filled = Math.round((pct / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts}${held}`;
}

/** What holds or ended the batch, in one line: "held, retrying (attempt 4): BatchStoreUnavailable: ...". */
export function problemText(problem: BatchProblem): string {
  const how = problem.retrying ? `held, retrying${problem.attempt ? ` (attempt ${problem.attempt})` : ''}` : 'failed';
  return `${how}: ${problem.type}: ${problem.message}`;
}

/**
 * Follows the batch until it ends: redraws one line on a TTY, prints a line every few seconds otherwise, and
 * returns the moment the batch finishes (it waits on the result, not on the next poll).
 */
export async function follow(
  temporal: Client,
  batchId: string,
  stream: NodeJS.WriteStream | null = process.stderr,
): Promise<BatchSnapshot> {
  const tty = !!stream?.isTTY;
  const every = tty ? 500 : 5000;
  const samples: { at: number; done: number }[] = [];
  const capsSaid = new Set<string>();
  const ended = temporal.workflow
    .getHandle(batchWorkflowId(batchId))
    .result()
    .then(
      () => true,
      () => true,
    );
  for (;;) {
    const snap = await batchProgress(temporal, batchId);
    const now = Date.now();
    samples.push({ at: now, done: settled(snap.progress) });
    // Rate over the last ~30 s, so the ETA follows the batch's current pace.
    while (samples.length > 2 && now - samples[0]!.at > 30_000) samples.shift();
    const first = samples[0]!;
    const rate = now > first.at ? ((samples.at(-1)!.done - first.done) * 1000) / (now - first.at) : undefined;
    const line = progressLine(snap.progress, samples.length > 1 ? rate : undefined, tty);
    // A window held below --concurrency by a worker's setting is said once, on a line of its own.
    for (const cap of snap.progress.limitedBy ?? []) {
      if (capsSaid.has(cap.message)) continue;
      capsSaid.add(cap.message);
      stream?.write(`${tty ? '\r\x1b[2K' : ''}note: ${cap.message}\n`);
    }
    stream?.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    if (snap.status !== 'RUNNING') {
      if (tty) stream?.write('\n');
      return snap;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, every)))]);
    clearTimeout(timer);
  }
}
export function summary(batchId: string, snap: BatchSnapshot): string {
  const p = snap.progress;
  const wall =
    p.startedAt && p.finishedAt ? formatDuration(Date.parse(p.finishedAt) - Date.parse(p.startedAt)) : undefined;
  const rows: [string, string | number][] = [
    ['state', p.state ?? snap.status.toLowerCase()],
    ['rows', p.total],
    ['started', p.started],
    ['completed', p.completed],
    ['awaiting consent', p.awaitingConsent],
    ['failed', p.failed],
    ['cancelled', p.cancelled],
    ['in flight', p.inFlight ?? 0],
    ['not started', p.notStarted ?? 0],
    ...(wall ? ([['wall time', wall]] as [string, string][]) : []),
  ];
  const lines = [`batch ${batchId}`, ...rows.map(([k, v]) => `  ${k.padEnd(18)}${String(v).padStart(8)}`)];
  for (const [worker, n] of Object.entries(p.rowsByWorker ?? {})) {
    lines.push(`  rows on ${worker}: ${n}`);
  }
  for (const cap of p.limitedBy ?? []) lines.push(`  limited by ${cap.setting}=${cap.value}: ${cap.message}`);
  if (p.state === 'cancelled' || p.state === 'cancelling') {
    lines.push('  (cancelled: no new provisionings start; those already started keep going)');
  }
  if (p.problem) lines.push(`  ${problemText(p.problem)}`);
  return lines.join('\n');
}

export function failuresText(failures: readonly BatchFailure[], file: string | undefined, max = 20): string {
  if (!failures.length) return 'no failures';
  const lines = [`failures: ${failures.length}${file ? ` (all of them in ${file})` : ''}`];
  for (const f of failures.slice(0, max)) {
    lines.push(`  ${f.line !== undefined ? `line ${f.line}` : f.workflowId}: ${f.type}: ${f.message}`);
  }
  if (failures.length > max) lines.push(`  ... and ${failures.length - max} more`);
  return lines.join('\n');
}

/** Writes `<batchId>.failures.jsonl` (when there are failures) and returns the failures and the path. */
export async function reportFailures(
  store: BatchStore,
  batchId: string,
  progress: BatchProgress,
  path = `${batchId}.failures.jsonl`,
): Promise<{ failures: BatchFailure[]; file?: string }> {
  const failures = await batchFailures(store, batchId, progress);
  if (!failures.length) return { failures };
  await writeFailuresFile(path, failures);
  return { failures, file: path };
}

/** Writes the failures file and prints the outcome: one JSON document with --json, else a summary and failures. */
export async function printBatchReport(
  store: BatchStore,
  batchId: string,
  snap: BatchSnapshot,
  options: { json?: boolean; failuresPath?: string },
): Promise<void> {
  const { failures, file } = await reportFailures(store, batchId, snap.progress, options.failuresPath);
  if (options.json) {
    const progress = { ...snap.progress, failures: undefined };
    console.log(JSON.stringify({ batchId, status: snap.status, progress, failures, failuresFile: file }, null, 2));
  } else {
    console.log(summary(batchId, snap));
    console.log(failuresText(failures, file));
  }
}
