/** Start, read, cancel a provisioning, and re-send its consent link (JSON). */
import { msToNumber } from '@temporalio/common';
import type { FastifyReply } from 'fastify';
import { MAX_START_WAIT_MS } from '../../client.js';
import { parseProvisioningRequest, type InvalidField } from '../../contract/request.js';
import type { ProvisioningStatus } from '../../contract/messages.js';
import type { GatewayRoutes } from '../deps.js';
import { GatewayError, invalidRequest } from '../errors.js';
import { errorResponse, json, workflowIdParam, cancelOperation } from '../openapi.js';

/** Only provisionConnector workflows are served here; a batch id would fail in confusing ways further down. */
function requireProvisioningId(id: string): string {
  if (!id.startsWith('provision:')) {
    throw new GatewayError(
      404,
      'ProvisioningNotFound',
      `no provisioning "${id}"; ids look like provision:{accountId}:{installName}`,
    );
  }
  return id;
}

function location(reply: FastifyReply, workflowId: string): FastifyReply {
  return reply.header('Location', `/provisionings/${encodeURIComponent(workflowId)}`);
}

/** `?wait=10s`: a Temporal duration up to 30 s; absent: answer at once. */
function parseWait(raw: string | string[] | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw[0] : raw;
  let ms: number | undefined;
  try {
    ms = value && /^\d/.test(value) ? msToNumber(value as Parameters<typeof msToNumber>[0]) : undefined;
  } catch {
    ms = undefined;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > MAX_START_WAIT_MS) {
    throw invalidRequest([
      { path: 'wait', message: `"${String(value)}" is not a duration from 0s to 30s; write e.g. ?wait=10s` },
    ]);
  }
  return ms;
}

function parseCancelBody(body: unknown): { reason?: string } {
  if (body === undefined || body === null) return {};
  const fields: InvalidField[] = [];
  if (typeof body !== 'object' || Array.isArray(body)) {
    fields.push({ path: '(request)', message: 'must be a JSON object such as {"reason": "customer churned"}' });
  } else {
    const { reason, ...rest } = body as Record<string, unknown>;
    for (const key of Object.keys(rest)) {
      fields.push({ path: key, message: `unknown field "${key}"; the only field is "reason"` });
    }
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) {
      fields.push({ path: 'reason', message: 'must be a string of at most 500 characters' });
    }
    if (!fields.length) return { reason: reason as string | undefined };
  }
  throw invalidRequest(fields);
}

export const provisioningRoutes: GatewayRoutes = {
  register(app, { client }) {
    app.post<{ Querystring: { wait?: string } }>('/provisionings', async (request, reply) => {
      const waitMs = parseWait(request.query.wait);
      const parsed = parseProvisioningRequest(request.body);
      if (!parsed.ok) throw invalidRequest(parsed.errors);
      const started = await client.start(parsed.request, { waitMs });
      if (started.status) {
        const code = started.created ? 202 : 200;
        return location(reply, started.workflowId)
          .code(code)
          .send({ workflowId: started.workflowId, status: started.status });
      }
      if (started.created) {
        // Just started: its first stage is known without waiting for a worker to answer a query.
        const status: ProvisioningStatus = {
          stage: 'resolving-connector',
          accountId: parsed.request.accountId,
          connector: { id: parsed.request.connector.id, name: parsed.request.connector.name },
          attempts: 0,
          history: [],
          ...(parsed.request.oauth ? { returnUrl: parsed.request.oauth.returnUrl } : {}),
        };
        return location(reply, started.workflowId).code(202).send({ workflowId: started.workflowId, status });
      }
      const status = started.status ?? (await client.status(started.workflowId));
      return location(reply, started.workflowId).code(200).send({ workflowId: started.workflowId, status });
    });

    app.get<{ Params: { id: string } }>('/provisionings/:id', async (request) => {
      const workflowId = requireProvisioningId(request.params.id);
      const status = await client.status(workflowId);
      // The consent link lets whoever holds it connect an account into the customer's: a read token does not get it.
      if (request.gatewayScope === 'read') delete status.consentLink;
      return { workflowId, status };
    });

    app.post<{ Params: { id: string } }>('/provisionings/:id/cancel', async (request, reply) => {
      const workflowId = requireProvisioningId(request.params.id);
      const { reason } = parseCancelBody(request.body);
      await client.cancel(workflowId, reason);
      return reply.code(202).send({ workflowId, cancelling: true });
    });

    app.post<{ Params: { id: string } }>('/provisionings/:id/consent-link', async (request) => {
      const workflowId = requireProvisioningId(request.params.id);
      const link = await client.issueConsentLink(workflowId);
      return { workflowId, url: link.url, expiresAt: link.expiresAt };
    });
  },

  paths: {
    '/provisionings': {
      post: {
        operationId: 'startProvisioning',
        summary: 'Start a provisioning (idempotent: the same account and install name return the same one)',
        description:
          'With `?wait=10s` (any duration up to 30s) the answer comes once the provisioning awaits consent (its ' +
          'status then carries `consentLink`) or has ended, or with the current status when the wait runs out.',
        parameters: [
          {
            name: 'wait',
            in: 'query',
            required: false,
            description: 'How long to wait for the consent link, e.g. 10s (at most 30s)',
            schema: { type: 'string', pattern: '^\\d+(ms|s)?$' },
          },
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ProvisioningRequest' } } },
        },
        responses: {
          '202': json('Provisioning', 'Started; Location names the provisioning'),
          '200': json('Provisioning', 'Already running: the existing provisioning and its status'),
          '400': errorResponse('Invalid body or `wait`; `fields` names each bad field and the fix'),
          '415': errorResponse('The body is not JSON'),
        },
      },
    },
    '/provisionings/{id}': {
      get: {
        operationId: 'getProvisioning',
        summary: 'Where a provisioning stands',
        parameters: [workflowIdParam],
        responses: {
          '200': json('Provisioning', 'Its status'),
          '404': errorResponse('No such provisioning'),
        },
      },
    },
    '/provisionings/{id}/cancel': {
      post: cancelOperation({
        operationId: 'cancelProvisioning',
        summary: 'Cancel a provisioning; the account connector it installed is removed unless keepOnCancel was set',
        idParam: workflowIdParam,
        idField: 'workflowId',
        noun: 'provisioning',
      }),
    },
    '/provisionings/{id}/consent-link': {
      post: {
        operationId: 'reissueConsentLink',
        summary: 'Issue a new consent link (to re-send it); earlier links stop working',
        parameters: [workflowIdParam],
        responses: {
          '200': json('ConsentLink', 'The new link'),
          '404': errorResponse('No such provisioning'),
          '409': errorResponse('Not awaiting consent, or already finished'),
        },
      },
    },
  },
};
