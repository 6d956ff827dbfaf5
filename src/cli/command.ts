/**
 * The shape every CLI command module has, and the helpers they share. `main.ts` only dispatches by name, so a new
 * command is one module in `commands/` plus one line in main's list.
 */
import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ProvisioningClient } from '../client.js';
import { configWarnings, loadConfig, type ClientConfig } from '../config.js';

export interface CliCommand {
  name: string;
  /** Lines for the top-level help, e.g. `status <id>   where a provisioning stands`. */
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Bad flags or arguments: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command's usage line, when the mistake was made in a command. */
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** A refusal that is not a usage mistake (e.g. nothing confirmed): printed as is, exit code 1. */
export class CliRefusal extends Error {}

export const commonOptions = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Options = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends Options> = { args: string[]; options: O; allowPositionals: true; strict: true };

/**
 * parseArgs with strict flags, so a typo is an error that names the flag instead of being ignored. Its own errors
 * ("Unknown option '--x'. To specify a positional argument starting with a '-', ...") become a UsageError that
 * names the flag and the command's flags; main prints it with the command's usage.
 */
export function parse<O extends Options>(args: string[], options: O): ReturnType<typeof parseArgs<StrictConfig<O>>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageOfParseError(err, options);
  }
}

function flagName(name: string, option: Options[string]): string {
  return `--${name}${option.type === 'string' ? ' <value>' : ''}`;
}

function usageOfParseError(err: unknown, options: Options): unknown {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : '';
  const known = Object.entries(options)
    .map(([name, option]) => flagName(name, option))
    .join(', ');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? 'that flag';
    return new UsageError(`unknown option ${flag}; the options are ${known}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(--?[\w-]+)/.exec(message)?.[1];
    const option = flag
      ? Object.entries(options).find(([name, o]) => `--${name}` === flag || `-${o.short}` === flag)
      : undefined;
    if (option?.[1].type === 'boolean') return new UsageError(`${flag} takes no value (it is on when present)`);
    return new UsageError(
      `${flag ?? 'an option'} needs a value, e.g. ${option ? flagName(...option) : '--flag <value>'}`,
    );
  }
  return err;
}

/** Prints human text, or the data as JSON with --json. */
export function output(json: boolean | undefined, human: string, data: unknown): void {
  console.log(json ? JSON.stringify(data, null, 2) : human);
}

let loaded: ClientConfig | undefined;
/** The CLI's configuration (kind `client`), read once; a variable nothing reads is a warning line first. */
export function cliConfig(): ClientConfig {
  if (!loaded) {
    for (const w of configWarnings()) console.error(`config warning: ${w}`);
    loaded = loadConfig('client');
  }
  return loaded;
}

/** Connects from the environment and always closes the connection, so the process can exit. */
export async function withClient<T>(fn: (client: ProvisioningClient) => Promise<T>): Promise<T> {
  const connected = await ProvisioningClient.connect(cliConfig());
  // The history records who acted (the event's identity): the person at the terminal, not only a process id.
  const client = connected.actingAs(`${userName()} via the CLI`);
  try {
    return await fn(client);
  } finally {
    await client.temporal.connection.close();
  }
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    // A container user without a passwd entry.
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

export function requireId(command: string, positionals: string[]): string {
  const [id, extra] = positionals;
  if (!id) throw new UsageError(`${command} needs a provisioning id, e.g. provision:acme-1:HubSpot`);
  if (extra) throw new UsageError(`${command} takes one id; got an extra argument "${extra}"`);
  return id;
}
