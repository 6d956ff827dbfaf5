export const EVENT_TYPES = [
  'provisioning.consent_requested',
  'provisioning.reminder',
  'provisioning.completed',
  'provisioning.failed',
  'provisioning.expired',
  'provisioning.cancelled',
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
