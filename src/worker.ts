/**
 * The worker: runs provisionConnector (and provisionBatch) and their activities on the task queue. Stateless, so
 * run as many as the load needs. `npm run worker`; configuration from the environment.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createEventActivities } from './activities/events.js';
import { createCyclrClient } from './activities/cyclr/client.js';
import { createProvisioningActivities } from './activities/provisioning.js';
import { loadConfigOrExit, type Config } from './config.js';
import { connectionOptions, dataConverter } from './temporal/connection.js';
import { WORKFLOWS_PATH } from './workflow-bundle.js';

export function createActivities(config: Config) {
  if (!config.cyclr) throw new Error('the worker needs CYCLR_API_URL');
  const cyclr = createCyclrClient({
    apiUrl: config.cyclr.apiUrl,
    serviceDomain: config.cyclr.serviceDomain,
    credentials: config.cyclr.credentials,
    maxConcurrentRequests: config.cyclr.maxConcurrentRequests,
  });
  return {
    ...createProvisioningActivities({ cyclr, publicBaseUrl: config.publicBaseUrl, linkSigningKeys: config.linkSigningKeys }),
    ...createEventActivities({ signingSecret: config.notifySigningSecret }),
  };
}

export async function createWorker(config: Config, overrides: Partial<WorkerOptions> = {}): Promise<Worker> {
  const connection = await NativeConnection.connect(connectionOptions(config));
  // A prebundled file (production images, tests) starts in a second; otherwise bundle from source.
  const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(config),
    dataConverter: dataConverter(config),
    shutdownGraceTime: '20s',
    ...overrides,
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, { cyclr: true });
  Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'] });
  const worker = await createWorker(config);
  console.log(
    `worker ready: task queue "${config.temporal.taskQueue}" on ${config.temporal.address} (namespace ${config.temporal.namespace}), Cyclr at ${config.cyclr!.apiUrl}`,
  );
  await worker.run();
  console.log('worker stopped');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`worker failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
