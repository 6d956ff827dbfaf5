/**
 * What protects every console route: signed cookies, form bodies, a strict CSP (no inline code; scripts and styles
 * come from /console/assets) and the other helmet headers, CSRF tokens bound to the session, and no caching.
 */
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cookieOptions, CSRF_COOKIE, csrfUserInfo, type SessionKeys } from './session.js';

export async function registerProtection(app: FastifyInstance, keys: SessionKeys, secure: boolean): Promise<void> {
  await app.register(fastifyCookie, { secret: keys.cookie });
  await app.register(fastifyFormbody, { bodyLimit: 1024 * 1024 });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    hsts: secure ? { maxAge: 31_536_000 } : false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: cookieOptions(secure),
    // Bound to the session id, so a token from one sign-in (or from before it) is refused in another.
    getUserInfo: (request: FastifyRequest) => csrfUserInfo(request.consoleSession),
    csrfOpts: { hmacKey: keys.csrf },
  });

  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('Cache-Control', 'no-store');
  });
}
