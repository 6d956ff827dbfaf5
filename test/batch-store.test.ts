/**
 * The batch store on both of its kinds: a directory, and a real S3-compatible server (MinIO, started here). The same
 * cases run on each: pages sealed at rest, one batch per id, row records and failures, namespaces kept apart, a page
 * no key opens, and a store that cannot be reached.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DirectoryObjectStore } from '../src/batch/directory-store.js';
import { BatchStoreUnavailableError, type ObjectStore } from '../src/batch/object-store.js';
import { S3ObjectStore } from '../src/batch/s3-store.js';
import { BatchConflictError, BatchNotFoundError, BatchPageUnreadableError, BatchStore } from '../src/batch/store.js';
import { loadConfig as loadAnyConfig, type Key } from '../src/config.js';
import type { BatchRow } from '../src/contract/batch-messages.js';
import { initialStatus } from '../src/contract/messages.js';
import { startMinio, type Minio } from './support/minio.js';

/** A CLI's configuration (it opens the batch store too), in development so the payload key may default. */
const loadConfig = (env: NodeJS.ProcessEnv) => loadAnyConfig('client', { NODE_ENV: 'development', ...env });

const KEY_NEW: Key = { id: 'new', secret: 'new-batch-store-key-0123456789abcdef' };
const KEY_OLD: Key = { id: 'old', secret: 'old-batch-store-key-0123456789abcdef' };
const SECRET = 'row-authValue-SECRET-4242';

let minio: Minio;
let root: string;

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  root = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'batch-store-'));
  minio = await startMinio();
});

afterAll(async () => {
  await minio?.close();
  rmSync(root, { recursive: true, force: true });
});

function rows(count: number, tag = 'r'): BatchRow[] {
  return Array.from({ length: count }, (_, i) => ({
    line: i + 1,
    request: { accountId: `${tag}-${i}`, connector: { id: 7 }, authValue: `${SECRET}-${i}` },
  }));
}

let buckets = 0;

interface Kind {
  name: string;
  /** A fresh, empty place for objects (a directory, or a new bucket). */
  fresh(): Promise<ObjectStore>;
  /** Every object's text in that place, to look at what is at rest. */
  everything(objects: ObjectStore): Promise<string>;
  /** A store of this kind that cannot be used. */
  unreachable(): ObjectStore;
}

const KINDS: Kind[] = [
  {
    name: 'a directory',
    async fresh() {
      return new DirectoryObjectStore(mkdtempSync(join(root, 'dir-')));
    },
    async everything(objects) {
      const files = readdirSync(objects.where, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      return files.map((f) => readFileSync(join(f.parentPath, f.name), 'utf8')).join('\n');
    },
    unreachable() {
      // A file where the store's directory should be: every read and write fails (ENOTDIR).
      const blocked = join(root, `blocked-${Date.now()}`);
      writeFileSync(blocked, 'not a directory');
      return new DirectoryObjectStore(join(blocked, 'store'));
    },
  },
  {
    name: 'S3 (a real MinIO server)',
    async fresh() {
      const bucket = `store-test-${++buckets}-${Date.now().toString(36)}`;
      await minio.createBucket(bucket);
      return new S3ObjectStore({
        bucket,
        prefix: 'team/batches',
        endpoint: minio.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: minio.credentials,
      });
    },
    async everything(objects) {
      const { bucket } = objects as unknown as { bucket: string };
      const s3 = new S3Client({
        endpoint: minio.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: minio.credentials,
      });
      try {
        const texts: string[] = [];
        const walk = async (prefix: string): Promise<void> => {
          for (const name of await objects.list(prefix)) texts.push((await objects.get(`${prefix}/${name}`))!);
        };
        for (const ns of ['ns-a', 'ns-b', 'default']) {
          for (const sub of ['pages', 'failures']) {
            for (const id of ['sealed']) await walk(`${ns}/batches/${id}/${sub}`);
          }
        }
        // And one object read straight through the SDK, to be sure the store's own reads hide nothing.
        const raw = await s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: 'team/batches/ns-a/batches/sealed/pages/0.json' }),
        );
        texts.push(await raw.Body!.transformToString());
        return texts.join('\n');
      } finally {
        s3.destroy();
      }
    },
    unreachable() {
      // Nothing listens on port 9 (discard) here: the connection is refused.
      return new S3ObjectStore({
        bucket: 'nowhere',
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: minio.credentials,
      });
    },
  },
];

describe.each(KINDS)('the batch store on $name', (kind) => {
  test('pages come back in order and are sealed at rest: no row secret in any object', async () => {
    const objects = await kind.fresh();
    const store = new BatchStore(objects, [KEY_NEW], 'ns-a', 'tq');
    const batch = rows(450);
    const { manifest, created } = await store.write('sealed', batch, [], { pageSize: 200 });
    expect(created).toBe(true);
    expect(manifest).toMatchObject({ rows: 450, pages: 3, pageSize: 200 });
    const read: BatchRow[] = [];
    for await (const row of store.rows('sealed')) read.push(row);
    expect(read).toEqual(batch);
    expect((await store.readPage('sealed', 2)).map((r) => r.line)).toEqual(batch.slice(400).map((r) => r.line));
    const atRest = await kind.everything(objects);
    expect(atRest).toContain('"keyId":"new"');
    expect(atRest).not.toContain(SECRET);
  });

  test('one batch per id: the same rows again is the same batch, other rows are refused, also when racing', async () => {
    const store = new BatchStore(await kind.fresh(), [KEY_NEW], 'ns-a', 'tq');
    await store.write('once', rows(5), []);
    await expect(store.write('once', rows(5), [])).resolves.toMatchObject({ created: false });
    await expect(store.write('once', rows(6), [])).rejects.toThrow(BatchConflictError);
    await expect(store.write('once', rows(5, 'other'), [])).rejects.toThrow(/already exists with different rows/);
    // Two submitters of different rows under one new id at once: exactly one wins, the other is refused.
    const raced = await Promise.allSettled([
      store.write('raced', rows(300, 'a'), [], { pageSize: 10 }),
      store.write('raced', rows(300, 'b'), [], { pageSize: 10 }),
    ]);
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(BatchConflictError);
    const winner = (
      raced.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ manifest: { contentHash: string } }>
    ).value;
    const read: BatchRow[] = [];
    for await (const row of store.rows('raced')) read.push(row);
    expect(new Set(read.map((r) => r.request.accountId.split('-')[0])).size).toBe(1);
    expect((await store.manifest('raced')).contentHash).toBe(winner.manifest.contentHash);
  });

  test('row records and failures: appends from many workers at once, last word per row, rejected rows first', async () => {
    const store = new BatchStore(await kind.fresh(), [KEY_NEW], 'ns-a', 'tq');
    const rejected = [{ line: 3, type: 'InvalidRow', message: 'bad' }];
    await store.write('fails', rows(4), rejected);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.appendFailures('fails', [
          { workflowId: `w-${i}`, line: 10 + i, type: 'CyclrNotFound', message: `m${i}` },
        ]),
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    await store.appendFailures('fails', [{ workflowId: 'w-0', line: 10, type: 'NotAuthenticated', message: 'later' }]);
    const failures = await store.failures('fails');
    expect(failures[0]).toEqual(rejected[0]);
    expect(failures).toHaveLength(9);
    expect(failures.find((f) => f.workflowId === 'w-0')).toMatchObject({ type: 'NotAuthenticated', message: 'later' });

    const status = { ...initialStatus(rows(1)[0]!.request), stage: 'completed' as const };
    await store.writeRow({ workflowId: 'provision:x', batchId: 'fails', line: 1, status });
    await expect(store.readRow('provision:x')).resolves.toMatchObject({
      batchId: 'fails',
      status: { stage: 'completed' },
    });
    await expect(store.readRow('provision:nobody')).resolves.toBeUndefined();
    await expect(store.manifest('nope')).rejects.toThrow(BatchNotFoundError);
  });

  test('row records are kept by task queue and account; a record of the older, flat layout is still read', async () => {
    const objects = await kind.fresh();
    const store = new BatchStore(objects, [KEY_NEW], 'ns-a', 'tq-1');
    const otherQueue = new BatchStore(objects, [KEY_NEW], 'ns-a', 'tq-2');
    const row = (workflowId: string, accountId: string) => ({
      workflowId,
      batchId: 'by-account',
      line: 1,
      status: { ...initialStatus(rows(1)[0]!.request), accountId, stage: 'completed' as const },
    });
    await store.writeRow(row('provision:acct-1:a', 'acct-1'));
    await store.writeRow(row('provision:acct-1:b', 'acct-1'));
    await store.writeRow(row('provision:acct-2:a', 'acct-2'));
    expect((await store.accountsWithRows()).sort()).toEqual(['acct-1', 'acct-2']);
    expect((await store.rowsOfAccount('acct-1')).map((r) => r.workflowId).sort()).toEqual([
      'provision:acct-1:a',
      'provision:acct-1:b',
    ]);
    expect(await store.rowsOfAccount('acct-3')).toEqual([]);
    // Another task queue of the same namespace keeps its own.
    expect(await otherQueue.accountsWithRows()).toEqual([]);
    await expect(otherQueue.readRow('provision:acct-1:a')).resolves.toBeUndefined();
    // Recorded before rows were kept by account (rows/<2 hex>/<hash>.json): status still answers; the check skips it.
    const hash = createHash('sha256').update('provision:acct-9:old').digest('hex');
    await objects.put(
      `ns-a/rows/${hash.slice(0, 2)}/${hash}.json`,
      JSON.stringify(row('provision:acct-9:old', 'acct-9')),
    );
    await expect(store.readRow('provision:acct-9:old')).resolves.toMatchObject({ status: { accountId: 'acct-9' } });
    expect((await store.accountsWithRows()).sort()).toEqual(['acct-1', 'acct-2']);
  });

  test("two namespaces sharing the store never see each other's batches or rows", async () => {
    const objects = await kind.fresh();
    const a = new BatchStore(objects, [KEY_NEW], 'ns-a', 'tq');
    const b = new BatchStore(objects, [KEY_NEW], 'ns-b', 'tq');
    await a.write('shared-id', rows(3, 'a'), []);
    // The same id with other rows is another deployment's own batch, not a conflict.
    await expect(b.write('shared-id', rows(2, 'b'), [])).resolves.toMatchObject({ created: true });
    expect((await a.manifest('shared-id')).rows).toBe(3);
    expect((await b.manifest('shared-id')).rows).toBe(2);
    await a.write('only-a', rows(1), []);
    await expect(b.manifest('only-a')).rejects.toThrow(BatchNotFoundError);
    const status = { ...initialStatus(rows(1)[0]!.request), stage: 'completed' as const };
    await a.writeRow({ workflowId: 'provision:same', batchId: 'shared-id', line: 1, status });
    await expect(b.readRow('provision:same')).resolves.toBeUndefined();
    await a.appendFailures('shared-id', [{ workflowId: 'w', type: 'Failed', message: 'a only' }]);
    expect(await b.failures('shared-id')).toEqual([]);
    expect(() => new BatchStore(objects, [KEY_NEW], '../up', 'tq')).toThrow(/TEMPORAL_NAMESPACE/);
  });

  test('a page sealed with a key not held cannot be opened, and says which key; the same rows submitted again are sealed anew', async () => {
    const objects = await kind.fresh();
    const before = new BatchStore(objects, [KEY_OLD], 'ns-a', 'tq');
    await before.write('rotated', rows(3), []);
    const after = new BatchStore(objects, [KEY_NEW], 'ns-a', 'tq');
    const opened = after.readPage('rotated', 0);
    await expect(opened).rejects.toThrow(BatchPageUnreadableError);
    await expect(opened).rejects.toThrow(
      'batch "rotated" page 0 cannot be opened: batch page encrypted with key "old", which PAYLOAD_ENCRYPTION_KEY does not hold',
    );
    // A rotation that keeps the old key still reads it.
    await expect(
      new BatchStore(objects, [KEY_NEW, KEY_OLD], 'ns-a', 'tq').readPage('rotated', 0),
    ).resolves.toHaveLength(3);
    // Submitting the same rows again with the current key seals them with it (the id and its rows are unchanged).
    await expect(after.write('rotated', rows(3), [])).resolves.toMatchObject({ created: false });
    await expect(after.readPage('rotated', 0)).resolves.toEqual(rows(3));
  });

  test('a store that cannot be used says so, naming where it is', async () => {
    const store = new BatchStore(kind.unreachable(), [KEY_NEW], 'ns-a', 'tq');
    const read = store.readPage('any', 0);
    await expect(read).rejects.toThrow(BatchStoreUnavailableError);
    await expect(read).rejects.toThrow(/the batch store at .* cannot be used: /);
    await expect(store.write('any', rows(1), [])).rejects.toThrow(BatchStoreUnavailableError);
  }, 60_000);
});

describe('BATCH_STORE_URL', () => {
  test('s3://bucket/prefix with an endpoint: path-style, region defaulted; without: virtual-hosted', () => {
    const config = loadConfig({
      BATCH_STORE_URL: 's3://team-batches/prod/eu/',
      AWS_ENDPOINT_URL_S3: 'http://minio:9000',
    });
    expect(config.batchStoreS3).toEqual({
      bucket: 'team-batches',
      prefix: 'prod/eu',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    });
    expect(config.batchStoreDir).toBeUndefined();
    expect(loadConfig({ BATCH_STORE_URL: 's3://b-1', AWS_REGION: 'eu-west-1' }).batchStoreS3).toEqual({
      bucket: 'b-1',
      prefix: '',
      region: 'eu-west-1',
      endpoint: undefined,
      forcePathStyle: false,
    });
    expect(
      loadConfig({
        BATCH_STORE_URL: 's3://b-1',
        AWS_ENDPOINT_URL: 'https://s3.example',
        AWS_S3_FORCE_PATH_STYLE: 'false',
      }).batchStoreS3?.forcePathStyle,
    ).toBe(false);
  });

  test('file:// or unset is a directory; bad values name the variable and the fix', () => {
    expect(loadConfig({ BATCH_STORE_URL: 'file:///srv/batches' }).batchStoreDir).toBe('/srv/batches');
    expect(loadConfig({}).batchStoreS3).toBeUndefined();
    expect(() => loadConfig({ BATCH_STORE_URL: 'https://bucket/x' })).toThrow(
      /BATCH_STORE_URL: must be s3:\/\/bucket\/prefix/,
    );
    expect(() => loadConfig({ BATCH_STORE_URL: 's3://Bad_Bucket' })).toThrow(/BATCH_STORE_URL: .*bucket name/);
    expect(() => loadConfig({ BATCH_STORE_URL: 's3://bucket', BATCH_STORE_DIR: '/x' })).toThrow(
      /BATCH_STORE_URL: BATCH_STORE_DIR names another store; set one of them/,
    );
    expect(() => loadConfig({ BATCH_STORE_URL: 's3://bucket', AWS_ACCESS_KEY_ID: 'AKIA0000' })).toThrow(
      /AWS_SECRET_ACCESS_KEY: is required with the other half of the S3 credentials/,
    );
    expect(() => loadConfig({ BATCH_STORE_URL: 's3://bucket', AWS_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      /AWS_S3_FORCE_PATH_STYLE: must be "true" or "false"/,
    );
  });
});
