/** Signing in with a gateway token (exchanged for the session cookie; the token is never stored) and signing out. */
import type { FastifyInstance } from 'fastify';
import { scopeOf } from '../auth.js';
import type { ConsoleContext } from './context.js';
import { one, type Body } from './form.js';
import { page } from './replies.js';
import { clearSession, newSession, tokenFingerprint, writeSession } from './session.js';
import { signInPage } from './views/sign-in.js';

export function registerSessionRoutes(
  app: FastifyInstance,
  { deps: { config, tokens }, keys, secure, csrf }: ConsoleContext,
): void {
  app.post('/sign-in', csrf, async (request, reply) => {
    const token = one((request.body as Body | undefined)?.token);
    const { write, read } = config.gatewayTokens;
    let problem: string | undefined;
    if (write.length + read.length === 0) {
      problem =
        'No gateway tokens are configured: set GATEWAY_API_TOKENS (and GATEWAY_READ_TOKENS) to use the console.';
    } else {
      const scope = scopeOf(token, config.gatewayTokens);
      if (scope) {
        const fingerprint = tokenFingerprint(keys.fingerprint, token!);
        const name = tokens.known.get(fingerprint)!.name;
        writeSession(reply, newSession(scope, { fingerprint, name }), secure);
        request.log.info({ token: name, scope }, 'console sign-in');
        return reply.redirect('/console', 303);
      }
      if (token) {
        // A wrong token counts toward the same per-client limit as the API's bearer check.
        const lockedFor = await app.authFailures.count(request);
        if (lockedFor) {
          reply.header('Retry-After', String(lockedFor));
          const problem = `Too many failed sign-ins from your address; try again in ${lockedFor} seconds.`;
          return page(request, reply, 429, (ctx) => signInPage(ctx, problem));
        }
      }
      problem = token ? 'That token is not a gateway token; check it and try again.' : 'Token: enter a gateway token.';
    }
    return page(request, reply, 401, (ctx) => signInPage(ctx, problem));
  });

  app.post('/sign-out', csrf, async (_request, reply) => {
    clearSession(reply, secure);
    return reply.redirect('/console', 303);
  });
}
