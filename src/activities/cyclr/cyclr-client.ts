/**
 * The Cyclr partner API client, per docs/cyclr-api.md: one object over the transport (transport.ts) and the
 * resource modules beside it. It never retries on its own except for one token renewal after a 401: Temporal
 * retries activities, guided by the failure types in errors.ts.
 */
import type { Lane } from '../../contract/request-rate.js';
import { accountConnectors, type InstallBodyInput } from './account-connectors.js';
import { cyclrAccounts } from './accounts.js';
import { connectorCatalog, type ConnectorLookup } from './catalog.js';
import { validateOptions, type CyclrClientOptions } from './options.js';
import { signInLinks, type ConnectorAuthUrlInput } from './sign-in.js';
import { createTransport } from './transport.js';
import type { CyclrAccount, CyclrAccountConnector, CyclrConnector } from './types.js';

export type { CyclrClientOptions } from './options.js';
export type { ConnectorLookup } from './catalog.js';
export type { InstallBodyInput, InstallProperty } from './account-connectors.js';

export interface CyclrClient {
  getConnector(id: number): Promise<CyclrConnector>;
  /** Case-insensitive exact Name match (and Version when given), across every page of the catalog. */
  findConnectors(name: string, version?: string): Promise<CyclrConnector[]>;
  /** Throws ConnectorNotFound or AmbiguousConnector (non-retryable). */
  resolveConnector(ref: ConnectorLookup): Promise<CyclrConnector>;
  /** Creates the account, or returns the existing one when Cyclr says "ID already in use". */
  ensureAccount(input: { id: string; name: string; timezone?: string }): Promise<CyclrAccount>;
  getAccount(id: string): Promise<CyclrAccount>;
  /** Idempotent by Name within the account (Name defaults to the connector's Name). */
  installConnector(accountId: string, connectorId: number, body: InstallBodyInput): Promise<CyclrAccountConnector>;
  findAccountConnectorByName(accountId: string, name: string): Promise<CyclrAccountConnector | undefined>;
  /** `lane`: who waits on the answer (request-rate.ts); an idle look may be refused unsent (CyclrBudgetBusy). */
  getAccountConnector(accountId: string, accountConnectorId: number, lane?: Lane): Promise<CyclrAccountConnector>;
  updateAccountConnector(
    accountId: string,
    accountConnectorId: number,
    patch: Partial<InstallBodyInput>,
  ): Promise<CyclrAccountConnector>;
  /** Uninstalls; 404 counts as success: already gone (and says so). */
  deleteAccountConnector(accountId: string, accountConnectorId: number): Promise<{ alreadyGone: boolean }>;
  /** Every account connector of the account (all pages), AuthValue dropped. */
  listAccountConnectors(
    accountId: string,
    options?: { found?: (soFar: readonly CyclrAccountConnector[]) => boolean; onPage?: () => void; lane?: Lane },
  ): Promise<CyclrAccountConnector[]>;
  /** Drops the credentials (`PUT .../deauthenticate`); 404 is CyclrNotFound. */
  deauthenticateAccountConnector(accountId: string, accountConnectorId: number): Promise<void>;
  /** Single-use, 5-minute token: mint it only when a browser is about to use it (a person waits: it goes first). */
  createSignInToken(accountId: string, username: string): Promise<{ token: string; expiresAt: string }>;
  connectorAuthUrl(input: ConnectorAuthUrlInput): string;
  /** Requests running and waiting in this client's limiter. */
  readonly load: { readonly inFlight: number; readonly waiting: number };
  /** Closes idle keep-alive sockets. */
  close(): void;
}

export function createCyclrClient(options: CyclrClientOptions): CyclrClient {
  const config = validateOptions(options);
  const transport = createTransport(config, options);
  const catalog = connectorCatalog(transport);
  return {
    ...catalog,
    ...cyclrAccounts(transport),
    ...accountConnectors(transport, catalog.getConnector),
    ...signInLinks(transport, config.serviceOrigin),
    load: transport.load,
    close: transport.close,
  };
}
