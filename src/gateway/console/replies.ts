/**
 * How console routes answer: a page (with the session's scope and a fresh CSRF token), a page that only says
 * something, the sign-in and scope check every page makes, and the console's own error and not-found pages.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '../auth.js';
import { csrfUserInfo, type ConsoleSession } from './session.js';
import { messagePage, type PageContext } from './views/layout.js';

export function page(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  render: (ctx: PageContext) => string,
): FastifyReply {
  const session = request.consoleSession;
  const ctx = {
    scope: session?.scope,
    tokenName: session?.tokenName,
    csrf: reply.generateCsrf({ userInfo: csrfUserInfo(session) }),
  };
  return reply.code(status).type('text/html; charset=utf-8').send(render(ctx));
}

export function message(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  text: string,
): FastifyReply {
  return page(request, reply, status, (ctx) =>
    messagePage(ctx, title, text, { href: '/console', label: 'Back to the console' }),
  );
}

/** The session, or a reply already sent (sign-in needed, or a read-only session asking to write). */
export function guard(request: FastifyRequest, reply: FastifyReply, need: Scope): ConsoleSession | undefined {
  const session = request.consoleSession;
  if (!session) {
    if (request.method === 'GET') void reply.redirect('/console', 303);
    else void message(request, reply, 401, 'Signed out', 'Your session has ended; sign in again.');
    return undefined;
  }
  if (need === 'write' && session.scope !== 'write') {
    void message(
      request,
      reply,
      403,
      'Read-only',
      'You signed in with a read token; this needs a write token (GATEWAY_API_TOKENS).',
    );
    return undefined;
  }
  return session;
}

export function registerErrorPages(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') {
      return message(
        request,
        reply,
        403,
        'Form expired',
        'This form has expired or did not come from this console (or you signed in again since). Go back, reload the page and try again.',
      );
    }
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'console request failed');
    return message(
      request,
      reply,
      status,
      'Something went wrong',
      status >= 500 ? 'The console could not do that; the gateway log has the details.' : err.message,
    );
  });
  app.setNotFoundHandler((request, reply) =>
    message(request, reply, 404, 'Not found', 'There is no console page at that address.'),
  );
}
