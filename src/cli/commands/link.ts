import { bulkCommand } from '../bulk.js';

export const linkCommand = bulkCommand({
  name: 'link',
  usage: `link <id> | link FILTERS     a fresh consent link for the customer (revokes the previous one)`,
  verb: 'issue new links for',
  act: (client, id) => client.issueConsentLink(id),
  describe: (id, link) => `${id}\n  ${link.url}\n  (valid until ${link.expiresAt}; earlier links no longer work)`,
});
