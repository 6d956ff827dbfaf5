import { bulkCommand } from '../bulk.js';

export const completeCommand = bulkCommand({
  name: 'complete',
  usage: `complete <id> | complete FILTERS
                               tell it consent was given (it verifies with Cyclr)`,
  verb: 'mark complete',
  act: async (client, id) => {
    await client.completeConsent(id, 'cli');
    return { signalled: true };
  },
  describe: (id) => `signalled ${id}: it will verify with Cyclr`,
});
