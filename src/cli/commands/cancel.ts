import { bulkCommand } from '../bulk.js';

export const cancelCommand = bulkCommand({
  name: 'cancel',
  usage: `cancel <id> | cancel FILTERS [--reason R]
                               stop it and remove what it installed`,
  options: { reason: { type: 'string' } },
  verb: 'cancel',
  act: async (client, id, values) => {
    await client.cancel(id, (values.reason as string | undefined) ?? 'cancelled from the CLI');
    return { cancelled: true };
  },
  describe: (id) => `cancelling ${id}`,
});
