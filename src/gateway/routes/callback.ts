/**
 * GET /oauth/callback?state=...: where Cyclr sends the browser after consent (targetOrigin). A valid, signed state
 * tells the workflow consent happened (a hint; the workflow checks with Cyclr) and sends the browser on to the
 * request's returnUrl. Anything else is refused and signals nothing.
 */
import type { FastifyReply } from 'fastify';
import { ProvisioningError } from '../../client.js';
import { verifyToken } from '../../signing/signed-token.js';
import type { GatewayRoutes } from '../deps.js';
import { toHttpError } from '../errors.js';
import { htmlPage } from '../openapi.js';
import { noStore, sendPage } from '../pages.js';
import { statusWithin, unavailable, unknownProvisioning } from './link-pages.js';
import { Failure } from '../../contract/failures.js';

const ENDED = ['cancelled', 'expired', 'failed'];

function invalidState(reply: FastifyReply, status: 400 | 403 = 403): FastifyReply {
  return sendPage(reply, status, {
    title: 'This sign-in response is not valid',
    message: 'We could not confirm this response came from your sign-in. Open the link you were sent again to finish.',
  });
}

export const callbackRoutes: GatewayRoutes = {
  register(app, { client, config }) {
    // No automatic HEAD route: a HEAD must not signal the workflow.
    app.get<{ Querystring: { state?: string | string[] } }>(
      '/oauth/callback',
      { exposeHeadRoute: false },
      async (request, reply) => {
        const state = request.query.state;
        if (typeof state !== 'string' || !state) {
          return sendPage(reply, 400, {
            title: 'Incomplete sign-in response',
            message:
              'This page expects to be reached from the sign-in page, with its state. Start again from the link you were sent.',
          });
        }
        const verified = verifyToken('callback', state, config.linkSigningKeys);
        if (!verified.ok) {
          if (verified.reason !== 'expired') return invalidState(reply, verified.reason === 'malformed' ? 400 : 403);
          return sendPage(reply, 403, {
            title: 'This sign-in response has expired',
            message: 'Too much time passed since sign-in started. Open the link you were sent again to finish.',
          });
        }

        // A state names the consent link its sign-in started from: without one it is not ours to honour, and once
        // that link is replaced (re-issued, or the provisioning ended) the state dies with it and signals nothing.
        const { wf: workflowId, lid } = verified.claims;
        if (lid === undefined) return invalidState(reply);
        const before = await statusWithin(client, workflowId);
        const current = before?.consentLink
          ? verifyToken('connect', before.consentLink.split('/').pop() ?? '', config.linkSigningKeys)
          : undefined;
        if (current?.ok && current.claims.lid !== lid) {
          return sendPage(reply, 410, {
            title: 'This sign-in was started from an old link',
            message:
              'The link this sign-in started from was replaced by a newer one. Use the link from the most recent email you received.',
          });
        }
        try {
          await client.completeConsent(workflowId, 'callback');
        } catch (err) {
          if (err instanceof ProvisioningError && err.type === Failure.ProvisioningNotFound)
            return unknownProvisioning(reply);
          // Already finished: the user may still be done (completed), handled below by the stage.
          if (!(err instanceof ProvisioningError && err.type === Failure.ProvisioningFinished)) {
            request.log.error({ errorType: toHttpError(err).body.error }, 'consent callback could not be signalled');
            return unavailable(reply);
          }
        }

        // The stage and returnUrl read before signalling answer for the page (a signal does not change them).
        const status = before ?? (await statusWithin(client, workflowId));
        if (status && ENDED.includes(status.stage)) {
          return sendPage(reply, 410, {
            title: 'This request has ended',
            message: `This connection request was ${status.stage === 'failed' ? 'stopped' : status.stage} before sign-in finished. Ask the team that sent the link for a new one.`,
          });
        }
        if (status?.returnUrl) return noStore(reply).redirect(status.returnUrl, 302);
        return sendPage(reply, 200, {
          title: 'Thank you',
          message: 'Sign-in is complete. You can close this window.',
        });
      },
    );
  },

  paths: {
    '/oauth/callback': {
      get: {
        operationId: 'oauthCallback',
        summary: "Cyclr's redirect target after consent: signals the provisioning and redirects to its returnUrl",
        parameters: [{ name: 'state', in: 'query', required: true, schema: { type: 'string' } }],
        responses: {
          '302': { description: "Redirect to the request's oauth.returnUrl" },
          '200': htmlPage('Done, but no returnUrl is known (or the status could not be read in time)'),
          '400': htmlPage('Missing or malformed state; nothing signalled'),
          '403': htmlPage(
            'State with a bad signature, for another purpose, naming no consent link, or expired; nothing signalled',
          ),
          '404': htmlPage('The provisioning does not exist'),
          '410': htmlPage(
            'The consent link the state names was replaced (nothing signalled), or the provisioning was cancelled, expired or failed',
          ),
          '503': htmlPage('Temporarily unavailable'),
        },
      },
    },
  },
};
