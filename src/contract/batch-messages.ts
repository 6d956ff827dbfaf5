/** Messages between provisionBatch, its children, and the clients that watch it. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { ProvisioningRequest } from './request.js';
import type { Stage } from './stages.js';

/** One valid row of a batch file: its request and where it stood in the file. */
export interface BatchRow {
  line: number;
  request: ProvisioningRequest;
}

/** Sent by a provisionConnector child to its batch when it reaches awaiting-consent and when it ends. */
export interface BatchItemUpdate {
  workflowId: string;
  stage: Stage;
  error?: { type: string; message: string };
}

export interface BatchFailure {
  /** Absent for a row rejected before it had a valid request (it never had a workflow id). */
  workflowId?: string;
  /** 1-based line of the input file, when known. */
  line?: number;
  type: string;
  message: string;
}

export interface BatchProgress {
  batchId?: string;
  /** Rows in the file, bad rows included. */
  total: number;
  /** Children started (or found already started by an earlier run of the same batch). */
  started: number;
  completed: number;
  /** Bad rows, rows whose connector could not be resolved, and failed or expired children. */
  failed: number;
  awaitingConsent: number;
  cancelled: number;
  /** Children started and not yet final nor awaiting consent. */
  inFlight?: number;
  /** Rows left unstarted because the batch was cancelled. */
  notStarted?: number;
  /** `failed`: the batch ended on an error of its own (see `problem`), not on its rows' outcomes. */
  state?: 'running' | 'cancelling' | 'completed' | 'cancelled' | 'failed';
  startedAt?: string;
  finishedAt?: string;
  /** Bounded: the first failures, enough to act on; the failures file holds them all. */
  failures: BatchFailure[];
  /** Rows run so far by each worker (its Temporal identity), for batches whose rows run as slices (v3). */
  rowsByWorker?: Record<string, number>;
  /** Why fewer requests are in flight than `concurrency` asks: a per-worker setting, named, and its value. */
  limitedBy?: ConcurrencyCap[];
  /**
   * The counts over the batch's run as the batch recorded them (a point at most every 2 s while it runs, the last at
   * its end; thinned to at most 240), so a chart of a finished batch shows its whole run.
   */
  timeline?: ProgressPoint[];
  /**
   * Why the batch is held or ended, as Temporal records it (the client reads it beside the progress; the workflow
   * does not set it): a step retrying past an error (a batch store that cannot be reached), or what failed it (a
   * page no worker can open). Absent while nothing is wrong.
   */
  problem?: BatchProblem;
}

/** One point of a batch's recorded progress, at the batch's own time (ISO 8601, UTC). */
export interface ProgressPoint {
  at: string;
  completed: number;
  failed: number;
  awaitingConsent: number;
}

export interface BatchProblem {
  /** A failure type (`Failure.X`), e.g. BatchStoreUnavailable or BatchPageUnreadable. */
  type: string;
  message: string;
  /** True: the batch is held, retrying (see `attempt`, `nextAttemptAt`); false: the batch ended on it. */
  retrying: boolean;
  /** The retried step's attempt now running or next (2 is its first retry). */
  attempt?: number;
  nextAttemptAt?: string;
}

/** A per-worker setting that holds a batch's requests in flight below its window. */
export interface ConcurrencyCap {
  /** The environment variable, e.g. CYCLR_MAX_CONCURRENT_REQUESTS. */
  setting: string;
  value: number;
  /** The worker it was seen on (its Temporal identity), when a worker reported it. */
  worker?: string;
  message: string;
}

/** What `provisionBatch` is started with; the rows themselves stay in the batch store (see src/batch/store.ts). */
export interface BatchRequest {
  batchId: string;
  /** Valid rows in the store. */
  rows: number;
  pageSize: number;
  /** Rows rejected before the start (bad or duplicate), counted as failed. */
  rejected: { count: number; sample: BatchFailure[] };
  /** Children running at once (the window). Default 50. */
  concurrency?: number;
  /** Items started per run before continue-as-new. Default 1000. */
  continueAsNewAfter?: number;
  /** How long without news before the batch asks Temporal about its in-flight children. Default "1m". */
  reconcileEvery?: string;
}

/** What a run of batch rows (one activity, many rows) reports while it works: counts so far, new failures. */
export interface RowsProgress {
  fromRow: number;
  completed: number;
  failed: number;
  inFlight: number;
  /** Failures since the last report (bounded). */
  failures: BatchFailure[];
  /** The worker running these rows and any setting of its that holds their window lower (slices, v3). */
  worker?: string;
  cap?: ConcurrencyCap;
}

/** The rows of a run: outcomes counted, and the rows that need a customer's consent (they run as children). */
export interface RowsResult {
  fromRow: number;
  /** Rows before this index were taken (all of them, unless the batch was cancelled meanwhile). */
  takenTo: number;
  completed: number;
  failed: number;
  /** Of the failed, those that failed before anything reached the account (an unknown connector, a bad row). */
  unstarted: number;
  consentRows: BatchRow[];
  /** The first failures of these rows (bounded); all of them are in the store's failures file. */
  failures: BatchFailure[];
  /** The worker that ran these rows (its Temporal identity) and any setting of its that held their window lower. */
  worker?: string;
  cap?: ConcurrencyCap;
}

export const batchItemSignal = defineSignal<[BatchItemUpdate]>('batchItem');
/** From the rows activity to its batch, about once a second; the answer tells it to stop taking rows (cancelled). */
export const rowsProgressUpdate = defineUpdate<{ stop: boolean }, [RowsProgress]>('rowsProgress');
export const progressQuery = defineQuery<BatchProgress>('progress');
export const batchCancelSignal = defineSignal<[{ reason?: string }?]>('cancel');

/** Failures kept in the query result; the failures file in the batch store holds every one. */
export const MAX_FAILURES_IN_PROGRESS = 100;
/** Temporal allows 2,000 pending children per run; both limits keep well below it. */
export const MAX_CONCURRENCY = 1000;

/** A batch id as people give it (`--batch-id`, `"batchId"`, `?batchId=`); the store names its files by it. */
export const BATCH_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const BATCH_ID_HINT =
  'use 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit (or omit it: the id then comes from the content)';
const CONCURRENCY_HINT = `must be a whole number from 1 to ${MAX_CONCURRENCY}`;
const ROWS_HINT = 'is required: a non-empty array of provisioning requests';

export const batchIdSchema = z
  .string({ invalid_type_error: BATCH_ID_HINT })
  .regex(BATCH_ID_PATTERN, BATCH_ID_HINT)
  .describe('Default: derived from the rows, so the same rows are the same batch.');

export const concurrencySchema = z
  .number({ invalid_type_error: CONCURRENCY_HINT })
  .int(CONCURRENCY_HINT)
  .min(1, CONCURRENCY_HINT)
  .max(MAX_CONCURRENCY, CONCURRENCY_HINT)
  .describe('Children at once (default 50).');

/** Digits as a string (a query parameter, or a CSV-minded caller's JSON) count as the number they spell. */
const digitsAsNumber = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), schema);

/**
 * One row of a JSON batch. Deliberately unchecked here: each row is checked on its own against the provisioning
 * request schema, and a bad row is reported with its line while the others run.
 */
export const batchRowSchema = z
  .unknown()
  .describe('A provisioning request; a bad row is reported as "line N" and the other rows still run.');

const BODY_HINT =
  'send JSON {"rows": [request, ...], "batchId"?, "concurrency"?}, or a file with Content-Type text/csv or application/x-ndjson';

/** `POST /batches` with a JSON body. */
export const batchBodySchema = z
  .object(
    {
      rows: z
        .array(batchRowSchema, { required_error: ROWS_HINT, invalid_type_error: ROWS_HINT })
        .min(1, ROWS_HINT)
        .describe('Row N is reported as "line N".'),
      batchId: batchIdSchema.optional(),
      concurrency: digitsAsNumber(concurrencySchema).optional(),
    },
    { required_error: BODY_HINT, invalid_type_error: BODY_HINT },
  )
  .strict('the fields are rows, batchId and concurrency');

/** `POST /batches` with a CSV or JSONL body, which has no envelope: the options are query parameters. */
export const batchFileQuerySchema = z
  .object({ batchId: batchIdSchema.optional(), concurrency: digitsAsNumber(concurrencySchema).optional() })
  .strict('the parameters are batchId and concurrency');

export type BatchBody = z.infer<typeof batchBodySchema>;

const wholeNumber = (message: string) =>
  z.number({ required_error: message, invalid_type_error: message }).int(message);

/** What provisionBatch checks of its input before it starts anything (see BatchRequest). */
export const batchRequestSchema = z.object({
  batchId: z.string({ required_error: 'is required', invalid_type_error: 'is required' }).min(1, 'is required'),
  rows: wholeNumber('must be a whole number').min(0, 'must be a whole number'),
  pageSize: wholeNumber('must be a positive whole number').min(1, 'must be a positive whole number'),
  concurrency: concurrencySchema.optional(),
});
