/**
 * Prometheus metrics. One endpoint, served by the Temporal SDK's runtime: its own worker metrics (task slots,
 * poll latencies, activity and workflow outcomes) plus ours, created on the runtime's meter so one port is scraped.
 * Workflow-side provisioning counters live in `workflow-metrics.ts` (they must run inside the workflow sandbox).
 */
import type { MetricMeter } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { METRIC } from '../contract/metric-names.js';

/** What the Cyclr client reports of each HTTP request it makes. */
export interface CyclrRequestEvent {
  /** Route pattern, e.g. 'GET /v1.0/account/connectors/{id}': never a URL with ids or secrets in it. */
  endpoint: string;
  method: string;
  status: number | 'network-error';
  durationMs: number;
}

const MINUTE = 60_000;
const CONSENT_WAIT_BUCKETS_MS = [
  10_000,
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  60 * MINUTE,
  6 * 60 * MINUTE,
  1440 * MINUTE,
  3 * 1440 * MINUTE,
  7 * 1440 * MINUTE,
  14 * 1440 * MINUTE,
  30 * 1440 * MINUTE,
];

/** The runtime telemetry options for a Prometheus endpoint on `host:port` (METRICS_HOST, METRICS_PORT; none when the
 * port is unset). */
export function prometheusTelemetry(port: number | undefined, host: string) {
  if (port === undefined) return undefined;
  return {
    metrics: {
      prometheus: {
        bindAddress: `${host}:${port}`,
        countersTotalSuffix: true,
        unitSuffix: true,
        useSecondsForDurations: false,
        // Consent takes minutes to weeks: the default latency buckets would put every wait in +Inf.
        histogramBucketOverrides: { [METRIC.consentWait]: CONSENT_WAIT_BUCKETS_MS },
      },
    },
  };
}

/** The Cyclr client's `onRequest` hook: requests by endpoint, method and status, and their latency. */
export function cyclrRequestMetrics(meter: MetricMeter): (e: CyclrRequestEvent) => void {
  const requests = meter.createCounter(METRIC.cyclrRequests, '', 'HTTP requests to Cyclr by endpoint and status');
  const duration = meter.createHistogram(METRIC.cyclrRequestDuration, 'int', 'ms', 'Latency of requests to Cyclr');
  return (e) => {
    const tags = { endpoint: e.endpoint, method: e.method, status: String(e.status) };
    requests.add(1, tags);
    duration.record(Math.max(0, Math.round(e.durationMs)), { endpoint: e.endpoint, method: e.method });
  };
}

/**
 * The Cyclr hook, bound to the runtime's meter at the first request (not at import), so merely building activities
 * (e.g. in a test) does not install a default runtime before the worker installs its own.
 */
export function lazyCyclrRequestMetrics(): (e: CyclrRequestEvent) => void {
  let hook: ((e: CyclrRequestEvent) => void) | undefined;
  return (e) => {
    hook ??= cyclrRequestMetrics(Runtime.instance().metricMeter);
    hook(e);
  };
}
