/**
 * GET /connect/{token}: the long-lived consent link. Each click asks the workflow for a fresh Cyclr sign-in token
 * (single-use, 5 minutes) and redirects at once, so the link can be clicked any number of times until it expires
 * or is replaced. HEAD and prefetches get a page and mint nothing.
 *
 * GET /connect/{token}/status: the link's provisioning stage and nothing else, for the browser helper
 * (/assets/consent.js) polling from the embedding app's origin (CORS, no credentials).
 */
import type { FastifyReply } from 'fastify';
import { oauthCallbackUrl } from '../../signing/oauth-callback.js';
import { ProvisioningError } from '../../client.js';
import { verifyToken } from '../../signing/signed-token.js';
import type { GatewayRoutes } from '../deps.js';
import { toHttpError } from '../errors.js';
import { htmlPage } from '../openapi.js';
import { noStore, sendPage } from '../pages.js';
import { isPrefetch } from '../prefetch.js';
import {
  linkRefusalBody,
  notAwaitingConsentPage,
  refusedLink,
  revokedLink,
  statusWithin,
  tooManyClicks,
  unavailable,
  unknownProvisioning,
  within,
} from './link-pages.js';
import { Failure } from '../../contract/failures.js';

/** A person is waiting on the click; past this the page says to try again (nothing is lost). */
const AUTH_URL_TIMEOUT_MS = 20_000;

/** A poll that cannot be answered quickly is answered 503 and polled again; the helper never waits on one. */
const STATUS_TIMEOUT_MS = 5_000;

/**
 * `?flow=redirect` (the helper's fallback when a popup is blocked): the page itself goes to Cyclr, so there is no
 * opener to post callbackMessage to. Ask Cyclr for the redirect flow instead, back through our callback to the
 * request's returnUrl.
 */
function asRedirectFlow(cyclrUrl: string, callbackUrl: string): string {
  const url = new URL(cyclrUrl);
  const names = [...url.searchParams.keys()];
  // ASP.NET binds query parameters case-insensitively, so match Cyclr's names the same way.
  const callbackMessage = names.find((n) => n.toLowerCase() === 'callbackmessage');
  if (callbackMessage === undefined) return cyclrUrl;
  url.searchParams.delete(callbackMessage);
  for (const n of names) if (n.toLowerCase() === 'targetorigin') url.searchParams.delete(n);
  url.searchParams.set('targetOrigin', callbackUrl);
  return url.toString();
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('Cache-Control', 'no-store').header('X-Content-Type-Options', 'nosniff').send(body);
}

export const connectRoutes: GatewayRoutes = {
  register(app, { client, config }) {
    // Every click mints a Cyclr sign-in token and spends the Cyclr request rate every provisioning shares, so clicks
    // are counted per link, whoever sends them (a link passed around, or clicked from many addresses, has one
    // budget). Only a provisioning's current link can mint, so this is its budget; a re-issued link starts afresh.
    // Fixed window: refused clicks do not extend it.
    const clicks = app.createRateLimit({
      max: config.consentClickLimit.max,
      timeWindow: config.consentClickLimit.windowMs,
      keyGenerator: (request) => {
        const verified = verifyToken('connect', (request.params as { token: string }).token, config.linkSigningKeys);
        return verified.ok ? `consent-link:${verified.claims.wf}:${verified.claims.lid}` : 'consent-link:invalid';
      },
    });

    app.route<{ Params: { token: string }; Querystring: { flow?: string } }>({
      method: ['GET', 'HEAD'],
      url: '/connect/:token',
      handler: async (request, reply) => {
        const token = request.params.token;
        const verified = verifyToken('connect', token, config.linkSigningKeys);
        reply.header('Vary', 'Purpose, Sec-Purpose');
        if (!verified.ok) return refusedLink(reply, verified.reason);
        // Links name their link id (so a newer link revokes them); one without is not ours to honour.
        if (verified.claims.lid === undefined) return refusedLink(reply, 'bad-signature');
        const href = `/connect/${token}`;

        if (request.method === 'HEAD' || isPrefetch(request.headers)) {
          return sendPage(reply, 200, {
            title: 'Connect your account',
            message: 'Open this link in your browser to continue to the sign-in page.',
            action: { href, label: 'Continue' },
          });
        }

        const { wf, lid } = verified.claims;
        const counted = await clicks(request);
        if (!counted.isAllowed && counted.isExceeded) return tooManyClicks(reply, Math.max(1, counted.ttlInSeconds));
        try {
          const auth = await within(AUTH_URL_TIMEOUT_MS, client.issueAuthUrl(wf, lid, config.consentClickLimit));
          const url =
            request.query.flow === 'redirect'
              ? asRedirectFlow(auth.url, oauthCallbackUrl(config.publicBaseUrl, wf, lid, config.linkSigningKeys))
              : auth.url;
          return noStore(reply).redirect(url, 302);
        } catch (err) {
          if (err instanceof ProvisioningError) {
            if (err.type === Failure.LinkRevoked) return revokedLink(reply);
            // Another gateway's clicks count too: the provisioning keeps the one count.
            if (err.type === Failure.TooManyClicks) {
              return tooManyClicks(reply, Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000)));
            }
            if (err.type === Failure.ProvisioningNotFound) return unknownProvisioning(reply);
            if (err.type === Failure.NotAwaitingConsent || err.type === Failure.ProvisioningFinished) {
              const { status, page, retryAfterSeconds } = notAwaitingConsentPage(await statusWithin(client, wf), href);
              if (retryAfterSeconds) reply.header('Retry-After', String(retryAfterSeconds));
              return sendPage(reply, status, page);
            }
          }
          request.log.error({ errorType: toHttpError(err).body.error }, 'consent link could not be served');
          return unavailable(reply);
        }
      },
    });

    // The app on another origin polls this route with a simple GET (no custom headers, so no preflight): one header
    // is all the CORS it needs. No cookies are involved (the token in the path is the credential), so any origin may
    // read it; what it reveals is what /connect's own pages say.
    app.get<{ Params: { token: string } }>(
      '/connect/:token/status',
      { exposeHeadRoute: false },
      async (request, reply) => {
        reply.header('Access-Control-Allow-Origin', '*');
        const verified = verifyToken('connect', request.params.token, config.linkSigningKeys);
        if (!verified.ok || verified.claims.lid === undefined) {
          const refusal = linkRefusalBody(verified.ok ? 'bad-signature' : verified.reason);
          return sendJson(reply, refusal.status, refusal.body);
        }
        const { wf, lid } = verified.claims;
        let status;
        try {
          status = await client.status(wf, { timeoutMs: STATUS_TIMEOUT_MS });
        } catch (err) {
          if (err instanceof ProvisioningError && err.type === Failure.ProvisioningNotFound) {
            const refusal = linkRefusalBody('unknown-provisioning');
            return sendJson(reply, refusal.status, refusal.body);
          }
          request.log.warn({ errorType: toHttpError(err).body.error }, 'consent link status could not be read');
          return sendJson(reply, 503, {
            error: 'Unavailable',
            message: 'the status could not be read just now; try again shortly',
          }).header('Retry-After', '5');
        }
        // A newer link revokes this one, as /connect would say (the workflow's current link names its id).
        if (status.consentLink) {
          const current = verifyToken('connect', status.consentLink.split('/').pop() ?? '', config.linkSigningKeys);
          if (current.ok && current.claims.lid !== lid) {
            const refusal = linkRefusalBody('revoked');
            return sendJson(reply, refusal.status, refusal.body);
          }
        }
        return sendJson(reply, 200, { stage: status.stage });
      },
    );
  },

  paths: {
    '/connect/{token}/status': {
      get: {
        operationId: 'consentLinkStatus',
        summary:
          "The stage of the link's own provisioning, and nothing else (for /assets/consent.js; CORS: any origin)",
        description:
          'Readable from any origin (`Access-Control-Allow-Origin: *`, no credentials) with a simple GET: send no ' +
          'custom headers, as no preflight is answered.',
        parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'The stage, e.g. awaiting-consent, verifying, completed, cancelled, expired, failed',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['stage'],
                  additionalProperties: false,
                  properties: { stage: { type: 'string' } },
                },
              },
            },
          },
          '403': { description: 'LinkInvalid: bad signature or unknown key' },
          '404': { description: 'LinkNotFound (malformed) or ProvisioningNotFound' },
          '410': { description: 'LinkExpired, or LinkRevoked (replaced by a newer link)' },
          '503': { description: 'Temporarily unavailable; poll again (Retry-After)' },
        },
      },
    },
    '/connect/{token}': {
      get: {
        operationId: 'openConsentLink',
        summary: 'The consent link: redirects the browser to a fresh Cyclr sign-in page',
        description:
          'Requests carrying `Purpose: prefetch` or `Sec-Purpose: prefetch` get a 200 page and mint no sign-in token. ' +
          "`?flow=redirect` (the browser helper's fallback when a popup is blocked) asks Cyclr to redirect back " +
          "through /oauth/callback to the request's returnUrl even when the provisioning uses callbackMessage.",
        parameters: [
          { name: 'token', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'flow', in: 'query', required: false, schema: { type: 'string', enum: ['redirect'] } },
        ],
        responses: {
          '302': {
            description:
              "Redirect to Cyclr's connectorauth page (Cache-Control: no-store, Referrer-Policy: no-referrer)",
          },
          '200': htmlPage('A prefetch: a short page, nothing minted'),
          '403': htmlPage('Bad signature or unknown key'),
          '404': htmlPage('Malformed link, or the provisioning does not exist'),
          '409': htmlPage('Already connected, or being checked right now'),
          '410': htmlPage('Expired, replaced by a newer link, or the provisioning was cancelled'),
          '429': htmlPage(
            'This link started sign-in too often (GATEWAY_CONSENT_CLICK_LIMIT, default 10 in 10 minutes): nothing minted; the page says when to try again (Retry-After)',
          ),
          '503': htmlPage('Temporarily unavailable'),
        },
      },
      head: {
        operationId: 'probeConsentLink',
        summary: 'For link checkers: verifies the link, mints nothing',
        parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'A valid link' },
          '403': { description: 'Not valid' },
          '404': { description: 'Malformed' },
          '410': { description: 'Expired' },
        },
      },
    },
  },
};
