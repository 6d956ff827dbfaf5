import { removeAction } from '../../operations/bulk.js';
import { bulkCommand } from '../bulk.js';
import { formatStatus } from '../format.js';

export const removeCommand = bulkCommand({
  name: 'remove',
  usage: `remove <id> | remove FILTERS  offboard: uninstall its connector at Cyclr, stage "removed"
                               (a running one is cancelled first; the id can be provisioned again)`,
  action: removeAction,
  describe: (id, removed) =>
    `${removed.removedByThisCall ? 'removed' : 'already removed; nothing done'}\n${formatStatus(id, removed.status)}`,
});
