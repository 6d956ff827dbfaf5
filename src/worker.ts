/**
 * The worker: runs provisionConnector (and provisionBatch) and their activities on the task queue. Stateless, so
 * run as many as the load needs. `npm run worker`; configuration from the environment.
 */
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import { createBatchActivities } from './activities/batch.js';
import { createBatchRowActivities } from './activities/batch-rows.js';
import { createConnectionCheckActivities } from './activities/connection-check.js';
import { createWebhookActivities } from './activities/webhooks.js';
import { BatchStore } from './batch/store.js';
import { createCyclrClient } from './activities/cyclr/cyclr-client.js';
import { startRateLease } from './activities/cyclr/rate-lease.js';
import { RequestRate } from './activities/cyclr/request-rate.js';
import { createProvisioningActivities } from './activities/provisioning.js';
import { ProvisioningClient } from './client.js';
import { loadConfigOrExit, type WorkerConfig } from './config.js';
import { accountsWithCompleted, completedConnections } from './operations/connections.js';
import { formatDuration } from './operations/format.js';
import { ensureConnectionCheckSchedule } from './temporal/connection-check-schedule.js';
import { connectionOptions, dataConverter } from './temporal/connection.js';
import { PRELOAD_MODULES, WORKFLOWS_PATH } from './workflow-bundle.js';
import { createLogger, withCancelsAsInfo } from './observability/logger.js';
import { lazyCyclrRequestMetrics, prometheusTelemetry } from './observability/metrics.js';
import { startTracing } from './observability/tracing.js';

export function createActivities(config: WorkerConfig, temporal: ProvisioningClient, rate = new RequestRate()) {
  const cyclr = createCyclrClient({
    rate,
    apiUrl: config.cyclr.apiUrl,
    serviceDomain: config.cyclr.serviceDomain,
    credentials: config.cyclr.credentials,
    maxConcurrentRequests: config.cyclr.maxConcurrentRequests,
    onRequest: lazyCyclrRequestMetrics(),
  });
  const provisioning = createProvisioningActivities({
    cyclr,
    publicBaseUrl: config.publicBaseUrl,
    linkSigningKeys: config.linkSigningKeys,
  });
  const store = BatchStore.fromConfig(config);
  return {
    ...provisioning,
    ...createWebhookActivities({ signingSecret: config.notifySigningSecret, notifyUrls: config.notifyUrls }),
    ...createBatchActivities({ store }),
    ...createBatchRowActivities({ store, provisioning, maxConcurrentRequests: config.cyclr.maxConcurrentRequests }),
    ...createConnectionCheckActivities({
      cyclr,
      accountsWithCompleted: () => accountsWithCompleted(temporal.temporal, temporal.taskQueue, store),
      completedConnections: (accountId, onRead) =>
        completedConnections(temporal.temporal, temporal.taskQueue, accountId, onRead, store),
      notifyUrlOf: async (workflowId) => (await temporal.request(workflowId)).notifyUrl,
      reconnect: async (workflowId) => (await temporal.reconnect(workflowId)).created,
    }),
  };
}

/** A worker and what it holds beside: `run()` runs it until shutdown, then releases those. */
export interface ProvisionerWorker {
  worker: Worker;
  /** A client over the worker's own connection. */
  client: Client;
  /** Runs until the worker shuts down, then releases its request-rate share and closes its connection. */
  run(): Promise<void>;
}

export async function createWorker(
  config: WorkerConfig,
  overrides: Partial<WorkerOptions> = {},
): Promise<ProvisionerWorker> {
  const connection = await NativeConnection.connect(connectionOptions(config));
  // A prebundled file (production images, tests) starts in a second; otherwise bundle from source.
  // Plugins (tracing) add workflow interceptors, which must be bundled in: then bundle from source instead.
  const bundlePath = overrides.plugins?.length ? undefined : config.workflowBundlePath;
  const rate = new RequestRate();
  // The worker's own client (over the same connection): the connection check reads runs and starts reconnects.
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) });
  // With the batch store: a batch row without a run of its own is reconnected (and its notifyUrl read) from its row.
  const provisionings = new ProvisioningClient(client, config.temporal.taskQueue, {
    batchStore: BatchStore.fromConfig(config),
  });
  // Requests per second across every worker: each renews its share from the cluster-wide lease.
  const limit = config.cyclr.maxRequestsPerSecond;
  const lease = limit
    ? startRateLease({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        limit,
        rate,
        dataConverter: dataConverter(config),
      })
    : undefined;
  const closeAll = async () => {
    await lease?.stop();
    await connection.close();
  };
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      ...(bundlePath
        ? { workflowBundle: { codePath: bundlePath } }
        : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { preloadModules: PRELOAD_MODULES } }),
      activities: createActivities(config, provisionings, rate),
      dataConverter: dataConverter(config, { refusePlaintext: config.production }),
      shutdownGraceTime: '20s',
      // A worker that dies holds its cached workflows' next tasks (the rate lease, batches) this long before another
      // worker may take them; the default 10 s would stall the shared request rate for as long.
      stickyQueueScheduleToStartTimeout: '2s',
      maxCachedWorkflows: config.maxCachedWorkflows,
      ...overrides,
    });
  } catch (err) {
    await closeAll();
    throw err;
  }
  return {
    worker,
    client,
    async run() {
      try {
        await worker.run();
      } finally {
        await closeAll();
      }
    },
  };
}

/**
 * Between full collections V8 lets the heap grow to up to 4x what survived the last one. A batch's requests live
 * a Cyclr round trip, long enough to be promoted, so the worker's memory climbed by 100+ MB of garbage per
 * 10,000 rows. 1.5x keeps the peak near the live size, for a few percent more CPU (bench:batch -- --memory).
 * V8 reads this at every collection, so setting it at start-up applies to the workflow thread as well.
 */
const HEAP_GROWING_PERCENT = 50;

async function main(): Promise<void> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const config = loadConfigOrExit('worker');
  const logger = createLogger({ service: 'worker', base: { taskQueue: config.temporal.taskQueue }, ...config.log });
  // One runtime for the SDK's logs (workflow `log`, activity `Context.log`, core) and metrics (one /metrics port).
  Runtime.install({
    logger: withCancelsAsInfo(logger),
    // SIGTERM: stop polling, let in-flight activities finish (shutdownGraceTime), then worker.run() resolves.
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
      ...prometheusTelemetry(config.metricsPort, config.metricsHost),
    },
  });
  const tracing = await startTracing(config.tracing);
  const worker = await createWorker(config, tracing ? { plugins: [tracing.plugin] } : {});
  if (tracing) logger.info(`tracing on: spans to ${tracing.endpoint}`);
  // Lapses go unnoticed without the schedule, but another worker may have made it: say so loudly, and run.
  const { everyMs, autoReconnect } = config.connectionCheck;
  await ensureConnectionCheckSchedule(worker.client, { taskQueue: config.temporal.taskQueue, everyMs, autoReconnect })
    .then((outcome) =>
      logger.info(
        `connection check: schedule ${outcome}, every ${formatDuration(everyMs)}${autoReconnect ? ', lapses reconnected' : ''}`,
      ),
    )
    .catch((err: unknown) =>
      logger.error(`connection check: schedule not ensured: ${err instanceof Error ? err.message : String(err)}`),
    );
  logger.info(
    `worker ready: task queue "${config.temporal.taskQueue}" on ${config.temporal.address} (namespace ${config.temporal.namespace}), Cyclr at ${config.cyclr.apiUrl}`,
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
