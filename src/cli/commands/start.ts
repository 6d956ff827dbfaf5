import { readFile } from 'node:fs/promises';
import { commonOptions, output, parse, UsageError, withClient, type CliCommand } from '../command.js';

const options = {
  ...commonOptions,
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
} as const;

type Values = ReturnType<typeof parse<typeof options>>['values'];

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

async function readRequestFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--request: cannot read "${path}" (${err.code ?? err.message})`);
  });
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--request: "${path}" is not valid JSON (${(err as Error).message})`);
  }
}

export const startCommand: CliCommand = {
  name: 'start',
  usage: `start --account ID (--connector-id N | --connector-name NAME [--connector-version V]) [--install-name NAME]
        [--auth-value VALUE] [--username U --return-url URL] [--create-account [--account-name NAME]]
        [--notify-url URL] [--consent 14d] [--request file.json]`,
  async run(args) {
    const { values } = parse(args, options);
    const request = values.request ? await readRequestFile(values.request) : requestFromFlags(values);
    const started = await withClient((c) => c.start(request));
    output(values.json, `${started.created ? 'started' : 'already running'}: ${started.workflowId}`, started);
    return 0;
  },
};
