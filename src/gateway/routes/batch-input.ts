/**
 * What `POST /batches` takes, as batch text for the same reader as `provisioner batch`: JSON `{ rows, batchId?,
 * concurrency? }` (the rows become JSONL, one row a line, so row N is "line N" as in a file), or a CSV / JSONL file,
 * whose options are query parameters. Rows carry secrets (authValue): nothing here echoes a row's values.
 */
import type { FastifyInstance } from 'fastify';
import { BatchFileError, parseBatchText, type ParsedBatchFile } from '../../batch/parse-file.js';
import { batchBodySchema, type BatchBody } from '../../contract/batch-messages.js';
import { describeIssues, type InvalidField } from '../../contract/request.js';
import { GatewayError, invalidRequest } from '../errors.js';
import { Failure } from '../../contract/failures.js';

/** A batch file travels in one request; bigger ones go through the CLI, which reads from disk (or are split). */
export const MAX_BATCH_BODY_BYTES = 50 * 1024 * 1024;
/** Rejected rows listed in a response; `rejectedCount` has them all, and the batch's failures record keeps them. */
export const MAX_REJECTED_SHOWN = 1000;

export const FILE_TYPES = {
  'text/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
} as const;

type FileType = keyof typeof FILE_TYPES;

/** In `scope` only: CSV and JSONL bodies arrive as text. Plain text could be either: ask for the type that says. */
export function acceptBatchFiles(scope: FastifyInstance): void {
  for (const type of Object.keys(FILE_TYPES)) {
    scope.addContentTypeParser(type, { parseAs: 'string' }, (_request, text, done) => done(null, text.toString()));
  }
  scope.removeContentTypeParser('text/plain');
}

export interface BatchInput {
  format: 'csv' | 'jsonl';
  text: string;
  batchId?: string;
  concurrency?: number;
}

/** The request, its body and query already checked by the route's schemas, as batch text and options. */
export function batchInput(request: {
  mediaType: string | undefined;
  body: unknown;
  query: { batchId?: string; concurrency?: number };
}): BatchInput {
  const format = FILE_TYPES[request.mediaType as FileType] as BatchInput['format'] | undefined;
  if (format) return { format, text: request.body as string, ...request.query };
  const { rows, batchId, concurrency } = request.mediaType ? (request.body as BatchBody) : unchecked(request.body);
  return { format: 'jsonl', text: rows.map((row) => JSON.stringify(row)).join('\n'), batchId, concurrency };
}

/** A request without a content type had no schema check: refuse it in the words the schema would use. */
function unchecked(body: unknown): BatchBody {
  const checked = batchBodySchema.safeParse(body);
  if (!checked.success) throw invalidRequest(describeIssues(checked.error.issues));
  return checked.data;
}

function lineFields(rejected: ParsedBatchFile['rejected']): InvalidField[] {
  return rejected.map((r) => ({ path: r.line !== undefined ? `line ${r.line}` : '(row)', message: r.message }));
}

/** The rows, each checked against the provisioning request schema; a batch with no valid row is refused whole. */
export function parseBatch(input: BatchInput): ParsedBatchFile {
  let parsed: ParsedBatchFile;
  try {
    parsed = parseBatchText(input.text, input.format);
  } catch (err) {
    if (err instanceof BatchFileError) {
      throw new GatewayError(400, Failure.InvalidBatch, err.message, [{ path: '(file)', message: err.message }]);
    }
    throw err;
  }
  if (parsed.rows.length === 0) {
    // Nothing would run: refuse the whole batch rather than store and start an empty one.
    const shown = parsed.rejected.slice(0, 20);
    const more = parsed.rejected.length - shown.length;
    throw new GatewayError(
      400,
      Failure.InvalidBatch,
      `no valid rows: ${shown.map((r) => `line ${r.line}: ${r.message}`).join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
      lineFields(parsed.rejected.slice(0, MAX_REJECTED_SHOWN)),
    );
  }
  return parsed;
}
