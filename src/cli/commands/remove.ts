import { commonOptions, output, parse, requireId, withClient, type CliCommand } from '../command.js';
import { formatStatus } from '../format.js';

export const removeCommand: CliCommand = {
  name: 'remove',
  usage: `remove <id>                  offboard: uninstall its connector at Cyclr, stage "removed"
                               (a running one is cancelled first; the id can be provisioned again)`,
  async run(args) {
    const { values, positionals } = parse(args, commonOptions);
    const id = requireId('remove', positionals);
    const removed = await withClient((c) => c.remove(id));
    const said = removed.removedByThisCall ? 'removed' : 'already removed; nothing done';
    output(values.json, `${said}\n${formatStatus(id, removed.status)}`, removed);
    return 0;
  },
};
