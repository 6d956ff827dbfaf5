/** The console's routes, as the gateway's OpenAPI document lists them. */
import type { GatewayRoutes } from '../deps.js';

/** Documented so the OpenAPI document lists every route served; these are pages and forms, not an API. */
export function consolePaths(): GatewayRoutes['paths'] {
  const op = (operationId: string, summary: string, type = 'text/html', params: string[] = []) => ({
    operationId,
    summary,
    tags: ['console'],
    ...(params.length
      ? { parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) }
      : {}),
    responses: { '200': { description: summary, content: { [type]: { schema: { type: 'string' } } } } },
  });
  const list = op('consoleList', 'The support console: sign-in, or the list of provisionings');
  return {
    '/console': { get: list },
    '/console/': { get: { ...list, operationId: 'consoleListSlash' } },
    '/console/assets/{name}': {
      get: op('consoleAsset', 'A console script or stylesheet', 'text/javascript', ['name']),
    },
    '/console/sign-in': { post: op('consoleSignIn', 'Sign in with a gateway token (form post)') },
    '/console/sign-out': { post: op('consoleSignOut', 'Sign out (form post)') },
    '/console/provisionings/{id}': { get: op('consoleProvisioning', "A provisioning's page", 'text/html', ['id']) },
    '/console/provisionings/{id}/{action}': {
      post: op('consoleAction', 'Re-send link, mark complete or cancel (confirmed)', 'text/html', ['id', 'action']),
    },
    '/console/bulk': {
      get: op('consoleBulkDryRun', 'Bulk action: choose by filter, dry run'),
      post: op('consoleBulkConfirm', 'Bulk action: confirmed'),
    },
    '/console/batches': { get: op('consoleBatches', 'The list of batches') },
    '/console/lapsed': { get: op('consoleLapsed', 'Lapsed connections: what the latest connection check found') },
    '/console/batches/{id}': { get: op('consoleBatch', "A batch's page", 'text/html', ['id']) },
    '/console/batches/{id}/progress.json': {
      get: op('consoleBatchProgress', "A batch's counts and recorded timeline, read by its page", 'application/json', [
        'id',
      ]),
    },
    '/console/batches/{id}/failures.jsonl': {
      get: op('consoleBatchFailures', "A batch's failures file", 'application/x-ndjson', ['id']),
    },
  };
}
