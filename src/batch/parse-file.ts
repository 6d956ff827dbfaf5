/**
 * Reading a batch file (CSV or JSONL) into validated provisioning requests. Every row is checked with the same
 * schema as a single start; a bad row is reported with its line and reason and does not stop the good ones. A file
 * that cannot be read as a whole (too big, not CSV/JSONL, a broken header) is one clear error. Files are streamed
 * (csv-parse, node:readline), never read into one string; a request body in memory goes through the same parsers.
 *
 * Messages never echo a row's values: rows carry secrets.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { BatchFailure, BatchRow } from '../contract/batch-messages.js';
import { provisioningWorkflowId } from '../contract/ids.js';
import { formatInvalidFields, parseProvisioningRequest } from '../contract/request.js';
import { CsvSyntaxError, readCsv, streamCsv, type CsvRecord } from './csv.js';
import { Failure } from '../contract/failures.js';

export const MAX_FILE_BYTES = 512 * 1024 * 1024;
export const MAX_ROWS = 1_000_000;

export class BatchFileError extends Error {
  readonly type = 'BatchFileError';
}

export interface ParsedBatchFile {
  format: 'csv' | 'jsonl';
  rows: BatchRow[];
  /** Bad rows and duplicates, with line numbers. */
  rejected: BatchFailure[];
  /** Rows in the file, bad ones included. */
  total: number;
}

/** CSV columns and the request field each one fills. `property.<Name>` columns add properties. */
const COLUMNS: Record<string, (r: Draft, v: string, errors: string[]) => void> = {
  accountId: (r, v) => (r.accountId = v),
  connectorId: (r, v, errors) => {
    if (!/^\d+$/.test(v.trim())) errors.push('connectorId: must be a whole number, e.g. 1001');
    else connector(r).id = Number(v);
  },
  connectorName: (r, v) => (connector(r).name = v),
  connectorVersion: (r, v) => (connector(r).version = v),
  installName: (r, v) => (r.installName = v),
  description: (r, v) => (r.description = v),
  authenticationId: (r, v) => (r.authenticationId = v),
  authValue: (r, v) => (r.authValue = v),
  username: (r, v) => (oauth(r).username = v),
  returnUrl: (r, v) => (oauth(r).returnUrl = v),
  callbackMessage: (r, v) => (oauth(r).callbackMessage = v),
  notifyUrl: (r, v) => (r.notifyUrl = v),
  createAccount: (r, v, errors) => {
    const b = bool(v);
    if (b === undefined) errors.push('createAccount: must be true or false');
    else account(r).create = b;
  },
  accountName: (r, v) => (account(r).name = v),
  accountTimezone: (r, v) => (account(r).timezone = v),
  consentTimeout: (r, v) => (timeouts(r).consent = v),
  reminderEvery: (r, v) => (timeouts(r).reminderEvery = v),
  checkEvery: (r, v) => (timeouts(r).checkEvery = v),
  checkEveryMax: (r, v) => (timeouts(r).checkEveryMax = v),
  keepOnCancel: (r, v, errors) => {
    const b = bool(v);
    if (b === undefined) errors.push('keepOnCancel: must be true or false');
    else r.keepOnCancel = b;
  },
};

type Draft = Record<string, unknown> & {
  connector?: Record<string, unknown>;
  oauth?: Record<string, unknown>;
  account?: Record<string, unknown>;
  timeouts?: Record<string, unknown>;
  properties?: { name: string; value: string }[];
};
const connector = (r: Draft) => (r.connector ??= {});
const oauth = (r: Draft) => (r.oauth ??= {});
const account = (r: Draft) => (r.account ??= {});
const timeouts = (r: Draft) => (r.timeouts ??= {});

function bool(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (['true', 'yes', '1', 'y'].includes(s)) return true;
  if (['false', 'no', '0', 'n'].includes(s)) return false;
  return undefined;
}

export async function readBatchFile(path: string): Promise<ParsedBatchFile> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new BatchFileError(`cannot read ${path}: no such file`);
  }
  if (size > MAX_FILE_BYTES) {
    throw new BatchFileError(
      `${path} is ${(size / 1048576).toFixed(0)} MB; the limit is ${MAX_FILE_BYTES / 1048576} MB: split it into several batches`,
    );
  }
  const ext = extname(path).toLowerCase();
  const format = ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : undefined;
  if (!format) throw new BatchFileError(`${path}: name the file .csv or .jsonl so its format is clear`);
  const batch = new BatchBuilder(format);
  try {
    if (format === 'csv') {
      const drafts = new CsvDrafts();
      for await (const record of streamCsv(createReadStream(path))) batch.add(drafts.next(record));
      drafts.finish();
    } else {
      const input = createReadStream(path, 'utf8');
      try {
        // crlfDelay: a CRLF split across two reads is still one line break.
        const lines = createInterface({ input, crlfDelay: Infinity });
        let line = 0;
        for await (const text of lines) batch.add(jsonlDraft(text, ++line));
      } finally {
        input.destroy(); // closing readline leaves its input open when we stop early (too many rows)
      }
    }
  } catch (err) {
    throw asBatchFileError(err, path);
  }
  return batch.result();
}

/** The same parsing for a file's content already in memory (the gateway's request bodies). */
export function parseBatchText(text: string | Buffer, format: 'csv' | 'jsonl'): ParsedBatchFile {
  const batch = new BatchBuilder(format);
  try {
    if (format === 'csv') {
      const drafts = new CsvDrafts();
      for (const record of readCsv(text)) batch.add(drafts.next(record));
      drafts.finish();
    } else {
      // The line breaks node:readline splits a file on, so a body and a file number their lines alike.
      String(text)
        .split(/\r\n|\n|\r/)
        .forEach((line, i) => batch.add(jsonlDraft(line, i + 1)));
    }
  } catch (err) {
    throw asBatchFileError(err);
  }
  return batch.result();
}

function asBatchFileError(err: unknown, path?: string): unknown {
  if (err instanceof CsvSyntaxError) return new BatchFileError(`malformed CSV: ${err.message}`);
  // A read error (EISDIR, EACCES) from the file stream; not `instanceof Error`, which fails across realms.
  const code = (err as { code?: unknown } | null)?.code;
  if (path && typeof code === 'string' && !(err instanceof BatchFileError)) {
    return new BatchFileError(`cannot read ${path}: ${code}`);
  }
  return err;
}

type Draft0 = { line: number; request: unknown } | { line: number; error: string };

/** Validates drafts into rows and rejected lines, one at a time, so a file is never held twice. */
class BatchBuilder {
  private readonly rows: BatchRow[] = [];
  private readonly rejected: BatchFailure[] = [];
  private readonly firstLineOf = new Map<string, number>();
  private total = 0;

  constructor(private readonly format: 'csv' | 'jsonl') {}

  add(draft: Draft0 | undefined): void {
    if (!draft) return;
    this.total += 1;
    if (this.total > MAX_ROWS) {
      throw new BatchFileError(`the file has more than ${MAX_ROWS} rows: split it into several batches`);
    }
    if ('error' in draft) {
      this.rejected.push({ line: draft.line, type: Failure.InvalidRow, message: draft.error });
      return;
    }
    const parsed = parseProvisioningRequest(draft.request);
    if (!parsed.ok) {
      // A rejected row is an InvalidRow however it is wrong (the README's contract); the message names the field.
      this.rejected.push({ line: draft.line, type: Failure.InvalidRow, message: formatInvalidFields(parsed.errors) });
      return;
    }
    const workflowId = provisioningWorkflowId(parsed.request);
    const first = this.firstLineOf.get(workflowId);
    if (first !== undefined) {
      this.rejected.push({
        line: draft.line,
        workflowId,
        type: Failure.DuplicateRow,
        message: `same account and install name as line ${first} (${workflowId}); the first row is kept`,
      });
      return;
    }
    this.firstLineOf.set(workflowId, draft.line);
    this.rows.push({ line: draft.line, request: parsed.request });
  }

  result(): ParsedBatchFile {
    if (this.total === 0) throw new BatchFileError('the file has no rows');
    return { format: this.format, rows: this.rows, rejected: this.rejected, total: this.total };
  }
}

/** CSV records to drafts: the first record is the header, checked once; each later one fills a request by column. */
class CsvDrafts {
  private header: string[] | undefined;

  next({ line, fields }: CsvRecord): Draft0 | undefined {
    const header = this.header;
    if (!header) {
      this.header = checkHeader(fields.map((h) => h.trim()));
      return undefined;
    }
    if (fields.length !== header.length) {
      return { line, error: `has ${fields.length} columns; the header has ${header.length}` };
    }
    const draft: Draft = {};
    const errors: string[] = [];
    header.forEach((column, i) => {
      const value = fields[i]!;
      if (value === '') return; // an empty cell is an absent field
      if (column.startsWith('property.')) {
        (draft.properties ??= []).push({ name: column.slice('property.'.length), value });
      } else {
        COLUMNS[column]!(draft, value, errors);
      }
    });
    return errors.length ? { line, error: errors.join('; ') } : { line, request: draft };
  }

  finish(): void {
    if (!this.header) throw new BatchFileError('the file is empty: a CSV batch starts with a header row');
  }
}

/** The CSV columns a header may name, besides `property.<Name>` (the README's table lists the same). */
export const CSV_COLUMNS: readonly string[] = Object.keys(COLUMNS);

function checkHeader(header: string[]): string[] {
  const unknown = header.filter((h) => !(h in COLUMNS) && !/^property\..+/.test(h));
  if (unknown.length) {
    throw new BatchFileError(
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} in the header (line 1); ` +
        `columns are ${CSV_COLUMNS.join(', ')}, and property.<Name> for properties`,
    );
  }
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new BatchFileError(`column "${h}" appears twice in the header (line 1)`);
    seen.add(h);
  }
  if (!seen.has('accountId')) throw new BatchFileError('the header (line 1) needs an accountId column');
  return header;
}

function jsonlDraft(text: string, line: number): Draft0 | undefined {
  const raw = text.trim();
  if (!raw) return undefined;
  try {
    return { line, request: JSON.parse(raw) as unknown };
  } catch {
    // JSON.parse's message quotes the text, which may hold a secret: say what is wrong without it.
    return { line, error: 'not valid JSON: each line must be one JSON object' };
  }
}
