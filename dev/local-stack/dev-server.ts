/** Starts the Temporal dev server with our search attributes registered. Used by the local stack and the tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes.js';
import { ensureTemporalCli } from './temporal-cli.js';

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** Persist state to this SQLite file so a restart loses nothing. */
  dbFilename?: string;
  headless?: boolean;
  /** The remote codec the Web UI decodes payloads through, e.g. http://localhost:8080/codec (see src/codec/server.ts). */
  uiCodecEndpoint?: string;
  /** Dynamic config values (key -> value, as JSON), e.g. a lower limit a test runs against. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Where the server's own output goes; default: discarded. */
  stdio?: 'inherit' | 'ignore';
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  // A port picked at random can be taken between the pick and the bind: pick again, up to three times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await freePort()));
    } catch (err) {
      if (options.port !== undefined || attempt >= 3) throw err;
    }
  }
}

async function startOnce(options: DevServerOptions, port: number): Promise<DevServer> {
  const cli = ensureTemporalCli();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'];
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort ?? port + 1000));
  if (options.uiCodecEndpoint && !options.headless) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  const child = spawn(cli, args, { stdio: ['ignore', options.stdio ?? 'ignore', 'pipe'], detached: false });
  // Kept so a server that will not start can say why.
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (options.stdio === 'inherit') process.stderr.write(chunk);
  });
  const address = `127.0.0.1:${port}`;
  try {
    await waitForServer(address, child);
  } catch (err) {
    await stopProcess(child);
    throw new Error(`${err instanceof Error ? err.message : String(err)}${stderr ? `\n${stderr.trim()}` : ''}`);
  }
  return {
    address,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${options.uiPort ?? port + 1000}`,
    process: child,
    stop: () => stopProcess(child),
  };
}

async function waitForServer(address: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal dev server at ${address} did not come up: ${String(lastError)}`);
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
