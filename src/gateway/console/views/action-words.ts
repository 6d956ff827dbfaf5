/**
 * How the console words each action: re-send link, mark complete, cancel (on one provisioning or in bulk), and
 * reconnect or remove (on one that has ended).
 */
import type { ProvisioningActionName } from '../../../operations/bulk.js';

export const ACTION_WORDS: Record<ProvisioningActionName, { title: string; confirm: string; button: string }> = {
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
  reconnect: {
    title: 'Reconnect',
    confirm:
      'A new run asks Cyclr about the connection: if it still holds, the provisioning completes at once; if it ' +
      'lapsed, the customer is asked for consent again (a new link and a reconnect_requested event).',
    button: 'Yes, reconnect',
  },
  remove: {
    title: 'Remove',
    confirm: "The connector will be uninstalled from the customer's Cyclr account. The id can be provisioned again.",
    button: 'Yes, remove it',
  },
};
