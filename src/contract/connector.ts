/** Pure decisions about a resolved connector, shared by the workflow and the batch (no I/O here). */
import type { ApplicationFailure } from '@temporalio/common';
import { Failure, failure } from './failures.js';
import type { ProvisioningRequest } from './request.js';

/** Cyclr's authentication types, as its API names them (docs/cyclr-api.md). */
export type AuthType = 'ApiKey' | 'Basic' | 'OAuth1' | 'OAuth2' | 'None' | 'AuthFields';
export type OAuth2Type = 'AuthorisationCode' | 'ClientCredentials' | 'PasswordCredentials' | 'Unknown';

export interface AuthMethod {
  id?: string;
  name?: string;
  authType: AuthType;
  oauth2Type: OAuth2Type;
}

/** What the workflow keeps of a Cyclr connector: small, with nothing secret. */
export interface ResolvedConnector {
  id: number;
  name: string;
  version: string;
  authType: AuthType;
  oauth2Type: OAuth2Type;
  authentications: AuthMethod[];
  /** TargetNames of account-connector parameters that must be set before authentication. */
  requiredProperties: string[];
}

/** OAuth1, and OAuth2's authorisation-code grant, need a person at a browser; the other types do not. */
export function needsConsent(method: AuthMethod): boolean {
  return method.authType === 'OAuth1' || (method.authType === 'OAuth2' && method.oauth2Type === 'AuthorisationCode');
}

function describe(method: AuthMethod): string {
  const kind = method.authType === 'OAuth2' ? `OAuth2 ${method.oauth2Type}` : method.authType;
  return method.id ? `"${method.name ?? kind}" (${kind}, authenticationId ${method.id})` : kind;
}

function invalid(message: string): ApplicationFailure {
  return failure(Failure.InvalidRequest, message);
}

/**
 * Picks the authentication method the install will use and checks that the request carries what it needs, so a
 * request that cannot succeed fails before anything is installed.
 */
export function chooseAuthMethod(connector: ResolvedConnector, request: ProvisioningRequest): AuthMethod {
  const methods = connector.authentications;
  let method: AuthMethod;
  if (request.authenticationId) {
    const found = methods.find((m) => m.id === request.authenticationId);
    if (!found) {
      throw invalid(
        `authenticationId: "${request.authenticationId}" is not a method of ${connector.name} ${connector.version}; ` +
          `use one of ${methods.map(describe).join(', ') || 'none (omit authenticationId)'}`,
      );
    }
    method = found;
  } else if (methods.length > 1) {
    throw invalid(
      `authenticationId: ${connector.name} ${connector.version} offers ${methods.length} authentication methods; ` +
        `choose one of ${methods.map(describe).join(', ')}`,
    );
  } else {
    method = methods[0] ?? { authType: connector.authType, oauth2Type: connector.oauth2Type };
  }

  const given = new Set((request.properties ?? []).map((p) => p.name));
  const missing = connector.requiredProperties.filter((p) => !given.has(p));
  if (missing.length) {
    throw invalid(
      `properties: ${connector.name} needs ${missing.map((m) => `"${m}"`).join(', ')}; add them as { "name", "value" }`,
    );
  }
  if (needsConsent(method)) {
    if (!request.oauth && !request.authValue) {
      throw invalid(
        `oauth: ${connector.name} uses ${describe(method)}, which needs the customer's consent; ` +
          'add { "username": "...", "returnUrl": "https://..." }',
      );
    }
  } else if (['ApiKey', 'Basic', 'AuthFields'].includes(method.authType) && !request.authValue) {
    const what =
      method.authType === 'Basic'
        ? 'base64 of "user:password"'
        : method.authType === 'ApiKey'
          ? 'the API key'
          : 'the auth fields';
    throw invalid(`authValue: ${connector.name} uses ${describe(method)}; pass ${what} as authValue`);
  }
  return method;
}

/** The install call for a request, as the workflow and a batch's rows both make it (idempotent by Name). */
export function installInput(request: ProvisioningRequest, connector: ResolvedConnector, method: AuthMethod) {
  return {
    accountId: request.accountId,
    connectorId: connector.id,
    body: {
      Name: request.installName ?? connector.name,
      Description: request.description,
      AuthenticationId: method.id && connector.authentications.length > 1 ? method.id : request.authenticationId,
      AuthValue: request.authValue,
      Properties: request.properties?.map((p) => ({ Name: p.name, Value: p.value, Id: 0 })),
    },
  };
}
