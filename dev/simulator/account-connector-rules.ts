/**
 * Cyclr's rules for an account connector, as pure functions of its connector: which authentication method it uses,
 * which properties it may be given, and whether it is authenticated without the browser flow.
 */
import type { CyclrAuthentication, CyclrConnector } from '../../src/activities/cyclr/types.js';
import { CyclrError, type AccountConnectorRecord, type PropertyRecord } from './records.js';

/** The method an install asks for by AuthenticationId; none asked: the first one, like a single-method install. */
export function chooseAuthentication(
  connector: CyclrConnector,
  requestedAuthId: string | undefined,
): CyclrAuthentication {
  const auth = requestedAuthId
    ? connector.Authentication.find((a) => a.Id.toLowerCase() === requestedAuthId.toLowerCase())
    : connector.Authentication[0];
  if (!auth) {
    throw new CyclrError(
      400,
      `AuthenticationId '${requestedAuthId}' is not an authentication method of connector ${connector.Id}. Use one of Connector.Authentication[].Id.`,
    );
  }
  return auth;
}

/** `Properties` of an install or update body, matched to the connector's account connector properties. */
export function parseProperties(connector: CyclrConnector, raw: unknown, nextId: () => number): PropertyRecord[] {
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
      throw new CyclrError(400, `Connector property name '${param.TargetName}' is not an account connector property.`);
    }
    const value = p.Value === undefined || p.Value === null ? '' : String(p.Value);
    return { Id: nextId(), Name: param.TargetName, Value: value };
  });
}

function requiredPropertiesSet(connector: CyclrConnector, ac: AccountConnectorRecord): boolean {
  const set = new Set([...ac.properties.values()].filter((p) => p.Value !== '').map((p) => p.Name.toLowerCase()));
  return connector.Parameters.every(
    (p) => !p.IsAccountConnectorProperty || p.IsOptional || set.has(p.TargetName.toLowerCase()),
  );
}

export function authMethod(connector: CyclrConnector, ac: AccountConnectorRecord): CyclrAuthentication {
  return connector.Authentication.find((a) => a.Id === ac.authenticationId) ?? connector.Authentication[0];
}

/** Whether the connector is ready from what the API was given, without the browser flow. */
export function authenticatedByAuthValue(connector: CyclrConnector, ac: AccountConnectorRecord): boolean {
  const auth = authMethod(connector, ac);
  if (auth.AuthType === 'None') return true;
  if (!ac.authValue || !requiredPropertiesSet(connector, ac)) return false;
  if (auth.AuthType === 'OAuth1' || auth.AuthType === 'OAuth2') {
    // "{}" asks Cyclr to fetch tokens itself, which only non-interactive grants can do.
    const selfServe = auth.OAuth2Type === 'ClientCredentials' || auth.OAuth2Type === 'PasswordCredentials';
    return ac.authValue.trim() !== '{}' || selfServe;
  }
  return true;
}

/** Whether the connectorauth flow can finish without a consent screen (non-interactive OAuth2 grants). */
export function isNonInteractive(connector: CyclrConnector, ac: AccountConnectorRecord): boolean {
  const auth = authMethod(connector, ac);
  return auth.AuthType === 'OAuth2' && auth.OAuth2Type !== 'AuthorisationCode';
}

export function canCompleteWithoutUser(connector: CyclrConnector, ac: AccountConnectorRecord): boolean {
  return requiredPropertiesSet(connector, ac);
}
