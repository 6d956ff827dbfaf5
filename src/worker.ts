/**
 * The worker: runs provisionConnector (and provisionBatch) and their activities on the task queue. Stateless, so
 * run as many as the load needs. `npm run worker`; configuration from the environment.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import { createBatchActivities } from './activities/batch.js';
import { createEventActivities } from './activities/events.js';
import { activitiesPerSecondFor } from './batch/rate-limit.js';
import { BatchStore } from './batch/store.js';
import { createCyclrClient } from './activities/cyclr/client.js';
import { createProvisioningActivities } from './activities/provisioning.js';
import { loadConfigOrExit, type Config } from './config.js';
import { connectionOptions, dataConverter } from './temporal/connection.js';
import { WORKFLOWS_PATH } from './workflow-bundle.js';
import { createLogger } from './observability/logger.js';
import { lazyCyclrRequestMetrics, prometheusTelemetry } from './observability/metrics.js';
import { tracingFromEnv } from './observability/tracing.js';

export function createActivities(config: Config) {
  if (!config.cyclr) throw new Error('the worker needs CYCLR_API_URL');
  const cyclr = createCyclrClient({
    apiUrl: config.cyclr.apiUrl,
    serviceDomain: config.cyclr.serviceDomain,
    credentials: config.cyclr.credentials,
    maxConcurrentRequests: config.cyclr.maxConcurrentRequests,
    onRequest: lazyCyclrRequestMetrics(),
  });
  return {
    ...createProvisioningActivities({
      cyclr,
      publicBaseUrl: config.publicBaseUrl,
      linkSigningKeys: config.linkSigningKeys,
    }),
    ...createEventActivities({ signingSecret: config.notifySigningSecret, notifyUrls: config.notifyUrls }),
    ...createBatchActivities({
      store: BatchStore.fromConfig(config),
    }),
  };
}

export async function createWorker(config: Config, overrides: Partial<WorkerOptions> = {}): Promise<Worker> {
  const connection = await NativeConnection.connect(connectionOptions(config));
  // A prebundled file (production images, tests) starts in a second; otherwise bundle from source.
  // Plugins (tracing) add workflow interceptors, which must be bundled in: then bundle from source instead.
  const bundlePath = overrides.plugins?.length ? undefined : process.env.WORKFLOW_BUNDLE_PATH;
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(config),
    dataConverter: dataConverter(config),
    shutdownGraceTime: '20s',
    // Enforced by the server for the whole task queue, so the limit holds however many workers run.
    ...(config.cyclr?.maxRequestsPerSecond
      ? { maxTaskQueueActivitiesPerSecond: activitiesPerSecondFor(config.cyclr.maxRequestsPerSecond) }
      : {}),
    ...overrides,
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, { cyclr: true });
  const logger = createLogger({ service: 'worker', base: { taskQueue: config.temporal.taskQueue } });
  // One runtime for the SDK's logs (workflow `log`, activity `Context.log`, core) and metrics (one /metrics port).
  Runtime.install({
    logger,
    // SIGTERM: stop polling, let in-flight activities finish (shutdownGraceTime), then worker.run() resolves.
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
      ...prometheusTelemetry(config.metricsPort),
    },
  });
  const tracing = tracingFromEnv();
  const worker = await createWorker(config, tracing ? { plugins: [tracing.plugin] } : {});
  if (tracing) logger.info(`tracing on: spans to ${tracing.endpoint}`);
  logger.info(
    `worker ready: task queue "${config.temporal.taskQueue}" on ${config.temporal.address} (namespace ${config.temporal.namespace}), Cyclr at ${config.cyclr!.apiUrl}`,
    config.metricsPort !== undefined ? { metricsPort: config.metricsPort } : {},
  );
  await worker.run();
  await tracing?.shutdown();
  logger.info('worker stopped: in-flight work finished or handed back');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Exit explicitly once the worker has drained: the native connection and metrics server would keep it alive.
  main()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      createLogger({ service: 'worker' }).error(`worker failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
