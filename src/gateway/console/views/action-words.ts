/** How the console words each action (re-send link, mark complete, cancel), on one provisioning or in bulk. */
import type { BulkActionName } from '../../../operations/bulk.js';

export const ACTION_WORDS: Record<BulkActionName, { title: string; confirm: string; button: string }> = {
  link: {
    title: 'Re-send the consent link',
    confirm: 'A new consent link will be issued; the link the customer has now will stop working.',
    button: 'Yes, issue a new link',
  },
  complete: {
    title: 'Mark consent complete',
    confirm: 'The provisioning will ask Cyclr whether the connector is authenticated, and keep waiting if not.',
    button: 'Yes, mark complete',
  },
  cancel: {
    title: 'Cancel',
    confirm: 'The provisioning will stop, and the account connector it installed will be removed.',
    button: 'Yes, cancel it',
  },
};
