/**
 * The durable path for a batch's rows: written once by whoever submits the batch, read a page at a time by the
 * workers. Temporal payloads and histories stay the same size whatever the size of the file: the workflow carries
 * counts and a cursor, and reads only the pages its window needs (through an activity).
 *
 * Layout under BATCH_STORE_DIR (default `.tmp/batches` under the project root; a shared volume when workers run on
 * several hosts, mounted by the CLI or gateway that submits batches too):
 *
 *   <batchId>/manifest.json    rows, pages, content hash (nothing secret)
 *   <batchId>/rejected.jsonl   rows refused before the start: line, type, message (nothing secret)
 *   <batchId>/pages/<n>.json   a page of rows, AES-256-GCM sealed (rows carry authValue)
 *   <batchId>/failures.jsonl   failures recorded by the workflow as they happen (appended; last word per row wins)
 *   _rows/<hh>/<sha256(id)>.json the outcome of a row that ran without a workflow of its own, by its workflow id, so
 *                              `status <id>` answers for it (a ProvisioningStatus: nothing secret)
 *
 * Files are written to a temporary name and renamed, so a reader never sees half a page.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config, Key } from '../config.js';
import { BATCH_ID_PATTERN, type BatchFailure, type BatchRow } from '../contract/batch-messages.js';

import type { ProvisioningStatus } from '../contract/messages.js';
import { PageCipher, type SealedPage } from './page-cipher.js';

export const DEFAULT_PAGE_SIZE = 200;
/** The checkout's .tmp/batches, for the local stack and tests; deployments set BATCH_STORE_DIR. */
export const DEFAULT_BATCH_STORE_DIR = fileURLToPath(new URL('../../.tmp/batches', import.meta.url));

/** A batch row that completed or failed at install, without a workflow of its own. */
export interface RowRecord {
  workflowId: string;
  batchId: string;
  line: number;
  status: ProvisioningStatus;
}

export interface BatchManifest {
  batchId: string;
  /** sha256 of the valid rows, in order: the same content under the same id is the same batch. */
  contentHash: string;
  rows: number;
  rejected: number;
  pageSize: number;
  pages: number;
  source?: string;
  createdAt: string;
}

export class BatchConflictError extends Error {
  readonly type = 'BatchConflict';
}

export class BatchNotFoundError extends Error {
  readonly type = 'BatchNotFound';
}

export function checkBatchId(batchId: string): string {
  if (!BATCH_ID_PATTERN.test(batchId)) {
    throw new Error(
      `batch id "${batchId}": use 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return batchId;
}

/** The hash the default batch id comes from; stable for the same rows in the same order. */
export function contentHash(rows: readonly BatchRow[]): string {
  const hash = createHash('sha256');
  for (const row of rows) hash.update(JSON.stringify(row.request)).update('\n');
  return hash.digest('hex');
}

export class BatchStore {
  private readonly cipher: PageCipher;

  constructor(
    readonly dir: string,
    keys: readonly Key[],
  ) {
    this.dir = resolve(dir);
    this.cipher = new PageCipher(keys);
  }

  /** The store every process of one deployment shares: BATCH_STORE_DIR, sealed with the payload keys. */
  static fromConfig(config: Pick<Config, 'batchStoreDir' | 'payloadKeys'>): BatchStore {
    return new BatchStore(config.batchStoreDir ?? DEFAULT_BATCH_STORE_DIR, config.payloadKeys);
  }

  private path(batchId: string, ...parts: string[]): string {
    return join(this.dir, checkBatchId(batchId), ...parts);
  }

  /**
   * Writes a batch once. Writing the same rows under the same id again is a no-op (a re-run); different rows under
   * an id already taken is refused, so a batch can never change under a running workflow.
   */
  async write(
    batchId: string,
    rows: readonly BatchRow[],
    rejected: readonly BatchFailure[],
    options: { pageSize?: number; source?: string } = {},
  ): Promise<{ manifest: BatchManifest; created: boolean }> {
    const hash = contentHash(rows);
    const existing = await this.manifest(batchId).catch((err: unknown) => {
      if (err instanceof BatchNotFoundError) return undefined;
      throw err;
    });
    if (existing) {
      if (existing.contentHash !== hash) {
        throw new BatchConflictError(
          `batch "${batchId}" already exists with different rows; choose another --batch-id (or omit it: the id then comes from the content)`,
        );
      }
      return { manifest: existing, created: false };
    }
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const pages = Math.ceil(rows.length / pageSize);
    await mkdir(this.path(batchId, 'pages'), { recursive: true });
    for (let page = 0; page < pages; page++) {
      const slice = rows.slice(page * pageSize, (page + 1) * pageSize);
      const sealed = this.cipher.seal(JSON.stringify(slice), `${batchId}/${page}`);
      await atomicWrite(this.path(batchId, 'pages', `${page}.json`), JSON.stringify(sealed));
    }
    await atomicWrite(this.path(batchId, 'rejected.jsonl'), rejected.map((r) => JSON.stringify(r) + '\n').join(''));
    const manifest: BatchManifest = {
      batchId,
      contentHash: hash,
      rows: rows.length,
      rejected: rejected.length,
      pageSize,
      pages,
      source: options.source,
      createdAt: new Date().toISOString(),
    };
    // The manifest goes last: its presence means every page is in place.
    await atomicWrite(this.path(batchId, 'manifest.json'), JSON.stringify(manifest, null, 2));
    return { manifest, created: true };
  }

  async manifest(batchId: string): Promise<BatchManifest> {
    try {
      return JSON.parse(await readFile(this.path(batchId, 'manifest.json'), 'utf8')) as BatchManifest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new BatchNotFoundError(`no batch "${batchId}" in the batch store at ${this.dir} (BATCH_STORE_DIR)`);
      }
      throw err;
    }
  }

  async readPage(batchId: string, page: number): Promise<BatchRow[]> {
    const sealed = JSON.parse(await readFile(this.path(batchId, 'pages', `${page}.json`), 'utf8')) as SealedPage;
    return JSON.parse(this.cipher.open(sealed, `${batchId}/${page}`)) as BatchRow[];
  }

  async rejected(batchId: string): Promise<BatchFailure[]> {
    return readJsonLines(this.path(batchId, 'rejected.jsonl'));
  }

  async appendFailures(batchId: string, failures: readonly BatchFailure[]): Promise<void> {
    if (!failures.length) return;
    await appendFile(this.path(batchId, 'failures.jsonl'), failures.map((f) => JSON.stringify(f) + '\n').join(''));
  }

  private rowPath(workflowId: string): string {
    const hash = createHash('sha256').update(workflowId).digest('hex');
    // "_" cannot begin a batch id, so this never meets a batch's directory.
    return join(this.dir, '_rows', hash.slice(0, 2), `${hash}.json`);
  }

  async writeRow(record: RowRecord): Promise<void> {
    const path = this.rowPath(record.workflowId);
    await mkdir(dirname(path), { recursive: true });
    await atomicWrite(path, JSON.stringify(record));
  }

  /** The row outcome recorded for this workflow id by a batch, if any. */
  async readRow(workflowId: string): Promise<RowRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.rowPath(workflowId), 'utf8')) as RowRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Every row of a batch, in file order, a page at a time (the rows carry secrets: callers keep them in memory). */
  async *rows(batchId: string): AsyncGenerator<BatchRow> {
    const { pages } = await this.manifest(batchId);
    for (let page = 0; page < pages; page++) yield* await this.readPage(batchId, page);
  }

  /** Every failure: rejected rows first, then those the workflow recorded (a retried append counts once). */
  async failures(batchId: string): Promise<BatchFailure[]> {
    const recorded = new Map<string, BatchFailure>();
    for (const f of await readJsonLines<BatchFailure>(this.path(batchId, 'failures.jsonl'))) {
      recorded.set(f.workflowId ?? `line:${f.line}`, f);
    }
    return [...(await this.rejected(batchId)), ...recorded.values()];
  }
}

async function atomicWrite(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

async function readJsonLines<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  // A line cut short by a crash mid-append is skipped, not fatal.
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return [];
      }
    });
}
