/** Running the `provisioner` CLI as a user would: a separate process, its exit code and both output streams. */
import { execFile } from 'node:child_process';
import { PROJECT_ROOT } from '../../dev/local-stack/processes.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/provisioner.js', ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
