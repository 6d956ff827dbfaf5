/**
 * The simulator's in-memory world: accounts, users, account connectors, partner tokens, sign-in tokens and
 * consent-form nonces. Business rules live here; the HTTP layer only maps them to Cyclr's wire format.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { CyclrAccountConnector, CyclrConnector } from '../../src/activities/cyclr/types.js';
import { Catalog } from './catalog.js';

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

interface PartnerToken {
  expiresAt: number;
  /** Set for account-restricted tokens (`scope=account:{id}`). */
  account?: string;
}

interface SignInTokenRecord {
  accountId: string;
  username: string;
  expiresAt: number;
}

export interface ConsentRequest {
  accountConnectorId: number;
  accountId: string;
  targetOrigin: string;
  callbackMessage?: string;
  expiresAt: number;
}

export interface InstallInput {
  Name?: unknown;
  Description?: unknown;
  AuthenticationId?: unknown;
  AuthValue?: unknown;
  Properties?: unknown;
}

const MAX_RETENTION_HOURS = 744;
const CONSENT_FORM_LIFETIME_MS = 30 * 60_000;

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new CyclrError(400, `The request is invalid. ${field} must be a string.`);
  return v;
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new CyclrError(400, `The request is invalid. ${field} must be true or false.`);
  return v;
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

/** A token that always contains `+`, `/` and `=`, so a client that forgets to URL-encode it fails visibly. */
function urlUnsafeToken(): string {
  for (;;) {
    const t = randomBytes(32).toString('base64'); // 32 bytes => 44 chars ending in one '='
    if (t.includes('+') && t.includes('/')) return t;
  }
}

export class SimulatorState {
  readonly accounts = new Map<string, AccountRecord>();
  private readonly users = new Map<string, Set<string>>();
  private readonly connectorsByAccount = new Map<string, Map<number, AccountConnectorRecord>>();
  private readonly accountOfConnector = new Map<number, string>();
  private readonly tokens = new Map<string, PartnerToken>();
  private readonly signInTokens = new Map<string, SignInTokenRecord>();
  private readonly consentForms = new Map<string, ConsentRequest>();
  private nextAccountConnectorId = 50_001;
  private nextPropertyId = 900_001;
  private mintsSincePrune = 0;
  /** Send Total-Pages/Total-Records on the catalog (Cyclr does not document them, so off by default). */
  paginationHeaders = false;

  constructor(
    readonly catalog: Catalog,
    private readonly options: { tokenLifetimeSeconds: number; signInTokenLifetimeMs: number },
  ) {}

  // ---- partner tokens ----

  issueToken(account?: string): { token: string; issuedAt: Date; expiresAt: Date } {
    const issuedAt = new Date();
    const expiresAt = new Date(issuedAt.getTime() + this.options.tokenLifetimeSeconds * 1000);
    const token = randomBytes(48).toString('base64url');
    this.tokens.set(token, { expiresAt: expiresAt.getTime(), account });
    this.pruneSometimes();
    return { token, issuedAt, expiresAt };
  }

  /** The token's record if it is live; expired tokens are forgotten. */
  checkToken(token: string): PartnerToken | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    if (t.expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return t;
  }

  revokeTokens(): number {
    const n = this.tokens.size;
    this.tokens.clear();
    return n;
  }

  // ---- accounts ----

  getAccount(id: string): AccountRecord {
    const a = this.accounts.get(id);
    if (!a) throw new CyclrError(404, 'Account not found.');
    return a;
  }

  createAccount(body: Record<string, unknown>): AccountRecord {
    const name = optionalString(body, 'Name');
    if (!name || !name.trim()) throw new CyclrError(400, 'Name is required');
    const id = optionalString(body, 'Id')?.trim() || randomUUID();
    if (this.accounts.has(id)) throw new CyclrError(400, 'ID already in use');
    const parent = optionalString(body, 'ParentAccountId');
    if (parent !== undefined && !this.accounts.has(parent)) throw new CyclrError(400, 'Parent account not found.');
    const account: AccountRecord = {
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
    this.applyAccountFields(account, body);
    this.accounts.set(id, account);
    return account;
  }

  updateAccount(id: string, body: Record<string, unknown>): AccountRecord {
    const account = this.getAccount(id);
    const name = optionalString(body, 'Name');
    if (name !== undefined && !name.trim()) throw new CyclrError(400, 'Name is required');
    const draft = { ...account };
    if (name !== undefined) draft.Name = name;
    this.applyAccountFields(draft, body);
    Object.assign(account, draft);
    return account;
  }

  private applyAccountFields(a: AccountRecord, body: Record<string, unknown>): void {
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

  deleteAccount(id: string): void {
    this.getAccount(id);
    for (const acId of this.connectorsByAccount.get(id)?.keys() ?? []) this.accountOfConnector.delete(acId);
    this.connectorsByAccount.delete(id);
    this.users.delete(id);
    this.accounts.delete(id);
    for (const [token, rec] of this.signInTokens) if (rec.accountId === id) this.signInTokens.delete(token);
  }

  /** Seeds accounts without going through the API (idempotent). */
  seedAccount(id: string, name = id): AccountRecord {
    return this.accounts.get(id) ?? this.createAccount({ Id: id, Name: name });
  }

  listUsers(accountId: string): string[] {
    this.getAccount(accountId);
    return [...(this.users.get(accountId) ?? [])];
  }

  addUser(accountId: string, username: string): void {
    this.getAccount(accountId);
    let set = this.users.get(accountId);
    if (!set) this.users.set(accountId, (set = new Set()));
    set.add(username);
  }

  // ---- sign-in tokens and consent forms ----

  mintSignInToken(accountId: string, username: string): { Token: string; ExpiresAtUtc: string } {
    this.addUser(accountId, username); // Cyclr creates the user if it does not exist.
    const token = urlUnsafeToken();
    const expiresAt = Date.now() + this.options.signInTokenLifetimeMs;
    this.signInTokens.set(token, { accountId, username, expiresAt });
    this.pruneSometimes();
    return { Token: token, ExpiresAtUtc: new Date(expiresAt).toISOString() };
  }

  /**
   * Burns the sign-in token (single use, whatever the outcome) and returns the account connector it may open.
   * Any failure is a CyclrError(403), like Cyclr's "403 – Forbidden: Access is denied." page.
   */
  redeemSignInToken(token: string, accountConnectorId: number): AccountConnectorRecord {
    const rec = this.signInTokens.get(token);
    this.signInTokens.delete(token);
    if (!rec || rec.expiresAt <= Date.now()) throw new CyclrError(403, 'Access is denied.');
    const ac = this.findAccountConnector(accountConnectorId);
    if (!ac || ac.accountId !== rec.accountId) throw new CyclrError(403, 'Access is denied.');
    return ac;
  }

  openConsentForm(request: Omit<ConsentRequest, 'expiresAt'>): string {
    const nonce = randomBytes(24).toString('base64url');
    this.consentForms.set(nonce, { ...request, expiresAt: Date.now() + CONSENT_FORM_LIFETIME_MS });
    return nonce;
  }

  /** Single use: a second submit of the same form is refused. */
  takeConsentForm(nonce: string): ConsentRequest {
    const rec = this.consentForms.get(nonce);
    this.consentForms.delete(nonce);
    if (!rec || rec.expiresAt <= Date.now()) throw new CyclrError(403, 'Access is denied.');
    return rec;
  }

  private pruneSometimes(): void {
    this.mintsSincePrune += 1;
    if (this.mintsSincePrune < 1000) return;
    this.mintsSincePrune = 0;
    const now = Date.now();
    for (const [k, v] of this.signInTokens) if (v.expiresAt <= now) this.signInTokens.delete(k);
    for (const [k, v] of this.consentForms) if (v.expiresAt <= now) this.consentForms.delete(k);
    for (const [k, v] of this.tokens) if (v.expiresAt <= now) this.tokens.delete(k);
  }

  // ---- connectors and account connectors ----

  /** `idOrName` as in `/connectors/{idOrName}/install`: all digits is an Id, anything else a Name. */
  resolveConnector(idOrName: string): CyclrConnector {
    if (/^\d+$/.test(idOrName)) {
      const c = this.catalog.get(Number(idOrName));
      if (!c) throw new CyclrError(404, 'Connector not found.');
      return c;
    }
    const matches = this.catalog.byName(idOrName);
    if (matches.length === 0) throw new CyclrError(404, 'Connector not found.');
    if (matches.length > 1) {
      throw new CyclrError(
        400,
        `Connector name '${idOrName}' matches ${matches.length} connectors (versions ${matches.map((c) => c.Version).join(', ')}); install by connector Id.`,
      );
    }
    return matches[0];
  }

  findAccountConnector(id: number): AccountConnectorRecord | undefined {
    const accountId = this.accountOfConnector.get(id);
    return accountId === undefined ? undefined : this.connectorsByAccount.get(accountId)?.get(id);
  }

  /** 404 also when the id exists in another account, as Cyclr scopes by X-Cyclr-Account. */
  getAccountConnector(accountId: string, id: number): AccountConnectorRecord {
    const ac = this.connectorsByAccount.get(accountId)?.get(id);
    if (!ac) throw new CyclrError(404, 'Account connector not found.');
    return ac;
  }

  listAccountConnectors(accountId: string): AccountConnectorRecord[] {
    return [...(this.connectorsByAccount.get(accountId)?.values() ?? [])];
  }

  private nameInUse(accountId: string, name: string, exceptId?: number): boolean {
    const n = name.toLowerCase();
    for (const ac of this.connectorsByAccount.get(accountId)?.values() ?? []) {
      if (ac.id !== exceptId && ac.name.toLowerCase() === n) return true;
    }
    return false;
  }

  install(accountId: string, idOrName: string, body: unknown): AccountConnectorRecord {
    this.getAccount(accountId);
    // Cyclr answers an absent/null body with a 500 (a NullReferenceException on its side).
    if (body === undefined || body === null) throw new CyclrError(500, 'An error has occurred.');
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new CyclrError(400, 'The request is invalid. The body must be a JSON object.');
    }
    const input = body as Record<string, unknown>;
    const connector = this.resolveConnector(idOrName);
    if (connector.Status === 'Draft') {
      throw new CyclrError(400, `Connector ${connector.Id} is a draft and cannot be installed.`);
    }
    const requestedAuthId = optionalString(input, 'AuthenticationId');
    const auth = requestedAuthId
      ? connector.Authentication.find((a) => a.Id.toLowerCase() === requestedAuthId.toLowerCase())
      : connector.Authentication[0]; // several methods and none chosen: the first one, like a single-method install
    if (!auth) {
      throw new CyclrError(
        400,
        `AuthenticationId '${requestedAuthId}' is not an authentication method of connector ${connector.Id}. Use one of Connector.Authentication[].Id.`,
      );
    }
    const name = optionalString(input, 'Name')?.trim() || connector.Name;
    const properties = this.parseProperties(connector, input.Properties);
    if (this.nameInUse(accountId, name)) throw new CyclrError(400, `Account connector name ${name} is in use.`);
    const authValue = optionalString(input, 'AuthValue') || null;
    const ac: AccountConnectorRecord = {
      id: this.nextAccountConnectorId++,
      accountId,
      name,
      description: optionalString(input, 'Description') ?? null,
      authValue,
      authenticated: false,
      connectorId: connector.Id,
      authenticationId: auth.Id,
      properties: new Map(properties.map((p) => [p.Id, p])),
    };
    ac.authenticated = this.authenticatedByAuthValue(ac);
    let map = this.connectorsByAccount.get(accountId);
    if (!map) this.connectorsByAccount.set(accountId, (map = new Map()));
    map.set(ac.id, ac);
    this.accountOfConnector.set(ac.id, accountId);
    return ac;
  }

  private parseProperties(connector: CyclrConnector, raw: unknown): PropertyRecord[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw new CyclrError(400, 'The request is invalid. Properties must be an array.');
    return raw.map((item) => {
      if (!item || typeof item !== 'object') {
        throw new CyclrError(400, 'The request is invalid. Each of Properties must be an object {Name, Value, Id}.');
      }
      const p = item as Record<string, unknown>;
      const name = typeof p.Name === 'string' ? p.Name : '';
      const param =
        (name && connector.Parameters.find((x) => x.TargetName.toLowerCase() === name.toLowerCase())) ||
        (typeof p.Id === 'number' && p.Id !== 0 ? connector.Parameters.find((x) => x.Id === p.Id) : undefined);
      if (!param) throw new CyclrError(400, `There is not a connector property that matches name '${name}'.`);
      if (!param.IsAccountConnectorProperty) {
        throw new CyclrError(
          400,
          `Connector property name '${param.TargetName}' is not an account connector property.`,
        );
      }
      const value = p.Value === undefined || p.Value === null ? '' : String(p.Value);
      return { Id: this.nextPropertyId++, Name: param.TargetName, Value: value };
    });
  }

  private requiredPropertiesSet(ac: AccountConnectorRecord): boolean {
    const connector = this.catalog.get(ac.connectorId)!;
    const set = new Set([...ac.properties.values()].filter((p) => p.Value !== '').map((p) => p.Name.toLowerCase()));
    return connector.Parameters.every(
      (p) => !p.IsAccountConnectorProperty || p.IsOptional || set.has(p.TargetName.toLowerCase()),
    );
  }

  authType(ac: AccountConnectorRecord) {
    const connector = this.catalog.get(ac.connectorId)!;
    return connector.Authentication.find((a) => a.Id === ac.authenticationId) ?? connector.Authentication[0];
  }

  /** Whether the connector is ready from what the API was given, without the browser flow. */
  private authenticatedByAuthValue(ac: AccountConnectorRecord): boolean {
    const auth = this.authType(ac);
    if (auth.AuthType === 'None') return true;
    if (!ac.authValue || !this.requiredPropertiesSet(ac)) return false;
    if (auth.AuthType === 'OAuth1' || auth.AuthType === 'OAuth2') {
      // "{}" asks Cyclr to fetch tokens itself, which only non-interactive grants can do.
      const selfServe = auth.OAuth2Type === 'ClientCredentials' || auth.OAuth2Type === 'PasswordCredentials';
      return ac.authValue.trim() !== '{}' || selfServe;
    }
    return true;
  }

  /** Whether the connectorauth flow can finish without a consent screen (non-interactive OAuth2 grants). */
  isNonInteractive(ac: AccountConnectorRecord): boolean {
    const auth = this.authType(ac);
    return auth.AuthType === 'OAuth2' && auth.OAuth2Type !== 'AuthorisationCode';
  }

  canCompleteWithoutUser(ac: AccountConnectorRecord): boolean {
    return this.requiredPropertiesSet(ac);
  }

  updateAccountConnector(accountId: string, id: number, body: unknown): AccountConnectorRecord {
    const ac = this.getAccountConnector(accountId, id);
    if (body === undefined || body === null) throw new CyclrError(500, 'An error has occurred.');
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new CyclrError(400, 'The request is invalid. The body must be a JSON object.');
    }
    const input = body as Record<string, unknown>;
    const name = optionalString(input, 'Name')?.trim();
    if (name && this.nameInUse(accountId, name, ac.id)) {
      throw new CyclrError(400, `Account connector name ${name} is in use.`);
    }
    const description = optionalString(input, 'Description');
    const authValue = optionalString(input, 'AuthValue');
    const properties = this.parseProperties(this.catalog.get(ac.connectorId)!, input.Properties);
    if (name) ac.name = name;
    if (description !== undefined) ac.description = description;
    for (const p of properties) this.upsertProperty(ac, p.Name, p.Value);
    if (authValue !== undefined) {
      ac.authValue = authValue || null;
      ac.authenticated = this.authenticatedByAuthValue(ac);
    }
    return ac;
  }

  private upsertProperty(ac: AccountConnectorRecord, name: string, value: string): PropertyRecord {
    const existing = [...ac.properties.values()].find((p) => p.Name.toLowerCase() === name.toLowerCase());
    if (existing) {
      existing.Value = value;
      return existing;
    }
    const p = { Id: this.nextPropertyId++, Name: name, Value: value };
    ac.properties.set(p.Id, p);
    return p;
  }

  addProperty(accountId: string, id: number, body: unknown): PropertyRecord {
    const ac = this.getAccountConnector(accountId, id);
    const [p] = this.parseProperties(this.catalog.get(ac.connectorId)!, [body]);
    return this.upsertProperty(ac, p.Name, p.Value);
  }

  getProperty(accountId: string, id: number, propertyId: number): PropertyRecord {
    const p = this.getAccountConnector(accountId, id).properties.get(propertyId);
    if (!p) throw new CyclrError(404, 'Account connector property not found.');
    return p;
  }

  updateProperty(accountId: string, id: number, propertyId: number, body: unknown): PropertyRecord {
    const p = this.getProperty(accountId, id, propertyId);
    const value = body && typeof body === 'object' ? (body as Record<string, unknown>).Value : undefined;
    if (value === undefined) throw new CyclrError(400, 'The request is invalid. Value is required.');
    p.Value = value === null ? '' : String(value);
    return p;
  }

  deleteProperty(accountId: string, id: number, propertyId: number): void {
    this.getProperty(accountId, id, propertyId);
    this.getAccountConnector(accountId, id).properties.delete(propertyId);
  }

  deauthenticate(accountId: string, id: number): AccountConnectorRecord {
    const ac = this.getAccountConnector(accountId, id);
    ac.authenticated = false;
    ac.authValue = null;
    return ac;
  }

  deleteAccountConnector(accountId: string, id: number): void {
    this.getAccountConnector(accountId, id);
    this.connectorsByAccount.get(accountId)!.delete(id);
    this.accountOfConnector.delete(id);
  }

  /** As if the user approved the consent screen (also used by the admin API). */
  markAuthenticated(id: number): AccountConnectorRecord {
    const ac = this.findAccountConnector(id);
    if (!ac) throw new CyclrError(404, 'Account connector not found.');
    ac.authenticated = true;
    return ac;
  }

  toWire(ac: AccountConnectorRecord): WireAccountConnector {
    return {
      Id: ac.id,
      Name: ac.name,
      Description: ac.description,
      AuthValue: ac.authValue,
      Authenticated: ac.authenticated,
      AuthenticationId: ac.authenticationId,
      Connector: this.catalog.get(ac.connectorId)!,
      IsPartnerIntegrationConnector: false,
      Properties: [...ac.properties.values()].map((p) => ({ ...p, AccountConnectorId: ac.id })),
      CustomFields: [],
    };
  }
}
