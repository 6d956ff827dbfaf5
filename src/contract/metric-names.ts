/**
 * Our metric names, shared by the workflow (which counts provisionings) and the worker (which exports them and
 * counts Cyclr requests). The runtime adds no prefix to custom metrics; core's own start with `temporal_`.
 */
export const METRIC = {
  cyclrRequests: 'cyclr_requests',
  cyclrRequestDuration: 'cyclr_request_duration',
  started: 'provisionings_started',
  completed: 'provisionings_completed',
  failed: 'provisionings_failed',
  expired: 'provisionings_expired',
  cancelled: 'provisionings_cancelled',
  consentWait: 'provisioning_consent_wait',
  /** Batch rows run by this worker (slices), by outcome: how a batch spread over the workers, per process. */
  batchRows: 'batch_rows',
} as const;
