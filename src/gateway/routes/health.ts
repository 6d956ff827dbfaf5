/** Liveness (the process answers) and readiness (Temporal answers for our namespace). */
import { z } from 'zod';
import type { GatewayRoutes } from '../deps.js';
import { json } from '../schemas.js';

const READY_TIMEOUT_MS = 3000;

const LIVENESS = {
  operationId: 'liveness',
  summary: 'Liveness: the process answers',
  response: { 200: json(z.object({ ok: z.literal(true) }), 'Alive') },
};

const READINESS = {
  operationId: 'readiness',
  summary: 'Readiness: Temporal is reachable and the namespace exists',
  response: {
    200: json(z.object({ ok: z.literal(true), temporal: z.literal('reachable') }), 'Ready'),
    503: json(
      z.object({ ok: z.literal(false), temporal: z.literal('unreachable'), message: z.string() }),
      'Temporal unreachable',
    ),
  },
};

export const healthRoutes: GatewayRoutes = {
  register(app, { client }) {
    app.get('/healthz', { schema: LIVENESS }, async () => ({ ok: true }));

    app.get('/readyz', { schema: READINESS }, async (_request, reply) => {
      const temporal = client.temporal;
      try {
        await temporal.connection.withDeadline(Date.now() + READY_TIMEOUT_MS, () =>
          temporal.workflowService.describeNamespace({ namespace: temporal.options.namespace }),
        );
        return { ok: true, temporal: 'reachable' };
      } catch {
        return reply
          .code(503)
          .send({ ok: false, temporal: 'unreachable', message: 'Temporal (or its namespace) cannot be reached' });
      }
    });
  },
};
