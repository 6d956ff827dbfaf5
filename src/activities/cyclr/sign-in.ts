/**
 * The browser's way into an account connector's consent: a single-use sign-in token for an account user, and the
 * connectorauth URL on the Partner Service Domain that carries it.
 */
import { requireHttpUrl, requirePositiveInt, requireText } from './checks.js';
import { badResponseFailure, invalidRequest } from './errors.js';
import type { Transport } from './transport.js';
import type { SignInToken } from './types.js';

export interface ConnectorAuthUrlInput {
  accountConnectorId: number;
  token: string;
  targetOrigin: string;
  callbackMessage?: string;
}

export function signInLinks({ request }: Transport, serviceOrigin: string) {
  async function createSignInToken(accountId: string, username: string): Promise<{ token: string; expiresAt: string }> {
    requireText(accountId, 'accountId');
    requireText(username, 'oauth.username');
    const { data } = await request<SignInToken>({
      method: 'POST',
      route: '/v1.0/accounts/{id}/signintoken',
      path: `/v1.0/accounts/${encodeURIComponent(accountId)}/signintoken`,
      json: { Username: username },
      // Only a click mints one, and the person who clicked waits for the redirect.
      lane: 'person',
    });
    if (typeof data?.Token !== 'string' || !data.Token) {
      throw badResponseFailure('POST /v1.0/accounts/{id}/signintoken', 200, 'no Token');
    }
    return { token: data.Token, expiresAt: String(data.ExpiresAtUtc ?? '') };
  }

  function connectorAuthUrl(input: ConnectorAuthUrlInput): string {
    requirePositiveInt(input.accountConnectorId, 'accountConnectorId');
    if (typeof input.token !== 'string' || !input.token)
      throw invalidRequest('token must be a non-empty sign-in token');
    requireHttpUrl(input.targetOrigin, 'targetOrigin');
    const params: [string, string][] = [
      ['id', String(input.accountConnectorId)],
      ['token', input.token],
      ['targetOrigin', input.targetOrigin],
    ];
    if (input.callbackMessage !== undefined) params.push(['callbackMessage', input.callbackMessage]);
    // encodeURIComponent, not URLSearchParams: a space becomes %20, never a '+' that could be read back as a plus.
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    return `${serviceOrigin}/connectorauth/updateaccountconnectoroauth?${query}`;
  }

  return { createSignInToken, connectorAuthUrl };
}
