/** Cyclr's rules for account fields: the defaults of a new account, and how a create or update body changes one. */
import { optionalBoolean, optionalString } from './body-fields.js';
import { CyclrError, type AccountRecord } from './records.js';

const MAX_RETENTION_HOURS = 744;

export function newAccountRecord(id: string, name: string, parent: string | undefined): AccountRecord {
  return {
    Id: id,
    Name: name,
    Description: null,
    Timezone: 'UTC',
    CreatedDate: new Date().toISOString(),
    NextBillDateUtc: null,
    AuditInfo: false,
    TaskAuditInfo: false,
    StepDataSuccessRetentionHours: 0,
    StepDataErroredRetentionHours: MAX_RETENTION_HOURS,
    TransactionErrorWebhookEnabled: false,
    TransactionErrorWebhookUrl: null,
    TransactionErrorWebhookIncludeWarnings: false,
    ParentAccountId: parent ?? null,
  };
}

function retentionHours(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new CyclrError(400, `The request is invalid. ${field} must be a non-negative whole number of hours.`);
  }
  return Math.min(v, MAX_RETENTION_HOURS);
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function applyAccountFields(a: AccountRecord, body: Record<string, unknown>): void {
  const tz = optionalString(body, 'Timezone');
  if (tz !== undefined) {
    if (!validTimezone(tz)) {
      throw new CyclrError(400, `Timezone '${tz}' is not a valid IANA time zone name (e.g. "Europe/London").`);
    }
    a.Timezone = tz;
  }
  const description = optionalString(body, 'Description');
  if (description !== undefined) a.Description = description;
  a.AuditInfo = optionalBoolean(body, 'AuditInfo') ?? a.AuditInfo;
  a.TaskAuditInfo = optionalBoolean(body, 'TaskAuditInfo') ?? a.TaskAuditInfo;
  a.StepDataSuccessRetentionHours =
    retentionHours(body, 'StepDataSuccessRetentionHours') ?? a.StepDataSuccessRetentionHours;
  a.StepDataErroredRetentionHours =
    retentionHours(body, 'StepDataErroredRetentionHours') ?? a.StepDataErroredRetentionHours;
  a.TransactionErrorWebhookEnabled =
    optionalBoolean(body, 'TransactionErrorWebhookEnabled') ?? a.TransactionErrorWebhookEnabled;
  a.TransactionErrorWebhookUrl = optionalString(body, 'TransactionErrorWebhookUrl') ?? a.TransactionErrorWebhookUrl;
  a.TransactionErrorWebhookIncludeWarnings =
    optionalBoolean(body, 'TransactionErrorWebhookIncludeWarnings') ?? a.TransactionErrorWebhookIncludeWarnings;
}
