/**
 * The shape every CLI command module has, and the helpers they share. `main.ts` only dispatches by name, so a new
 * command is one module in `commands/` plus one line in main's list.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ProvisioningClient } from '../client.js';
import { configWarnings, loadConfig, type ClientConfig } from '../config.js';

export interface CliCommand {
  name: string;
  /** Lines for the top-level help, e.g. `status <id>   where a provisioning stands`. */
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Bad flags or arguments: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** A refusal that is not a usage mistake (e.g. nothing confirmed): printed as is, exit code 1. */
export class CliRefusal extends Error {}

export const commonOptions = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** parseArgs with strict flags, so a typo is an error that names the flag instead of being ignored. */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
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
  const client = await ProvisioningClient.connect(cliConfig());
  try {
    return await fn(client);
  } finally {
    await client.temporal.connection.close();
  }
}

export function requireId(command: string, positionals: string[]): string {
  const [id, extra] = positionals;
  if (!id) throw new UsageError(`${command} needs a provisioning id, e.g. provision:acme-1:HubSpot`);
  if (extra) throw new UsageError(`${command} takes one id; got an extra argument "${extra}"`);
  return id;
}
