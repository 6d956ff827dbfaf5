/**
 * The batch store's objects in an S3-compatible bucket (BATCH_STORE_URL=s3://bucket/prefix), so that gateways and
 * workers on different hosts share one store without a network file system. Endpoint, region and credentials come
 * from the standard AWS settings (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION, and the SDK's own credential
 * chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, or an instance or pod role).
 *
 * `create` is a conditional write (`If-None-Match: *`), which S3 and MinIO refuse with 412 when the key is taken.
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { BatchStoreUnavailableError, type ObjectStore } from './object-store.js';

export interface S3StoreOptions {
  bucket: string;
  /** Prepended to every key (no leading or trailing "/"); empty: the bucket's root. */
  prefix?: string;
  region?: string;
  /** An S3-compatible server's URL (MinIO, Ceph, R2...); unset: AWS's own endpoint for the region. */
  endpoint?: string;
  /** Path-style URLs (endpoint/bucket/key), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Unset: the SDK's default chain (environment, profile, instance or pod role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** How long one request may take to connect, and in all; the SDK retries each request up to 3 times. */
const CONNECTION_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 30_000;

export class S3ObjectStore implements ObjectStore {
  readonly where: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.where = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}${options.endpoint ? ` (${options.endpoint})` : ''}`;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    });
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return await answer.Body!.transformToString('utf8');
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw this.unavailable(err);
    }
  }

  async put(key: string, body: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), ...content(body) }));
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async create(key: string, body: string): Promise<boolean> {
    // 409: another conditional write of the same key was in progress; S3 asks to try again, and then sees it.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), ...content(body), IfNoneMatch: '*' }),
        );
        return true;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412) return false;
        if (status === 409 && attempt < 5) {
          await new Promise((r) => setTimeout(r, 100 * attempt));
          continue;
        }
        throw this.unavailable(err);
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listUnder(prefix)).objects;
  }

  async folders(prefix: string): Promise<string[]> {
    return (await this.listUnder(prefix)).folders;
  }

  /** One listing, "/"-delimited: the objects directly under `prefix/` and the folders below it, by name. */
  private async listUnder(prefix: string): Promise<{ objects: string[]; folders: string[] }> {
    const under = `${this.key(prefix)}/`;
    const objects: string[] = [];
    const folders: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: under, Delimiter: '/', ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key) objects.push(object.Key.slice(under.length));
        for (const folder of page.CommonPrefixes ?? []) {
          if (folder.Prefix) folders.push(folder.Prefix.slice(under.length, -1));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.unavailable(err);
    }
    return { objects, folders };
  }

  /** Closes the client's connections (tests; processes simply exit). */
  destroy(): void {
    this.client.destroy();
  }

  private unavailable(err: unknown): BatchStoreUnavailableError {
    return new BatchStoreUnavailableError(`the batch store at ${this.where} cannot be used: ${describe(err)}`, {
      cause: err,
    });
  }
}

/** A body of known length (a bare string makes the SDK warn of a stream of unknown length). */
function content(body: string) {
  const bytes = Buffer.from(body, 'utf8');
  return { Body: bytes, ContentLength: bytes.length, ContentType: 'application/json' };
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** A missing key, not a missing bucket (also a 404, and a configuration fault). */
function isNoSuchKey(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  return err.name === 'NoSuchKey' || (statusOf(err) === 404 && err.name !== 'NoSuchBucket');
}

/** The error's name and message, and the network code underneath when there is one (ECONNREFUSED...). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const status = statusOf(err);
  const parts = [err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message];
  if (code && !err.message.includes(code)) parts.push(`(${code})`);
  if (status) parts.push(`(HTTP ${status})`);
  return parts.join(' ');
}
