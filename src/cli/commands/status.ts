import { commonOptions, output, parse, requireId, withClient, type CliCommand } from '../command.js';
import { formatStatus } from '../format.js';

export const statusCommand: CliCommand = {
  name: 'status',
  usage: 'status <id>                  where a provisioning stands, with its stage timeline',
  async run(args) {
    const { values, positionals } = parse(args, commonOptions);
    const id = requireId('status', positionals);
    const status = await withClient((c) => c.status(id));
    output(values.json, formatStatus(id, status), { workflowId: id, ...status });
    return 0;
  },
};
