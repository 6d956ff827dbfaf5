import { completeAction } from '../../operations/bulk.js';
import { bulkCommand } from '../bulk.js';

export const completeCommand = bulkCommand({
  name: 'complete',
  usage: `complete <id> | complete FILTERS
                               tell it consent was given (it verifies with Cyclr)`,
  action: completeAction,
  describe: (id) => `signalled ${id}: it will verify with Cyclr`,
});
