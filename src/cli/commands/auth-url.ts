import { commonOptions, output, parse, requireId, withClient, type CliCommand } from '../command.js';

export const authUrlCommand: CliCommand = {
  name: 'auth-url',
  usage: 'auth-url <id>                a fresh Cyclr connectorauth URL (single use, 5 minutes)',
  async run(args) {
    const { values, positionals } = parse(args, commonOptions);
    const id = requireId('auth-url', positionals);
    const auth = await withClient((c) => c.issueAuthUrl(id));
    output(values.json, `${auth.url}\n(single use; expires ${auth.expiresAt})`, auth);
    return 0;
  },
};
