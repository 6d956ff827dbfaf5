/** POST /oauth/token: Cyclr's OWIN-style client-credentials grant. */
import type { FastifyInstance } from 'fastify';
import { committed, type SimContext } from '../http.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export function registerTokenRoute(
  app: FastifyInstance,
  ctx: SimContext,
  creds: ClientCredentials,
  lifetimeSeconds: number,
) {
  app.post('/oauth/token', { config: { group: 'token' } }, async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    const query = request.query as Record<string, unknown>;
    if ('client_id' in query || 'client_secret' in query) {
      return reply.code(400).send({
        error: 'invalid_request',
        error_description: 'Send client_id and client_secret in the form-encoded body, not in the query string.',
      });
    }
    if (!request.headers['content-type']?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return reply.code(400).send({
        error: 'invalid_request',
        error_description:
          'Send the token request as application/x-www-form-urlencoded with grant_type, client_id and client_secret.',
      });
    }
    const form = (request.body ?? {}) as Record<string, string>;
    if (form.client_id !== creds.clientId || form.client_secret !== creds.clientSecret) {
      return reply.code(400).send({ error: 'invalid_client' });
    }
    if (form.grant_type !== 'client_credentials') {
      return reply.code(400).send({ error: 'unsupported_grant_type' });
    }
    let account: string | undefined;
    if (form.scope) {
      const m = /^account:(.+)$/.exec(form.scope);
      if (!m || !ctx.state.accounts.has(m[1])) {
        return reply.code(400).send({
          error: 'invalid_scope',
          error_description: 'scope must be account:{AccountApiId} naming an existing account, or be omitted.',
        });
      }
      account = m[1];
    }
    const t = ctx.state.credentials.issueToken(account);
    return committed(ctx, request, reply, {
      access_token: t.token,
      token_type: 'bearer',
      expires_in: lifetimeSeconds,
      clientId: creds.clientId,
      '.issued': t.issuedAt.toUTCString(),
      '.expires': t.expiresAt.toUTCString(),
    });
  });
}
