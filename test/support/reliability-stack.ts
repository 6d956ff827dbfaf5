/**
 * What the fault-and-crash suite needs beyond the shared harness: its own Temporal dev server on a SQLite file (so
 * it can stop and restart it), retries around client calls that may land during that restart, and listing helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { ProvisioningError, type ProvisioningClient } from '../../src/client.js';
import { startDevServer, type DevServer } from '../../dev/local-stack/dev-server.js';

/** A dev server that can be stopped and brought back on the same port with the same database file. */
export class RestartableDevServer {
  private server?: DevServer;
  private readonly dir = mkdtempSync(join(tmpdir(), 'reliability-'));
  readonly dbFilename = join(this.dir, 'temporal.sqlite');
  port?: number;

  get address(): string {
    if (!this.port) throw new Error('dev server not started');
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // A port picked free can be taken before the server binds it, and a just-stopped server's port can linger:
    // try again rather than fail the suite on the machine's timing.
    for (let attempt = 1; ; attempt++) {
      try {
        this.server = await startDevServer({
          dbFilename: this.dbFilename,
          headless: true,
          port: this.port,
          stdio: process.env.RELIABILITY_DEBUG ? 'inherit' : 'ignore',
        });
        this.port = Number(this.server.address.split(':').pop());
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(1000);
      }
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retries a client call while the server is unreachable (restart, connection refused). ProvisioningErrors are
 * answers, not outages, so they are thrown at once.
 */
export async function retrying<T>(fn: () => Promise<T>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 200;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ProvisioningError || Date.now() > deadline) {
        if (err instanceof Error) err.message = `${what}: ${err.message}`;
        throw err;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/** Ids of the workflows on a task queue matching a visibility query (all pages). */
export async function listIds(client: ProvisioningClient, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.temporal.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  return pLimit(limit).map(items, fn);
}
