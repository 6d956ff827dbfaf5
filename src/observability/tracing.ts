/**
 * Optional OpenTelemetry tracing through the Temporal SDK's interceptors: off unless the worker's configuration has
 * an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT). Spans for starting workflows (client), running workflows and their activity calls (workflow interceptors,
 * exported through a sink) and running activities (activity interceptors), sent over OTLP/HTTP to a collector.
 */
import type { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

export interface Tracing {
  /** Pass in Worker.create's `plugins`: it adds the client, workflow and activity interceptors and the span sink. */
  plugin: OpenTelemetryPlugin;
  endpoint: string;
  /** Flushes spans still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

/**
 * The standard OTel variables, as the worker's configuration read them: OTEL_EXPORTER_OTLP_ENDPOINT (base URL;
 * /v1/traces is appended), OTEL_SERVICE_NAME. The OpenTelemetry modules load only when tracing is on: they are a
 * sixth of an idle worker's memory.
 */
export async function startTracing(
  settings: { endpoint: string; serviceName?: string } | undefined,
  defaultService = 'cyclr-provisioner-worker',
): Promise<Tracing | undefined> {
  if (!settings) return undefined;
  const base = new URL(settings.endpoint);
  const url = `${base.toString().replace(/\/+$/, '')}/v1/traces`;
  const [{ OTLPTraceExporter }, { Resource }, { BasicTracerProvider, BatchSpanProcessor }, { OpenTelemetryPlugin }] =
    await Promise.all([
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@temporalio/interceptors-opentelemetry'),
    ]);
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const resource = new Resource({ 'service.name': settings.serviceName ?? defaultService });
  // Workflow spans reach the processor through the plugin's sink; client and activity spans through this tracer
  // (passed explicitly, so no global provider or context manager is needed).
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  return {
    plugin: new OpenTelemetryPlugin({ resource, spanProcessor, tracer: provider.getTracer('cyclr-provisioner') }),
    endpoint: url,
    shutdown: () => provider.shutdown(),
  };
}
