import { linkAction } from '../../operations/bulk.js';
import { bulkCommand } from '../bulk.js';

export const linkCommand = bulkCommand({
  name: 'link',
  usage: `link <id> | link FILTERS     a fresh consent link for the customer (revokes the previous one)`,
  action: linkAction,
  describe: (id, link) => `${id}\n  ${link.url}\n  (valid until ${link.expiresAt}; earlier links no longer work)`,
});
