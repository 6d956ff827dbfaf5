import { cancelAction } from '../../operations/bulk.js';
import { bulkCommand } from '../bulk.js';

export const cancelCommand = bulkCommand({
  name: 'cancel',
  usage: `cancel <id> | cancel FILTERS [--reason R]
                               stop it and remove what it installed`,
  options: { reason: { type: 'string' } },
  action: cancelAction,
  describe: (id) => `cancelling ${id}`,
});
