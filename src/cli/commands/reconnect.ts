import { commonOptions, output, parse, requireId, withClient, type CliCommand } from '../command.js';
import { formatStatus } from '../format.js';

const options = { ...commonOptions, force: { type: 'boolean' } } as const;

/** How the first answer of a reconnect reads: done at once, waiting for the customer, or already running. */
function headline(created: boolean, stage: string): string {
  if (!created) return 'a run of this provisioning is in progress; here it is (nothing new started)';
  if (stage === 'completed') return 'still authenticated at Cyclr: nothing to reconnect';
  if (stage === 'awaiting-consent') return 'the connection lapsed: send the customer the link below';
  return `reconnect started (${stage})`;
}

export const reconnectCommand: CliCommand = {
  name: 'reconnect',
  usage: `reconnect <id> [--force]     a completed one: check with Cyclr, and ask for consent again if it lapsed
                               (--force de-authenticates first, for a clean re-consent)`,
  async run(args) {
    const { values, positionals } = parse(args, options);
    const id = requireId('reconnect', positionals);
    // Waits (up to 10 s) for the first answer: completed at once, or the new consent link.
    const started = await withClient((c) => c.reconnect(id, { force: values.force, waitMs: 10_000 }));
    const status = started.status!;
    output(values.json, `${headline(started.created, status.stage)}\n${formatStatus(id, status)}`, {
      workflowId: id,
      created: started.created,
      ...status,
    });
    return 0;
  },
};
