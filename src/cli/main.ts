/**
 * `provisioner`: the support and batch CLI. Human-readable output by default, JSON with --json.
 * Each command lives in `commands/<name>.ts`; this file only dispatches and turns errors into exit codes.
 */
import { BatchError } from '../batch/batch-client.js';
import { InvalidRequestError, ProvisioningError } from '../client.js';
import { ConfigError } from '../config.js';
import { CliRefusal, UsageError, type CliCommand } from './command.js';
import { authUrlCommand } from './commands/auth-url.js';
import { batchCommand } from './commands/batch.js';
import { batchCancelCommand, batchStatusCommand } from './commands/batch-status.js';
import { cancelCommand } from './commands/cancel.js';
import { completeCommand } from './commands/complete.js';
import { linkCommand } from './commands/link.js';
import { listCommand } from './commands/list.js';
import { reconnectCommand } from './commands/reconnect.js';
import { removeCommand } from './commands/remove.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';

/** Add a command: one module in commands/ and one entry here. */
const commands: CliCommand[] = [
  startCommand,
  statusCommand,
  listCommand,
  linkCommand,
  authUrlCommand,
  completeCommand,
  cancelCommand,
  reconnectCommand,
  removeCommand,
  batchCommand,
  batchStatusCommand,
  batchCancelCommand,
];

const FILTERS_HELP = `FILTERS (list, and the bulk forms of link/complete/cancel/remove):
  --stage S  --account A  --connector C  --batch B  --older-than 14d  --limit N
  bulk actions touch running provisionings only (remove: any not removed yet): preview with --dry-run,
  then confirm (or pass --yes)
  --ids FILE  instead of filters: the ids a file lists, one a line (# comments); e.g. offboarding a list`;

function usage(): string {
  return [
    'usage: provisioner <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.usage}`),
    '',
    FILTERS_HELP,
    '',
    'options: --json  machine-readable output;  -h, --help',
  ].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command)
    throw new UsageError(`unknown command "${name}"; commands are ${commands.map((c) => c.name).join(', ')}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: provisioner ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // A usage mistake in a command is answered with that command's usage, not the whole list.
    if (err instanceof UsageError) throw new UsageError(err.message, `provisioner ${command.usage}`);
    throw err;
  }
}

function fail(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}\n${err.usage ? `usage: ${err.usage}` : '(see "provisioner --help")'}`);
    return 2;
  }
  if (err instanceof CliRefusal) {
    console.error(`error: ${err.message}`);
    return 1;
  }
  if (err instanceof InvalidRequestError) {
    console.error('error: invalid request');
    for (const f of err.fields) console.error(`  ${f.path}: ${f.message}`);
    return 2;
  }
  if (err instanceof ConfigError) {
    for (const p of err.problems) console.error(`config error: ${p}`);
    return 2;
  }
  if (err instanceof ProvisioningError || err instanceof BatchError) {
    console.error(`error (${err.type}): ${err.message}`);
    return 1;
  }
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(fail(err)),
);
