/** Starting our own services as child processes: the local stack, the tests and the benchmarks all use this. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  name: string;
  process: ChildProcess;
  /** Everything the process printed so far (stdout and stderr), for assertions and diagnostics. */
  output(): string;
  /** Resolves when a line of output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartServiceOptions {
  name: string;
  /** An entry point relative to the project root: a .ts file runs with tsx, JavaScript (dist/) plain. */
  script: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Echo the process's output with a `[name]` prefix. */
  echo?: boolean;
}

export function startService({ name, script, args = [], env, echo }: StartServiceOptions): ServiceProcess {
  const entry = script.endsWith('.ts') ? ['--import', 'tsx', script] : [script];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (echo) for (const line of text.split('\n').filter(Boolean)) console.log(`[${name}] ${line}`);
    for (const w of [...waiters]) {
      const m = output.match(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    name,
    process: child,
    output: () => output,
    waitFor(pattern, timeoutMs = 60_000) {
      const m = output.match(pattern);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms. Output:\n${output}`)),
          timeoutMs,
        );
        const onExit = (code: number | null) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before ${pattern}. Output:\n${output}`));
        };
        child.once('exit', onExit);
        waiters.push({
          pattern,
          resolve: (match) => {
            clearTimeout(timer);
            child.off('exit', onExit);
            resolve(match);
          },
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(signal);
      });
    },
  };
}
