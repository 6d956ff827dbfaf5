/**
 * The durable path for a batch's rows: written once by whoever submits the batch, read a page at a time by the
 * workers. Temporal payloads and histories stay the same size whatever the size of the file: the workflow carries
 * counts and a cursor, and reads only the pages its window needs (through an activity).
 *
 * Where (object-store.ts): a directory (BATCH_STORE_DIR, default `.tmp/batches` under the project root) or an
 * S3-compatible bucket (BATCH_STORE_URL=s3://bucket/prefix) that every gateway, worker and CLI of a deployment
 * shares. Layout, the same in both, under the Temporal namespace so that deployments sharing a store never see each
 * other's batches or rows:
 *
 *   <namespace>/batches/<batchId>/claim.json       the content hash of the first writer of this id (create-if-absent)
 *   <namespace>/batches/<batchId>/manifest.json    rows, pages, content hash (nothing secret); written last
 *   <namespace>/batches/<batchId>/rejected.jsonl   rows refused before the start: line, type, message
 *   <namespace>/batches/<batchId>/pages/<n>.json   a page of rows, AES-256-GCM sealed (rows carry authValue)
 *   <namespace>/batches/<batchId>/failures/<t>.jsonl failures recorded as they happen, one object per append (in
 *                                                  time order; last word per row wins)
 *   <namespace>/rows/<hh>/<sha256(id)>.json        the outcome of a row that ran without a workflow of its own, by
 *                                                  its workflow id, so `status <id>` answers for it (nothing secret)
 */
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import type { Config, Key } from '../config.js';
import { BATCH_ID_PATTERN, type BatchFailure, type BatchRow } from '../contract/batch-messages.js';
import type { ProvisioningStatus } from '../contract/messages.js';
import { DirectoryObjectStore } from './directory-store.js';
import type { ObjectStore } from './object-store.js';
import { PageCipher, type SealedPage } from './page-cipher.js';
import { S3ObjectStore } from './s3-store.js';

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

/** A page no key of this process can open (or that is missing or damaged): retrying cannot help; a key must be added. */
export class BatchPageUnreadableError extends Error {
  readonly type = 'BatchPageUnreadable';
}

/** A Temporal namespace as a key segment: its names are letters, digits, ".", "_" and "-" (checked, not trusted). */
const NAMESPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function checkBatchId(batchId: string): string {
  if (!BATCH_ID_PATTERN.test(batchId)) {
    throw new Error(
      `batch id "${batchId}": use 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return batchId;
}

/** Objects read at once when a listing is read whole. */
const READS_AT_ONCE = 16;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The hash the default batch id comes from; stable for the same rows in the same order. */
export function contentHash(rows: readonly BatchRow[]): string {
  const hash = createHash('sha256');
  for (const row of rows) hash.update(JSON.stringify(row.request)).update('\n');
  return hash.digest('hex');
}

export class BatchStore {
  private readonly cipher: PageCipher;
  private readonly root: string;

  /**
   * Batches and rows of `namespace` (the Temporal namespace: each deployment its own) in `objects`; the records of
   * rows that ran without a workflow are kept by `taskQueue` and account, so a deployment's connection check reads
   * its own.
   */
  constructor(
    readonly objects: ObjectStore,
    keys: readonly Key[],
    readonly namespace: string,
    readonly taskQueue: string,
  ) {
    if (!NAMESPACE_PATTERN.test(namespace)) {
      throw new Error(`TEMPORAL_NAMESPACE "${namespace}": use letters, digits, ".", "_" or "-"`);
    }
    this.cipher = new PageCipher(keys);
    this.root = namespace;
  }

  /**
   * The store every process of one deployment shares: BATCH_STORE_URL (s3://) or BATCH_STORE_DIR, sealed with the
   * payload keys, scoped by the Temporal namespace.
   */
  static fromConfig(
    config: Pick<Config, 'batchStoreDir' | 'batchStoreS3' | 'payloadKeys'> & {
      temporal: { namespace: string; taskQueue: string };
    },
  ): BatchStore {
    const objects = config.batchStoreS3
      ? new S3ObjectStore(config.batchStoreS3)
      : new DirectoryObjectStore(config.batchStoreDir ?? DEFAULT_BATCH_STORE_DIR);
    return new BatchStore(objects, config.payloadKeys, config.temporal.namespace, config.temporal.taskQueue);
  }

  /** Where this store keeps its objects, for messages (a directory, or s3://bucket/prefix). */
  get where(): string {
    return `${this.objects.where} (namespace ${this.namespace})`;
  }

  private key(batchId: string, ...parts: string[]): string {
    return [this.root, 'batches', checkBatchId(batchId), ...parts].join('/');
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
    const conflict = () =>
      new BatchConflictError(
        `batch "${batchId}" already exists with different rows; choose another --batch-id (or omit it: the id then comes from the content)`,
      );
    // The first writer of an id claims it, atomically, before any page is written: two submitters of different rows
    // under one id cannot interleave their pages.
    const claimed = await this.objects.create(this.key(batchId, 'claim.json'), JSON.stringify({ contentHash: hash }));
    if (!claimed) {
      const claim = JSON.parse((await this.objects.get(this.key(batchId, 'claim.json'))) ?? '{}') as {
        contentHash?: string;
      };
      if (claim.contentHash !== hash) throw conflict();
      const existing = await this.manifest(batchId).catch((err: unknown) => {
        if (err instanceof BatchNotFoundError) return undefined; // its first writer stopped half-way: finish it
        throw err;
      });
      if (existing) {
        if (existing.contentHash !== hash) throw conflict();
        // The same rows, stored before under a key no longer held (a rotation dropped it): sealed again with the
        // current key, so the workers can open them. Same rows, so a run already reading them sees no change.
        if (!(await this.opens(batchId, existing))) await this.writePages(batchId, rows, existing.pageSize);
        return { manifest: existing, created: false };
      }
    }
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const pages = await this.writePages(batchId, rows, pageSize);
    await this.objects.put(this.key(batchId, 'rejected.jsonl'), rejected.map((r) => JSON.stringify(r) + '\n').join(''));
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
    await this.objects.put(this.key(batchId, 'manifest.json'), JSON.stringify(manifest, null, 2));
    return { manifest, created: true };
  }

  private async writePages(batchId: string, rows: readonly BatchRow[], pageSize: number): Promise<number> {
    const pages = Math.ceil(rows.length / pageSize);
    const limit = pLimit(8);
    await Promise.all(
      Array.from({ length: pages }, (_, page) =>
        limit(() => {
          const slice = rows.slice(page * pageSize, (page + 1) * pageSize);
          const sealed = this.cipher.seal(JSON.stringify(slice), `${batchId}/${page}`);
          return this.objects.put(this.key(batchId, 'pages', `${page}.json`), JSON.stringify(sealed));
        }),
      ),
    );
    return pages;
  }

  /** Whether this process's keys open the batch's pages (they are all sealed at once, with one key). */
  private async opens(batchId: string, manifest: BatchManifest): Promise<boolean> {
    if (!manifest.pages) return true;
    return this.readPage(batchId, 0).then(
      () => true,
      (err: unknown) => {
        if (err instanceof BatchPageUnreadableError) return false;
        throw err;
      },
    );
  }

  async manifest(batchId: string): Promise<BatchManifest> {
    const text = await this.objects.get(this.key(batchId, 'manifest.json'));
    if (text === undefined) {
      throw new BatchNotFoundError(`no batch "${batchId}" in the batch store at ${this.where}`);
    }
    return JSON.parse(text) as BatchManifest;
  }

  async readPage(batchId: string, page: number): Promise<BatchRow[]> {
    const text = await this.objects.get(this.key(batchId, 'pages', `${page}.json`));
    if (text === undefined) {
      throw new BatchPageUnreadableError(
        `batch "${batchId}" page ${page} is missing from the batch store at ${this.where}`,
      );
    }
    try {
      return JSON.parse(this.cipher.open(JSON.parse(text) as SealedPage, `${batchId}/${page}`)) as BatchRow[];
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new BatchPageUnreadableError(`batch "${batchId}" page ${page} cannot be opened: ${why}`, { cause: err });
    }
  }

  async rejected(batchId: string): Promise<BatchFailure[]> {
    return jsonLines(await this.objects.get(this.key(batchId, 'rejected.jsonl')));
  }

  /** One object per call, named by time, so appends from many workers never contend (S3 has no append). */
  async appendFailures(batchId: string, failures: readonly BatchFailure[]): Promise<void> {
    if (!failures.length) return;
    const name = `${Date.now().toString().padStart(15, '0')}-${randomUUID()}.jsonl`;
    await this.objects.put(this.key(batchId, 'failures', name), failures.map((f) => JSON.stringify(f) + '\n').join(''));
  }

  /**
   * Row records are kept under their task queue and account (`rows/<task queue hash>/<account hash>/`), so the
   * connection check finds an account's rows with one listing. The account is the id's second part
   * (`provision:{accountId}:{installName}`).
   */
  private rowKey(workflowId: string): string {
    return [this.rowsOf(workflowId.split(':')[1] ?? ''), `${sha256(workflowId)}.json`].join('/');
  }

  private get rowsRoot(): string {
    return [this.root, 'rows', sha256(this.taskQueue).slice(0, 32)].join('/');
  }

  private rowsOf(accountId: string): string {
    return [this.rowsRoot, sha256(accountId).slice(0, 32)].join('/');
  }

  /** Where rows were recorded before they were kept by account: read, never written. */
  private flatRowKey(workflowId: string): string {
    const hash = sha256(workflowId);
    return [this.root, 'rows', hash.slice(0, 2), `${hash}.json`].join('/');
  }

  async writeRow(record: RowRecord): Promise<void> {
    await this.objects.put(this.rowKey(record.workflowId), JSON.stringify(record));
  }

  /**
   * The row outcome recorded for this workflow id by a batch of this namespace, if any. `olderLayout: false` skips
   * the second read for records written before rows were kept by account (a batch's own per-row check: a row it
   * does not find is adopted by Name at install, so the hot path need not pay that read).
   */
  async readRow(workflowId: string, { olderLayout = true } = {}): Promise<RowRecord | undefined> {
    const text =
      (await this.objects.get(this.rowKey(workflowId))) ??
      (olderLayout ? await this.objects.get(this.flatRowKey(workflowId)) : undefined);
    return text === undefined ? undefined : (JSON.parse(text) as RowRecord);
  }

  /** The accounts with a row recorded on this task queue (rows recorded before they were kept by account: none). */
  async accountsWithRows(): Promise<string[]> {
    const read = pLimit(READS_AT_ONCE);
    const accounts = await Promise.all(
      (await this.objects.folders(this.rowsRoot)).map((folder) =>
        read(async () => {
          // Every record in the folder names the same account: the first one says which.
          const under = `${this.rowsRoot}/${folder}`;
          const [first] = await this.objects.list(under);
          const text = first === undefined ? undefined : await this.objects.get(`${under}/${first}`);
          return text === undefined ? undefined : (JSON.parse(text) as RowRecord).status.accountId;
        }),
      ),
    );
    return accounts.filter((a): a is string => a !== undefined);
  }

  /** The rows recorded for one account on this task queue. */
  async rowsOfAccount(accountId: string): Promise<RowRecord[]> {
    const read = pLimit(READS_AT_ONCE);
    const under = this.rowsOf(accountId);
    const texts = await Promise.all(
      (await this.objects.list(under)).map((name) => read(() => this.objects.get(`${under}/${name}`))),
    );
    return texts.filter((t): t is string => t !== undefined).map((t) => JSON.parse(t) as RowRecord);
  }

  /**
   * The row a record was written for, read back from its batch's sealed pages (it carries its secrets: callers keep
   * it in memory). Rows are in file order and a row's index is below its line number, so its page is found at or
   * before the line's.
   */
  async recordedRow(record: RowRecord): Promise<BatchRow | undefined> {
    const { pages, pageSize } = await this.manifest(record.batchId);
    for (let page = Math.min(pages - 1, Math.floor((record.line - 1) / pageSize)); page >= 0; page--) {
      const rows = await this.readPage(record.batchId, page);
      const row = rows.find((r) => r.line === record.line);
      if (row) return row;
      if (rows.length && rows[0]!.line < record.line) return undefined;
    }
    return undefined;
  }

  /** Every row of a batch, in file order, a page at a time (the rows carry secrets: callers keep them in memory). */
  async *rows(batchId: string): AsyncGenerator<BatchRow> {
    const { pages } = await this.manifest(batchId);
    for (let page = 0; page < pages; page++) yield* await this.readPage(batchId, page);
  }

  /** Every failure: rejected rows first, then those recorded (in time order; a retried append counts once). */
  async failures(batchId: string): Promise<BatchFailure[]> {
    const names = (await this.objects.list(this.key(batchId, 'failures'))).sort();
    const read = pLimit(READS_AT_ONCE);
    const texts = await Promise.all(names.map((n) => read(() => this.objects.get(this.key(batchId, 'failures', n)))));
    const recorded = new Map<string, BatchFailure>();
    for (const f of texts.flatMap((t) => jsonLines<BatchFailure>(t))) recorded.set(f.workflowId ?? `line:${f.line}`, f);
    return [...(await this.rejected(batchId)), ...recorded.values()];
  }
}

function jsonLines<T>(text: string | undefined): T[] {
  // A line cut short (a file store's crash mid-write of an older layout) is skipped, not fatal.
  return (text ?? '')
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
