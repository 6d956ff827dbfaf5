/** Start, read, cancel a provisioning, and re-send its consent link (JSON). */
import { msToNumber } from '@temporalio/common';
import type { FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_START_WAIT_MS } from '../../client.js';
import { provisioningRequestSchema } from '../../contract/request.js';
import { initialStatus, type ProvisioningStatus } from '../../contract/messages.js';
import type { GatewayRoutes } from '../deps.js';
import { GatewayError } from '../errors.js';
import {
  cancelBodySchema,
  cancelResponses,
  consentLinkSchema,
  errorResponse,
  json,
  provisioningSchema,
  reconnectBodySchema,
  removedSchema,
  workflowIdParams,
} from '../schemas.js';
import { Failure } from '../../contract/failures.js';

/** Only provisionConnector workflows are served here; a batch id would fail in confusing ways further down. */
function requireProvisioningId(id: string): string {
  if (!id.startsWith('provision:')) {
    throw new GatewayError(
      404,
      Failure.ProvisioningNotFound,
      `no provisioning "${id}"; ids look like provision:{accountId}:{installName}`,
    );
  }
  return id;
}

function location(reply: FastifyReply, workflowId: string): FastifyReply {
  return reply.header('Location', `/provisionings/${encodeURIComponent(workflowId)}`);
}

/** `?wait=10s`: a Temporal duration up to 30 s (the first, if given twice); absent: answer at once. */
const waitSchema = z.preprocess(
  (raw) => (Array.isArray(raw) ? raw[0] : raw),
  z.string().transform((value, ctx) => {
    let ms: number | undefined;
    try {
      ms = /^\d/.test(value) ? msToNumber(value as Parameters<typeof msToNumber>[0]) : undefined;
    } catch {
      ms = undefined;
    }
    if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > MAX_START_WAIT_MS) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration from 0s to 30s; write e.g. ?wait=10s` });
      return z.NEVER;
    }
    return ms;
  }),
);

const startQuery = z.object({
  wait: waitSchema.optional().describe('How long to wait for the consent link, e.g. 10s (at most 30s)'),
});

const START = {
  operationId: 'startProvisioning',
  summary: 'Start a provisioning (idempotent: the same account and install name return the same one)',
  description:
    'With `?wait=10s` (any duration up to 30s) the answer comes once the provisioning awaits consent (its ' +
    'status then carries `consentLink`) or has ended, or with the current status when the wait runs out.',
  querystring: startQuery,
  body: provisioningRequestSchema,
  response: {
    202: json(provisioningSchema, 'Started; Location names the provisioning'),
    200: json(provisioningSchema, 'Already running: the existing provisioning and its status'),
    400: errorResponse('Invalid body or `wait`; `fields` names each bad field and the fix'),
    415: errorResponse('The body is not JSON'),
  },
};

const RECONNECT = {
  operationId: 'reconnectProvisioning',
  summary: 'Reconnect a completed provisioning (same id): it checks with Cyclr, and waits for consent if it lapsed',
  description:
    'Still authenticated at Cyclr: the new run completes at once and its history says so. Lapsed: it waits for ' +
    'consent like a first provisioning (`?wait=10s` answers with the consent link). `{"force": true}` ' +
    'de-authenticates at Cyclr first. A provisioning that is running is returned as it is (200).',
  params: workflowIdParams,
  querystring: startQuery,
  body: reconnectBodySchema,
  response: {
    202: json(provisioningSchema, 'Reconnect started'),
    200: json(provisioningSchema, 'Already running: that run and its status'),
    400: errorResponse('Invalid body or `wait`'),
    404: errorResponse('No such provisioning'),
    409: errorResponse('Not completed (start it again instead), or removed'),
  },
};

const REMOVE = {
  operationId: 'removeProvisioning',
  summary: 'Remove (offboard): uninstall the account connector at Cyclr and record the stage `removed`',
  description:
    'A running provisioning is cancelled first (its own clean-up runs). Removing a removed provisioning does ' +
    'nothing and says so (`removedByThisCall: false`). The id can be provisioned again later.',
  params: workflowIdParams,
  response: {
    200: json(removedSchema, 'Removed'),
    404: errorResponse('No such provisioning'),
  },
};

const GET = {
  operationId: 'getProvisioning',
  summary: 'Where a provisioning stands',
  params: workflowIdParams,
  response: { 200: json(provisioningSchema, 'Its status'), 404: errorResponse('No such provisioning') },
};

const CANCEL = {
  operationId: 'cancelProvisioning',
  summary: 'Cancel a provisioning; the account connector it installed is removed unless keepOnCancel was set',
  params: workflowIdParams,
  body: cancelBodySchema,
  response: cancelResponses('workflowId', 'provisioning'),
};

const REISSUE = {
  operationId: 'reissueConsentLink',
  summary: 'Issue a new consent link (to re-send it); earlier links stop working',
  params: workflowIdParams,
  response: {
    200: json(consentLinkSchema, 'The new link'),
    404: errorResponse('No such provisioning'),
    409: errorResponse('Not awaiting consent, or already finished'),
  },
};

export const provisioningRoutes: GatewayRoutes = {
  register(fastify, { client }) {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.post('/provisionings', { schema: START }, async (request, reply) => {
      const body = request.body;
      const started = await client.actingAs(request.gatewayActor).start(body, { waitMs: request.query.wait });
      if (started.status) {
        const code = started.created ? 202 : 200;
        return location(reply, started.workflowId)
          .code(code)
          .send({ workflowId: started.workflowId, status: started.status });
      }
      if (started.created) {
        // Just started: its first stage is known without waiting for a worker to answer a query.
        const status: ProvisioningStatus = { ...initialStatus(body), returnUrl: body.oauth?.returnUrl };
        return location(reply, started.workflowId).code(202).send({ workflowId: started.workflowId, status });
      }
      const status = started.status ?? (await client.status(started.workflowId));
      return location(reply, started.workflowId).code(200).send({ workflowId: started.workflowId, status });
    });

    app.get('/provisionings/:id', { schema: GET }, async (request) => {
      const workflowId = requireProvisioningId(request.params.id);
      const status = await client.status(workflowId);
      // The consent link lets whoever holds it connect an account into the customer's: a read token does not get it.
      if (request.gatewayScope === 'read') delete status.consentLink;
      return { workflowId, status };
    });

    app.post('/provisionings/:id/cancel', { schema: CANCEL }, async (request, reply) => {
      const workflowId = requireProvisioningId(request.params.id);
      await client.actingAs(request.gatewayActor).cancel(workflowId, request.body?.reason);
      return reply.code(202).send({ workflowId, cancelling: true });
    });

    app.post('/provisionings/:id/reconnect', { schema: RECONNECT }, async (request, reply) => {
      const workflowId = requireProvisioningId(request.params.id);
      const started = await client
        .actingAs(request.gatewayActor)
        .reconnect(workflowId, { force: request.body?.force, waitMs: request.query.wait });
      const status = started.status ?? (await client.status(workflowId));
      return location(reply, workflowId)
        .code(started.created ? 202 : 200)
        .send({ workflowId, status });
    });

    app.delete('/provisionings/:id', { schema: REMOVE }, async (request) => {
      const workflowId = requireProvisioningId(request.params.id);
      return client.actingAs(request.gatewayActor).remove(workflowId);
    });

    app.post('/provisionings/:id/consent-link', { schema: REISSUE }, async (request) => {
      const workflowId = requireProvisioningId(request.params.id);
      const link = await client.actingAs(request.gatewayActor).issueConsentLink(workflowId);
      return { workflowId, url: link.url, expiresAt: link.expiresAt };
    });
  },
};
