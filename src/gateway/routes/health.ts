/** Liveness (the process answers) and readiness (Temporal answers for our namespace). */
import type { GatewayRoutes } from '../deps.js';

const READY_TIMEOUT_MS = 3000;

export const healthRoutes: GatewayRoutes = {
  register(app, { client }) {
    app.get('/healthz', async () => ({ ok: true }));

    app.get('/readyz', async (_request, reply) => {
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

  paths: {
    '/healthz': {
      get: {
        operationId: 'liveness',
        summary: 'Liveness: the process answers',
        responses: { '200': { description: 'Alive', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Readiness: Temporal is reachable and the namespace exists',
        responses: {
          '200': { description: 'Ready', content: { 'application/json': { schema: { type: 'object' } } } },
          '503': {
            description: 'Temporal unreachable',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  },
};
