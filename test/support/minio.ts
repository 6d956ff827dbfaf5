/**
 * A real S3-compatible server for the batch store's tests: MinIO (`go install github.com/minio/minio@latest`, which
 * .ci/run does when it is missing), on a free port, over a temporary data directory, with a bucket made through the
 * AWS SDK. It can be stopped and started again on the same port and data, to show a store that cannot be reached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export const MINIO_USER = 'minio-test-user';
export const MINIO_PASSWORD = 'minio-test-password-0123456789';

export interface Minio {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A new, empty bucket. */
  createBucket(name: string): Promise<void>;
  /** The environment that points a process's BATCH_STORE_URL at `s3://bucket/prefix` on this server. */
  env(bucket: string, prefix?: string): NodeJS.ProcessEnv;
  /** Stops the server (the store becomes unreachable); `start` brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function minioBinary(): string {
  const onPath = (process.env.PATH ?? '').split(':').map((d) => join(d, 'minio'));
  const found = [...onPath, join(homedir(), 'go', 'bin', 'minio')].find((p) => existsSync(p));
  if (!found) throw new Error('minio not found: go install github.com/minio/minio@latest (as .ci/run does)');
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startMinio(): Promise<Minio> {
  const dataDir = mkdtempSync(join(tmpdir(), 'minio-'));
  const [port, consolePort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: MINIO_USER, secretAccessKey: MINIO_PASSWORD };
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    output = '';
    child = spawn(
      minioBinary(),
      ['server', dataDir, '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`],
      {
        env: { ...process.env, MINIO_ROOT_USER: MINIO_USER, MINIO_ROOT_PASSWORD: MINIO_PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`minio exited (${child.exitCode}): ${output}`);
      const live = await fetch(`${endpoint}/minio/health/live`).then(
        (r) => r.ok,
        () => false,
      );
      if (live) return;
      if (Date.now() > deadline) throw new Error(`minio did not start in 60 s: ${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    endpoint,
    credentials,
    async createBucket(name) {
      const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
      try {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        s3.destroy();
      }
    },
    env(bucket, prefix = '') {
      return {
        BATCH_STORE_URL: `s3://${bucket}/${prefix}`,
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: MINIO_USER,
        AWS_SECRET_ACCESS_KEY: MINIO_PASSWORD,
      };
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
