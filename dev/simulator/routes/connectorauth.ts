/**
 * The browser side of Cyclr's connector authentication, served on the same host (the simulator's URL doubles as
 * the Partner Service Domain). The sign-in token is burnt on the GET; the consent form carries a separate one-time
 * nonce, so the token never reaches the form or the next page.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimContext } from '../http.js';
import {
  DEFAULT_CALLBACK_ERROR_HTML,
  badRequestPage,
  callbackErrorPage,
  callbackMessagePage,
  consentPage,
  forbiddenPage,
} from '../consent-page.js';
import { CyclrError, type ConsentRequest } from '../records.js';

function html(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(body);
}

/** ASP.NET binds query parameters case-insensitively. */
function lowerKeys(query: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(query)) out[k.toLowerCase()] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

function isAbsoluteHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

export function registerConnectorAuthRoutes(app: FastifyInstance, ctx: SimContext) {
  const { state } = ctx;
  const config = { group: 'connectorauth', html: true } as const;
  /** Cyclr's Settings > Appearance > "Connector Callback Error HTML", per partner; Cyclr's default until set. */
  let callbackErrorHtml = DEFAULT_CALLBACK_ERROR_HTML;
  const errorPage = (error: string, description: string) => callbackErrorPage(error, description, callbackErrorHtml);

  /** Flow done: redirect to targetOrigin, or with callbackMessage, post it to the opener/parent. */
  const finish = (reply: FastifyReply, req: Pick<ConsentRequest, 'targetOrigin' | 'callbackMessage'>) =>
    req.callbackMessage !== undefined
      ? html(reply, 200, callbackMessagePage(req.callbackMessage, req.targetOrigin))
      : reply.header('Cache-Control', 'no-store').redirect(req.targetOrigin, 302);

  app.get('/connectorauth/updateaccountconnectoroauth', { config }, async (request, reply) => {
    const q = lowerKeys(request.query as Record<string, unknown>);
    if (!q.id || !/^\d{1,9}$/.test(q.id)) {
      return html(reply, 400, badRequestPage('id must be the account connector Id (a whole number).'));
    }
    if (!q.targetorigin || !isAbsoluteHttpUrl(q.targetorigin)) {
      return html(reply, 400, badRequestPage('targetOrigin is required and must be an absolute http(s) URL.'));
    }
    if (!q.token) return html(reply, 403, forbiddenPage());
    const ac = state.redeemSignInToken(q.token, Number(q.id));
    const request_ = { targetOrigin: q.targetorigin, callbackMessage: q.callbackmessage };
    if (state.isNonInteractive(ac)) {
      // ClientCredentials/PasswordCredentials: no consent screen; Cyclr fetches tokens and bounces straight back.
      if (!state.canCompleteWithoutUser(ac)) {
        return html(
          reply,
          200,
          errorPage('invalid_request', "Set the connector's required properties before authenticating it."),
        );
      }
      state.markAuthenticated(ac.id);
      return finish(reply, request_);
    }
    const connector = state.catalog.get(ac.connectorId)!;
    const nonce = state.credentials.openConsentForm({
      accountConnectorId: ac.id,
      accountId: ac.accountId,
      ...request_,
    });
    return html(
      reply,
      200,
      consentPage({
        connectorName: connector.Name,
        connectorVersion: connector.Version,
        accountName: state.getAccount(ac.accountId).Name,
        accountConnectorName: ac.name,
        nonce,
      }),
    );
  });

  const nonceOf = (body: unknown) =>
    body && typeof body === 'object' ? String((body as Record<string, unknown>).nonce ?? '') : '';

  app.post('/connectorauth/approve', { config }, async (request, reply) => {
    const form = state.credentials.takeConsentForm(nonceOf(request.body));
    const ac = state.findAccountConnector(form.accountConnectorId);
    if (!ac || ac.accountId !== form.accountId) {
      return html(reply, 200, errorPage('invalid_request', 'The account connector no longer exists.'));
    }
    state.markAuthenticated(ac.id);
    return finish(reply, form);
  });

  // Deny stands for the third party answering `error=access_denied`. Cyclr neither redirects nor posts a message
  // then: the user is left on the callback error page, which says only what the partner's custom HTML says.
  app.post('/connectorauth/deny', { config }, async (request, reply) => {
    state.credentials.takeConsentForm(nonceOf(request.body));
    return html(reply, 200, errorPage('access_denied', 'The user denied the authorisation request.'));
  });

  // The partner's Appearance settings, as a test or a person sets them in Cyclr's console.
  const admin = { admin: true } as const;
  app.get('/_admin/appearance', { config: admin }, async () => ({ callbackErrorHtml }));
  app.post('/_admin/appearance', { config: admin }, async (request) => {
    const body = (request.body ?? {}) as { callbackErrorHtml?: unknown };
    if (body.callbackErrorHtml === null) callbackErrorHtml = DEFAULT_CALLBACK_ERROR_HTML;
    else if (typeof body.callbackErrorHtml === 'string' && body.callbackErrorHtml.trim()) {
      callbackErrorHtml = body.callbackErrorHtml;
    } else {
      throw new CyclrError(400, 'callbackErrorHtml must be non-empty HTML, or null for the default page.');
    }
    return { callbackErrorHtml };
  });
}

/** Error pages for the HTML routes (the JSON API answers `{"Message": ...}` instead). */
export function htmlErrorPage(error: unknown): { status: number; body: string } {
  if (error instanceof CyclrError && error.status === 403) return { status: 403, body: forbiddenPage() };
  if (error instanceof CyclrError && error.status < 500)
    return { status: error.status, body: badRequestPage(error.message) };
  return { status: 500, body: badRequestPage('An error has occurred.') };
}
