import type { ProvisioningRequest } from './request.js';

/** The key that makes an install idempotent within an account; callers can compute it before starting. */
export function installKey(request: Pick<ProvisioningRequest, 'installName' | 'connector'>): string {
  return request.installName ?? request.connector.name ?? `connector-${request.connector.id}`;
}

export function provisioningWorkflowId(
  request: Pick<ProvisioningRequest, 'accountId' | 'installName' | 'connector'>,
): string {
  return `provision:${request.accountId}:${installKey(request)}`;
}

export function batchWorkflowId(batchId: string): string {
  return `batch:${batchId}`;
}
