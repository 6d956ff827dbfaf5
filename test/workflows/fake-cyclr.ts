/**
 * An in-memory Cyclr for the fast workflow tests, behind the same CyclrClient interface the real client implements.
 * It keeps the facts the workflow depends on (install by Name, `Authenticated`, delete) and lets a test hold an
 * install open or approve consent; HTTP behaviour is the simulator's job, in the end-to-end suites.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ConnectorLookup, CyclrClient, InstallBodyInput } from '../../src/activities/cyclr/cyclr-client.js';
import type { CyclrAccount, CyclrAccountConnector, CyclrConnector } from '../../src/activities/cyclr/types.js';

export const OAUTH_CONNECTOR: CyclrConnector = {
  Id: 2001,
  Name: 'HubSpot',
  Version: 'v3',
  AuthType: 'OAuth2',
  OAuth2Type: 'AuthorisationCode',
  Parameters: [],
  Authentication: [
    {
      Id: '5b0e2c1a-0000-4000-8000-000000000001',
      AuthName: 'OAuth',
      AuthType: 'OAuth2',
      OAuth2Type: 'AuthorisationCode',
    },
  ],
};

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class FakeCyclr implements CyclrClient {
  readonly load = { inFlight: 0, waiting: 0 };
  /** Account connectors by account. */
  readonly accounts = new Map<string, CyclrAccountConnector[]>();
  readonly removed: { accountId: string; accountConnectorId: number }[] = [];
  /** How often each method was called, e.g. `getAccountConnector` (the workflow's periodic check). */
  readonly calls = new Map<string, number>();
  private nextId = 1;
  private installGate: Deferred | undefined;
  private installStarted: Deferred | undefined;

  /** Each account's requests, with the server's time of each (skipped time, on the time-skipping server). */
  private readonly requests = new Map<string, { method: string; at: number }[]>();

  private count(method: string, accountId?: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    if (accountId !== undefined) {
      this.requests.set(accountId, [...(this.requests.get(accountId) ?? []), { method, at: serverNow() }]);
    }
  }

  /** The requests made for an account (one per call of this client), oldest first. */
  requestsOf(accountId: string): readonly { method: string; at: number }[] {
    return this.requests.get(accountId) ?? [];
  }

  /** Installs wait until `releaseInstalls()`; resolves `installStarted()` when one has reached Cyclr. */
  holdInstalls(): void {
    this.installGate = deferred();
    this.installStarted = deferred();
  }

  installStartedPromise(): Promise<void> {
    return this.installStarted?.promise ?? Promise.resolve();
  }

  releaseInstalls(): void {
    this.installGate?.resolve();
    this.installGate = undefined;
  }

  /** The customer approved on Cyclr's consent page. */
  approve(accountId: string, accountConnectorId: number): void {
    const ac = this.accounts.get(accountId)?.find((c) => c.Id === accountConnectorId);
    if (!ac) throw new Error(`no account connector ${accountConnectorId} in ${accountId}`);
    ac.Authenticated = true;
  }

  connectorsOf(accountId: string): CyclrAccountConnector[] {
    return this.accounts.get(accountId) ?? [];
  }

  async getConnector(id: number): Promise<CyclrConnector> {
    this.count('getConnector');
    if (id !== OAUTH_CONNECTOR.Id) throw notFound(`connector ${id}`);
    return OAUTH_CONNECTOR;
  }

  async findConnectors(name: string, version?: string): Promise<CyclrConnector[]> {
    this.count('findConnectors');
    const c = OAUTH_CONNECTOR;
    return c.Name.toLowerCase() === name.toLowerCase() && (!version || version === c.Version) ? [c] : [];
  }

  async resolveConnector(ref: ConnectorLookup): Promise<CyclrConnector> {
    this.count('resolveConnector');
    const found = ref.id !== undefined ? [await this.getConnector(ref.id)] : await this.findConnectors(ref.name ?? '');
    if (!found[0]) {
      throw ApplicationFailure.create({ type: 'ConnectorNotFound', message: 'no such connector', nonRetryable: true });
    }
    return found[0];
  }

  async ensureAccount(input: { id: string; name: string; timezone?: string }): Promise<CyclrAccount> {
    this.count('ensureAccount', input.id);
    if (!this.accounts.has(input.id)) this.accounts.set(input.id, []);
    return { Id: input.id, Name: input.name, Timezone: input.timezone };
  }

  async getAccount(id: string): Promise<CyclrAccount> {
    this.count('getAccount', id);
    if (!this.accounts.has(id)) throw notFound(`account ${id}`);
    return { Id: id, Name: id };
  }

  async installConnector(
    accountId: string,
    connectorId: number,
    body: InstallBodyInput,
  ): Promise<CyclrAccountConnector> {
    this.count('installConnector', accountId);
    const name = body.Name ?? OAUTH_CONNECTOR.Name;
    const existing = await this.findAccountConnectorByName(accountId, name);
    if (existing) return existing;
    this.installStarted?.resolve();
    await this.installGate?.promise;
    // As Cyclr commits: of several installs of one Name held up together, the first creates it, the rest find it.
    const committed = this.connectorsOf(accountId).find((c) => c.Name === name);
    if (committed) return committed;
    const ac: CyclrAccountConnector = {
      Id: this.nextId++,
      Name: name,
      Authenticated: false,
      Connector: { Id: connectorId, Name: OAUTH_CONNECTOR.Name },
    };
    this.accounts.set(accountId, [...this.connectorsOf(accountId), ac]);
    return ac;
  }

  async findAccountConnectorByName(accountId: string, name: string): Promise<CyclrAccountConnector | undefined> {
    this.count('findAccountConnectorByName', accountId);
    return this.connectorsOf(accountId).find((c) => c.Name === name);
  }

  async getAccountConnector(accountId: string, accountConnectorId: number): Promise<CyclrAccountConnector> {
    this.count('getAccountConnector', accountId);
    const ac = this.connectorsOf(accountId).find((c) => c.Id === accountConnectorId);
    if (!ac) throw notFound(`account connector ${accountConnectorId}`);
    return ac;
  }

  async updateAccountConnector(
    accountId: string,
    accountConnectorId: number,
    patch: Partial<InstallBodyInput>,
  ): Promise<CyclrAccountConnector> {
    this.count('updateAccountConnector');
    const ac = await this.getAccountConnector(accountId, accountConnectorId);
    if (patch.AuthValue) ac.Authenticated = true;
    return ac;
  }

  async deleteAccountConnector(accountId: string, accountConnectorId: number): Promise<{ alreadyGone: boolean }> {
    this.count('deleteAccountConnector', accountId);
    const before = this.connectorsOf(accountId);
    this.accounts.set(
      accountId,
      before.filter((c) => c.Id !== accountConnectorId),
    );
    this.removed.push({ accountId, accountConnectorId });
    return { alreadyGone: !before.some((c) => c.Id === accountConnectorId) };
  }

  async listAccountConnectors(accountId: string): Promise<CyclrAccountConnector[]> {
    this.count('listAccountConnectors', accountId);
    return [...this.connectorsOf(accountId)];
  }

  async deauthenticateAccountConnector(accountId: string, accountConnectorId: number): Promise<void> {
    this.count('deauthenticateAccountConnector', accountId);
    (await this.getAccountConnector(accountId, accountConnectorId)).Authenticated = false;
  }

  async createSignInToken(accountId: string, username: string): Promise<{ token: string; expiresAt: string }> {
    this.count('createSignInToken', accountId);
    return {
      token: `sit-${accountId}-${username}-${this.nextId++}`,
      expiresAt: new Date(Date.now() + 300_000).toISOString(),
    };
  }

  connectorAuthUrl(input: {
    accountConnectorId: number;
    token: string;
    targetOrigin: string;
    callbackMessage?: string;
  }): string {
    const url = new URL('https://partner-h.cyclr.test/connectorauth/updateaccountconnectoroauth');
    url.searchParams.set('id', String(input.accountConnectorId));
    url.searchParams.set('token', input.token);
    url.searchParams.set('targetOrigin', input.targetOrigin);
    if (input.callbackMessage) url.searchParams.set('callbackMessage', input.callbackMessage);
    return url.toString();
  }

  close(): void {}
}

/**
 * When the calling activity was scheduled, on the server's clock: the time-skipping server's skipped time, the one
 * the workflow reads, rather than this process's.
 */
function serverNow(): number {
  try {
    return Context.current().info.currentAttemptScheduledTimestampMs;
  } catch {
    return Date.now(); // not called from an activity
  }
}

function notFound(what: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'CyclrNotFound', message: `Cyclr has no ${what}`, nonRetryable: true });
}
