/**
 * Where the batch store keeps its bytes: named objects under one root, read and written whole. Two kinds, chosen by
 * configuration (BatchStore.fromConfig): a directory (the local stack's default, or a shared volume) and an
 * S3-compatible bucket (BATCH_STORE_URL=s3://bucket/prefix). The batch store's layout, sealing and namespacing sit
 * above this, the same for both.
 *
 * Keys are "/"-separated relative names built by the batch store from checked parts (no "..", no leading "/").
 */
export interface ObjectStore {
  /** Where the objects are, for messages: a directory path or s3://bucket/prefix. */
  readonly where: string;
  /** The object's text, or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  /** Writes the object whole (a reader sees the old or the new one, never a part). */
  put(key: string, body: string): Promise<void>;
  /** Writes the object only if none has this key; false when one had (it is left as it was). */
  create(key: string, body: string): Promise<boolean>;
  /** The names of the objects directly under `prefix/` (not below a further "/"), in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** The names of the folders directly under `prefix/` (keys continue below them), in no particular order. */
  folders(prefix: string): Promise<string[]>;
}

/**
 * The store could not be read or written (unreachable, refused, out of space): retryable, and named with its cause
 * so that a batch held by it says why.
 */
export class BatchStoreUnavailableError extends Error {
  readonly type = 'BatchStoreUnavailable';
}
