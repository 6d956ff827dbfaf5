/**
 * Account connectors: install a connector into an account (idempotent by Name), find one by Name, read, update and
 * remove one. AuthValue and credential-like property values are scrubbed from errors and never returned.
 */
import type { Lane } from '../../contract/request-rate.js';
import { ApplicationFailure } from '@temporalio/common';
import { Failure, failure } from '../../contract/failures.js';
import { connectorPath } from './catalog.js';
import { expectObjectWithId, requirePositiveInt, requireText } from './checks.js';
import {
  ACCOUNT_CONNECTOR_NAME_IN_USE,
  cyclrDetail,
  invalidRequest,
  isBadRequestSaying,
  isNotFound,
} from './errors.js';
import type { Transport } from './transport.js';
import type { CyclrAccountConnector, CyclrConnector, InstallBody } from './types.js';

/** A property for install/update; `Id` defaults to 0, which Cyclr accepts with a correct Name. */
export interface InstallProperty {
  Name: string;
  Value: string;
  Id?: number;
}

/** InstallBody as callers pass it to installConnector and updateAccountConnector: property Ids optional. */
export type InstallBodyInput = Omit<InstallBody, 'Properties'> & { Properties?: InstallProperty[] };

// Property names whose values are credentials (e.g. a per-account OAuth app's ClientSecret).
const SENSITIVE_PROPERTY = /secret|password|token|key|credential/i;

const accountConnectorPath = (id: number) => `/v1.0/account/connectors/${id}`;

export function accountConnectors(
  { request, pages }: Transport,
  getConnector: (id: number) => Promise<CyclrConnector>,
) {
  async function findAccountConnectorByName(
    accountId: string,
    name: string,
  ): Promise<CyclrAccountConnector | undefined> {
    requireText(accountId, 'accountId');
    requireText(name, 'installName');
    // An exact match wins; a case-insensitive one is the fallback (Cyclr's own rule for "in use" is undocumented).
    let caseless: CyclrAccountConnector | undefined;
    for await (const page of pages<CyclrAccountConnector>({
      method: 'GET',
      route: '/v1.0/account/connectors',
      path: '/v1.0/account/connectors',
      accountId,
    })) {
      for (const ac of page) {
        if (typeof ac?.Name !== 'string') continue;
        if (ac.Name === name) return withoutSecrets(ac);
        if (!caseless && ac.Name.toLowerCase() === name.toLowerCase()) caseless = ac;
      }
    }
    return caseless && withoutSecrets(caseless);
  }

  async function installConnector(
    accountId: string,
    connectorId: number,
    body: InstallBodyInput,
  ): Promise<CyclrAccountConnector> {
    requireText(accountId, 'accountId');
    requirePositiveInt(connectorId, 'connector.id');
    // Idempotency hangs on the Name, so always send one: Cyclr's default is the connector's Name.
    const name =
      body.Name !== undefined ? requireText(body.Name, 'installName') : (await getConnector(connectorId)).Name;
    const payload = toCyclrBody({ ...body, Name: name });
    try {
      // Install first: one request in the normal case. The Name is looked up only when Cyclr says it is taken.
      const { data } = await request<CyclrAccountConnector>({
        method: 'POST',
        route: '/v1.0/connectors/{id}/install',
        path: `${connectorPath(connectorId)}/install`,
        accountId,
        json: payload,
        secrets: secretsOf(payload),
      });
      return withoutSecrets(expectObjectWithId(data, 'POST /v1.0/connectors/{id}/install'));
    } catch (err) {
      if (isNotFound(err)) throw installNotFound(err, accountId, connectorId);
      // Taken: by an earlier attempt of ours whose answer was lost (adopt it), or by another connector (refuse).
      if (!isBadRequestSaying(err, ACCOUNT_CONNECTOR_NAME_IN_USE)) throw err;
      const found = await findAccountConnectorByName(accountId, name);
      if (!found) throw err;
      const holder = found.Connector;
      if (holder && typeof holder.Id === 'number' && holder.Id !== connectorId) {
        throw failure(
          Failure.InstallNameTaken,
          `installName: "${name}" is already used in account ${accountId} by ${holder.Name ?? 'another connector'} ` +
            `(connector ${holder.Id}, account connector ${found.Id}), not by connector ${connectorId}; ` +
            'choose another installName, or remove that account connector first',
        );
      }
      return found;
    }
  }

  async function getAccountConnector(
    accountId: string,
    accountConnectorId: number,
    lane?: Lane,
  ): Promise<CyclrAccountConnector> {
    requireText(accountId, 'accountId');
    requirePositiveInt(accountConnectorId, 'accountConnectorId');
    const { data } = await request<CyclrAccountConnector>({
      method: 'GET',
      route: '/v1.0/account/connectors/{id}',
      path: accountConnectorPath(accountConnectorId),
      accountId,
      lane,
    });
    return withoutSecrets(expectObjectWithId(data, 'GET /v1.0/account/connectors/{id}'));
  }

  async function updateAccountConnector(
    accountId: string,
    accountConnectorId: number,
    patch: Partial<InstallBodyInput>,
  ): Promise<CyclrAccountConnector> {
    requireText(accountId, 'accountId');
    requirePositiveInt(accountConnectorId, 'accountConnectorId');
    const payload = toCyclrBody(patch);
    const { data } = await request<CyclrAccountConnector>({
      method: 'PUT',
      route: '/v1.0/account/connectors/{id}',
      path: accountConnectorPath(accountConnectorId),
      accountId,
      json: payload,
      secrets: secretsOf(payload),
    });
    return withoutSecrets(expectObjectWithId(data, 'PUT /v1.0/account/connectors/{id}'));
  }

  /**
   * Uninstalls. 404 means already gone (an earlier attempt whose answer was lost, or someone else): the answer says
   * which, so a retried removal is still one removal.
   */
  async function deleteAccountConnector(
    accountId: string,
    accountConnectorId: number,
  ): Promise<{ alreadyGone: boolean }> {
    requireText(accountId, 'accountId');
    requirePositiveInt(accountConnectorId, 'accountConnectorId');
    try {
      await request<unknown>({
        method: 'DELETE',
        route: '/v1.0/account/connectors/{id}',
        path: accountConnectorPath(accountConnectorId),
        accountId,
      });
      return { alreadyGone: false };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return { alreadyGone: true };
    }
  }

  /**
   * Every account connector of an account, all pages: one look at a whole account (AuthValue dropped). `found`
   * ends the look early, once the caller has all it came for (a full last page needs no empty page after it).
   */
  async function listAccountConnectors(
    accountId: string,
    options: { found?: (soFar: readonly CyclrAccountConnector[]) => boolean; onPage?: () => void; lane?: Lane } = {},
  ): Promise<CyclrAccountConnector[]> {
    requireText(accountId, 'accountId');
    const out: CyclrAccountConnector[] = [];
    for await (const page of pages<CyclrAccountConnector>({
      method: 'GET',
      route: '/v1.0/account/connectors',
      path: '/v1.0/account/connectors',
      accountId,
      lane: options.lane,
    })) {
      options.onPage?.();
      for (const ac of page) if (ac && typeof ac.Id === 'number') out.push(withoutSecrets(ac));
      if (options.found?.(out)) break;
    }
    return out;
  }

  /**
   * Drops the account connector's credentials at Cyclr (`PUT .../deauthenticate` with `{}`), so the next consent is
   * a clean one. 404 stays CyclrNotFound: there is nothing to re-consent to.
   */
  async function deauthenticateAccountConnector(accountId: string, accountConnectorId: number): Promise<void> {
    requireText(accountId, 'accountId');
    requirePositiveInt(accountConnectorId, 'accountConnectorId');
    await request<unknown>({
      method: 'PUT',
      route: '/v1.0/account/connectors/{id}/deauthenticate',
      path: `${accountConnectorPath(accountConnectorId)}/deauthenticate`,
      accountId,
      json: {},
    });
  }

  return {
    installConnector,
    findAccountConnectorByName,
    getAccountConnector,
    updateAccountConnector,
    deleteAccountConnector,
    listAccountConnectors,
    deauthenticateAccountConnector,
  };
}

/** Cyclr echoes AuthValue back; nobody downstream needs it, and it must not reach workflow history. */
function withoutSecrets(ac: CyclrAccountConnector): CyclrAccountConnector {
  const { AuthValue: _authValue, ...rest } = ac;
  return rest;
}

/** A 404 from install: the connector was resolved just before, so it is the account that Cyclr does not know. */
function installNotFound(err: unknown, accountId: string, connectorId: number): ApplicationFailure {
  const said = cyclrDetail(err)?.cyclrMessage;
  if (said && /connector/i.test(said) && !/account\b(?! connector)/i.test(said)) {
    return failure(
      Failure.ConnectorNotFound,
      `Cyclr has no connector ${connectorId} to install (${said}); check connector.id`,
    );
  }
  return failure(
    Failure.AccountNotFound,
    `accountId: Cyclr has no account "${accountId}"; check the id, or pass "account": { "create": true, "name": "..." }`,
  );
}

function toCyclrBody(input: Partial<InstallBodyInput>): Partial<InstallBody> {
  const out: Partial<InstallBody> = {};
  if (input.Name !== undefined) out.Name = requireText(input.Name, 'installName');
  if (input.Description !== undefined) out.Description = input.Description;
  if (input.AuthenticationId !== undefined)
    out.AuthenticationId = requireText(input.AuthenticationId, 'authenticationId');
  if (input.AuthValue !== undefined) out.AuthValue = input.AuthValue;
  if (input.Properties !== undefined) {
    if (!Array.isArray(input.Properties)) throw invalidRequest('properties must be an array of { name, value }');
    out.Properties = input.Properties.map((p, i) => {
      if (typeof p?.Name !== 'string' || !p.Name)
        throw invalidRequest(`properties[${i}].name must be a non-empty string`);
      if (typeof p.Value !== 'string') throw invalidRequest(`properties[${i}].value must be a string`);
      return { Name: p.Name, Value: p.Value, Id: p.Id ?? 0 };
    });
  }
  return out;
}

function secretsOf(body: Partial<InstallBody>): string[] {
  const out: string[] = [];
  if (body.AuthValue) out.push(body.AuthValue);
  for (const p of body.Properties ?? []) if (SENSITIVE_PROPERTY.test(p.Name) && p.Value) out.push(p.Value);
  return out;
}
