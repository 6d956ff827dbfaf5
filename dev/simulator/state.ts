/**
 * The simulator's in-memory world: accounts, users and account connectors, beside the partner tokens, sign-in
 * tokens and consent-form nonces it hands out (credentials.ts). Business rules live here and in accounts.ts and
 * account-connector-rules.ts; the HTTP layer only maps them to Cyclr's wire format.
 */
import { randomUUID } from 'node:crypto';
import type { CyclrConnector } from '../../src/activities/cyclr/types.js';
import { applyAccountFields, newAccountRecord } from './accounts.js';
import {
  authenticatedByAuthValue,
  canCompleteWithoutUser,
  chooseAuthentication,
  isNonInteractive,
  parseProperties,
} from './account-connector-rules.js';
import { objectBody, optionalString } from './body-fields.js';
import { Catalog } from './catalog.js';
import { Credentials } from './credentials.js';
import {
  CyclrError,
  type AccountConnectorRecord,
  type AccountRecord,
  type PropertyRecord,
  type WireAccountConnector,
} from './records.js';

/**
 * The world as JSON: accounts, their users and account connectors, and the id counters. Tokens are left out (a
 * partner token after a restart is refused, and the client fetches a new one, as after Cyclr revokes it).
 */
export interface SimulatorSnapshot {
  accounts: AccountRecord[];
  users: [accountId: string, usernames: string[]][];
  accountConnectors: (Omit<AccountConnectorRecord, 'properties'> & { properties: PropertyRecord[] })[];
  nextAccountConnectorId: number;
  nextPropertyId: number;
}

export class SimulatorState {
  readonly accounts = new Map<string, AccountRecord>();
  readonly credentials: Credentials;
  private readonly users = new Map<string, Set<string>>();
  private readonly connectorsByAccount = new Map<string, Map<number, AccountConnectorRecord>>();
  private readonly accountOfConnector = new Map<number, string>();
  private nextAccountConnectorId = 50_001;
  private nextPropertyId = 900_001;
  private readonly newPropertyId = () => this.nextPropertyId++;
  /** Send Total-Pages/Total-Records on the catalog (Cyclr does not document them, so off by default). */
  paginationHeaders = false;

  constructor(
    readonly catalog: Catalog,
    options: { tokenLifetimeSeconds: number; signInTokenLifetimeMs: number },
  ) {
    this.credentials = new Credentials(options);
  }

  snapshot(): SimulatorSnapshot {
    return {
      accounts: [...this.accounts.values()],
      users: [...this.users].map(([accountId, names]) => [accountId, [...names]]),
      accountConnectors: [...this.connectorsByAccount.values()].flatMap((byId) =>
        [...byId.values()].map((ac) => ({ ...ac, properties: [...ac.properties.values()] })),
      ),
      nextAccountConnectorId: this.nextAccountConnectorId,
      nextPropertyId: this.nextPropertyId,
    };
  }

  /** Replaces the world with a snapshot's (at start, before any request). */
  restore(snapshot: SimulatorSnapshot): void {
    this.accounts.clear();
    this.users.clear();
    this.connectorsByAccount.clear();
    this.accountOfConnector.clear();
    for (const account of snapshot.accounts) this.accounts.set(account.Id, account);
    for (const [accountId, names] of snapshot.users) this.users.set(accountId, new Set(names));
    for (const ac of snapshot.accountConnectors) {
      let byId = this.connectorsByAccount.get(ac.accountId);
      if (!byId) this.connectorsByAccount.set(ac.accountId, (byId = new Map()));
      byId.set(ac.id, { ...ac, properties: new Map(ac.properties.map((p) => [p.Id, p])) });
      this.accountOfConnector.set(ac.id, ac.accountId);
    }
    this.nextAccountConnectorId = snapshot.nextAccountConnectorId;
    this.nextPropertyId = snapshot.nextPropertyId;
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
    const account = newAccountRecord(id, name, parent);
    applyAccountFields(account, body);
    this.accounts.set(id, account);
    return account;
  }

  updateAccount(id: string, body: Record<string, unknown>): AccountRecord {
    const account = this.getAccount(id);
    const name = optionalString(body, 'Name');
    if (name !== undefined && !name.trim()) throw new CyclrError(400, 'Name is required');
    const draft = { ...account };
    if (name !== undefined) draft.Name = name;
    applyAccountFields(draft, body);
    Object.assign(account, draft);
    return account;
  }

  deleteAccount(id: string): void {
    this.getAccount(id);
    for (const acId of this.connectorsByAccount.get(id)?.keys() ?? []) this.accountOfConnector.delete(acId);
    this.connectorsByAccount.delete(id);
    this.users.delete(id);
    this.accounts.delete(id);
    this.credentials.forgetAccount(id);
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

  // ---- sign-in tokens ----

  mintSignInToken(accountId: string, username: string): { Token: string; ExpiresAtUtc: string } {
    this.addUser(accountId, username); // Cyclr creates the user if it does not exist.
    return this.credentials.mintSignInToken(accountId, username);
  }

  /**
   * Burns the sign-in token (single use, whatever the outcome) and returns the account connector it may open.
   * Any failure is a CyclrError(403), like Cyclr's "403 – Forbidden: Access is denied." page.
   */
  redeemSignInToken(token: string, accountConnectorId: number): AccountConnectorRecord {
    const rec = this.credentials.takeSignInToken(token);
    const ac = this.findAccountConnector(accountConnectorId);
    if (!ac || ac.accountId !== rec.accountId) throw new CyclrError(403, 'Access is denied.');
    return ac;
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
    const input = objectBody(body);
    const connector = this.resolveConnector(idOrName);
    if (connector.Status === 'Draft') {
      throw new CyclrError(400, `Connector ${connector.Id} is a draft and cannot be installed.`);
    }
    const auth = chooseAuthentication(connector, optionalString(input, 'AuthenticationId'));
    const name = optionalString(input, 'Name')?.trim() || connector.Name;
    const properties = parseProperties(connector, input.Properties, this.newPropertyId);
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
    ac.authenticated = authenticatedByAuthValue(connector, ac);
    let map = this.connectorsByAccount.get(accountId);
    if (!map) this.connectorsByAccount.set(accountId, (map = new Map()));
    map.set(ac.id, ac);
    this.accountOfConnector.set(ac.id, accountId);
    return ac;
  }

  private connectorOf(ac: AccountConnectorRecord): CyclrConnector {
    return this.catalog.get(ac.connectorId)!;
  }

  /** Whether the connectorauth flow can finish without a consent screen (non-interactive OAuth2 grants). */
  isNonInteractive(ac: AccountConnectorRecord): boolean {
    return isNonInteractive(this.connectorOf(ac), ac);
  }

  canCompleteWithoutUser(ac: AccountConnectorRecord): boolean {
    return canCompleteWithoutUser(this.connectorOf(ac), ac);
  }

  updateAccountConnector(accountId: string, id: number, body: unknown): AccountConnectorRecord {
    const ac = this.getAccountConnector(accountId, id);
    const input = objectBody(body);
    const name = optionalString(input, 'Name')?.trim();
    if (name && this.nameInUse(accountId, name, ac.id)) {
      throw new CyclrError(400, `Account connector name ${name} is in use.`);
    }
    const description = optionalString(input, 'Description');
    const authValue = optionalString(input, 'AuthValue');
    const properties = parseProperties(this.connectorOf(ac), input.Properties, this.newPropertyId);
    if (name) ac.name = name;
    if (description !== undefined) ac.description = description;
    for (const p of properties) this.upsertProperty(ac, p.Name, p.Value);
    if (authValue !== undefined) {
      ac.authValue = authValue || null;
      ac.authenticated = authenticatedByAuthValue(this.connectorOf(ac), ac);
    }
    return ac;
  }

  private upsertProperty(ac: AccountConnectorRecord, name: string, value: string): PropertyRecord {
    const existing = [...ac.properties.values()].find((p) => p.Name.toLowerCase() === name.toLowerCase());
    if (existing) {
      existing.Value = value;
      return existing;
    }
    const p = { Id: this.newPropertyId(), Name: name, Value: value };
    ac.properties.set(p.Id, p);
    return p;
  }

  addProperty(accountId: string, id: number, body: unknown): PropertyRecord {
    const ac = this.getAccountConnector(accountId, id);
    const [p] = parseProperties(this.connectorOf(ac), [body], this.newPropertyId);
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

  /** As if the third party revoked the tokens: not authenticated any more; what the API was given stays. */
  markLapsed(id: number): AccountConnectorRecord {
    const ac = this.findAccountConnector(id);
    if (!ac) throw new CyclrError(404, 'Account connector not found.');
    ac.authenticated = false;
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
      Connector: this.connectorOf(ac),
      IsPartnerIntegrationConnector: false,
      Properties: [...ac.properties.values()].map((p) => ({ ...p, AccountConnectorId: ac.id })),
      CustomFields: [],
    };
  }
}
