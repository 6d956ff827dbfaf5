/**
 * `provisioner`: the support and batch CLI. Human-readable output by default, JSON with --json.
 */
import { parseArgs } from 'node:util';
import { InvalidRequestError, ProvisioningClient, ProvisioningError } from '../client.js';
import { ConfigError, loadConfig } from '../config.js';
import { formatStatus } from './format.js';

const USAGE = `usage: provisioner <command> [options]

commands:
  start --account ID (--connector-id N | --connector-name NAME [--connector-version V]) [--install-name NAME]
        [--auth-value VALUE] [--username U --return-url URL] [--create-account [--account-name NAME]]
        [--notify-url URL] [--consent 14d] [--request file.json]
  status <id>                 where a provisioning stands, with its stage timeline
  link <id>                   a fresh consent link for the customer (revokes the previous one)
  auth-url <id>               a fresh Cyclr connectorauth URL (single use, 5 minutes)
  complete <id>               tell it consent was given (it verifies with Cyclr)
  cancel <id> [--reason R]    stop it and remove what it installed

options: --json  machine-readable output`;

const options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  account: { type: 'string' },
  'connector-id': { type: 'string' },
  'connector-name': { type: 'string' },
  'connector-version': { type: 'string' },
  'install-name': { type: 'string' },
  'auth-value': { type: 'string' },
  username: { type: 'string' },
  'return-url': { type: 'string' },
  'create-account': { type: 'boolean' },
  'account-name': { type: 'string' },
  'notify-url': { type: 'string' },
  consent: { type: 'string' },
  request: { type: 'string' },
  reason: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

class UsageError extends Error {}

function requestFromFlags(v: Values): unknown {
  if (!v.account) throw new UsageError('start needs --account ID (the Cyclr account API ID)');
  const connector = v['connector-id']
    ? { id: Number(v['connector-id']) }
    : v['connector-name']
      ? { name: v['connector-name'], ...(v['connector-version'] ? { version: v['connector-version'] } : {}) }
      : undefined;
  if (!connector) throw new UsageError('start needs --connector-id N or --connector-name NAME');
  return {
    accountId: v.account,
    connector,
    ...(v['install-name'] ? { installName: v['install-name'] } : {}),
    ...(v['auth-value'] ? { authValue: v['auth-value'] } : {}),
    ...(v.username || v['return-url'] ? { oauth: { username: v.username, returnUrl: v['return-url'] } } : {}),
    ...(v['create-account'] ? { account: { create: true, name: v['account-name'] ?? v.account } } : {}),
    ...(v['notify-url'] ? { notifyUrl: v['notify-url'] } : {}),
    ...(v.consent ? { timeouts: { consent: v.consent } } : {}),
  };
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const [command, id] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const out = (human: string, data: unknown) => console.log(values.json ? JSON.stringify(data, null, 2) : human);
  const needId = () => {
    if (!id) throw new UsageError(`${command} needs a provisioning id, e.g. provision:acme-1:HubSpot`);
    return id;
  };
  const client = await ProvisioningClient.connect(loadConfig());
  try {
    switch (command) {
      case 'start': {
        const request = values.request
          ? JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(values.request!, 'utf8')))
          : requestFromFlags(values);
        const started = await client.start(request);
        out(`${started.created ? 'started' : 'already running'}: ${started.workflowId}`, started);
        return 0;
      }
      case 'status': {
        const status = await client.status(needId());
        out(formatStatus(needId(), status), status);
        return 0;
      }
      case 'link': {
        const link = await client.issueConsentLink(needId());
        out(`${link.url}\n(valid until ${link.expiresAt}; earlier links no longer work)`, link);
        return 0;
      }
      case 'auth-url': {
        const auth = await client.issueAuthUrl(needId());
        out(`${auth.url}\n(single use; expires ${auth.expiresAt})`, auth);
        return 0;
      }
      case 'complete':
        await client.completeConsent(needId(), 'cli');
        out(`signalled ${needId()}: it will verify with Cyclr`, { workflowId: needId(), signalled: true });
        return 0;
      case 'cancel':
        await client.cancel(needId(), values.reason);
        out(`cancelling ${needId()}`, { workflowId: needId(), cancelled: true });
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    await client.temporal.connection.close();
  }
}

function fail(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}\n\n${USAGE}`);
    return 2;
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
  if (err instanceof ProvisioningError) {
    console.error(`error (${err.type}): ${err.message}`);
    return 1;
  }
  if (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(fail(err)),
);
