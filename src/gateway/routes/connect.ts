/**
 * GET /connect/{token}: the long-lived consent link. Each click asks the workflow for a fresh Cyclr sign-in token
 * (single-use, 5 minutes) and redirects at once, so the link can be clicked any number of times until it expires
 * or is replaced. HEAD and prefetches get a page and mint nothing.
 */
import { ProvisioningError } from '../../client.js';
import { verifyToken } from '../../signing/signed-token.js';
import type { GatewayRoutes } from '../deps.js';
import { toHttpError } from '../errors.js';
import { htmlPage } from '../openapi.js';
import { noStore, sendPage } from '../pages.js';
import { isPrefetch } from '../prefetch.js';
import {
  notAwaitingConsentPage,
  refusedLink,
  revokedLink,
  statusWithin,
  unavailable,
  unknownProvisioning,
  within,
} from './link-pages.js';

/** A person is waiting on the click; past this the page says to try again (nothing is lost). */
const AUTH_URL_TIMEOUT_MS = 20_000;

export const connectRoutes: GatewayRoutes = {
  register(app, { client, config }) {
    app.route<{ Params: { token: string } }>({
      method: ['GET', 'HEAD'],
      url: '/connect/:token',
      handler: async (request, reply) => {
        const token = request.params.token;
        const verified = verifyToken('connect', token, config.linkSigningKeys);
        reply.header('Vary', 'Purpose, Sec-Purpose');
        if (!verified.ok) return refusedLink(reply, verified.reason);
        const href = `/connect/${token}`;

        if (request.method === 'HEAD' || isPrefetch(request.headers)) {
          return sendPage(reply, 200, {
            title: 'Connect your account',
            message: 'Open this link in your browser to continue to the sign-in page.',
            action: { href, label: 'Continue' },
          });
        }

        const { wf, lid } = verified.claims;
        try {
          const auth = await within(AUTH_URL_TIMEOUT_MS, client.issueAuthUrl(wf, lid));
          return noStore(reply).redirect(auth.url, 302);
        } catch (err) {
          if (err instanceof ProvisioningError) {
            if (err.type === 'LinkRevoked') return revokedLink(reply);
            if (err.type === 'ProvisioningNotFound') return unknownProvisioning(reply);
            if (err.type === 'NotAwaitingConsent' || err.type === 'ProvisioningFinished') {
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
  },

  paths: {
    '/connect/{token}': {
      get: {
        operationId: 'openConsentLink',
        summary: 'The consent link: redirects the browser to a fresh Cyclr sign-in page',
        description:
          'Requests carrying `Purpose: prefetch` or `Sec-Purpose: prefetch` get a 200 page and mint no sign-in token.',
        parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
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
