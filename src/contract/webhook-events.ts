export const EVENT_TYPES = [
  'provisioning.consent_requested',
  'provisioning.reminder',
  'provisioning.completed',
  'provisioning.failed',
  'provisioning.expired',
  'provisioning.cancelled',
  /** A completed connection that Cyclr no longer reports authenticated (found by the connection check). */
  'provisioning.connection_lapsed',
  /** A reconnect needs the customer's consent again: carries the new consent link, like consent_requested. */
  'provisioning.reconnect_requested',
  /** The account connector was uninstalled at Cyclr (offboarding). */
  'provisioning.removed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** The body POSTed to `notifyUrl`. Never carries a secret or a Cyclr sign-in token. */
export interface ProvisioningEvent {
  /** Stable per event, so a receiver can drop the duplicates that retries may deliver. */
  id: string;
  type: EventType;
  timestamp: string;
  data: {
    workflowId: string;
    accountId: string;
    connector: { id?: number; name?: string };
    accountConnectorId?: number;
    consentLink?: string;
    consentExpiresAt?: string;
    error?: { type: string; message: string };
    reason?: string;
  };
}
