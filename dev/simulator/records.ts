/** The simulator's records (what its in-memory world holds) and its one error type. */
import type { CyclrAccountConnector } from '../../src/activities/cyclr/types.js';

/** A Cyclr-style failure: HTTP status plus the `{"Message": ...}` text. Messages never carry secrets. */
export class CyclrError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface AccountRecord {
  Id: string;
  Name: string;
  Description: string | null;
  Timezone: string;
  CreatedDate: string;
  NextBillDateUtc: string | null;
  AuditInfo: boolean;
  TaskAuditInfo: boolean;
  StepDataSuccessRetentionHours: number;
  StepDataErroredRetentionHours: number;
  TransactionErrorWebhookEnabled: boolean;
  TransactionErrorWebhookUrl: string | null;
  TransactionErrorWebhookIncludeWarnings: boolean;
  ParentAccountId: string | null;
}

export interface PropertyRecord {
  Id: number;
  Name: string;
  Value: string;
}

export interface AccountConnectorRecord {
  id: number;
  accountId: string;
  name: string;
  description: string | null;
  authValue: string | null;
  authenticated: boolean;
  connectorId: number;
  authenticationId: string;
  properties: Map<number, PropertyRecord>;
}

/** Account connector as Cyclr sends it (AuthValue echoed, as Cyclr does). */
export type WireAccountConnector = Omit<CyclrAccountConnector, 'Description' | 'Properties'> & {
  Description: string | null;
  AuthenticationId: string;
  IsPartnerIntegrationConnector: boolean;
  Properties: (PropertyRecord & { AccountConnectorId: number })[];
  CustomFields: unknown[];
};

export interface ConsentRequest {
  accountConnectorId: number;
  accountId: string;
  targetOrigin: string;
  callbackMessage?: string;
  expiresAt: number;
}
