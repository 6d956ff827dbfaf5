/**
 * One Temporal dev server and one workflow bundle for the whole run: tests share them (jest runs in band), and every
 * worker process a test starts loads the same prebundled code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../../dev/local-stack/dev-server.js';
import { writeWorkflowBundle } from '../../src/workflow-bundle.js';

export async function setup(): Promise<void> {
  const dir = join(process.cwd(), '.tmp', 'test');
  mkdirSync(dir, { recursive: true });
  const [server, bundlePath] = await Promise.all([
    startDevServer({ headless: true }),
    writeWorkflowBundle(join(dir, 'workflow-bundle.js')),
  ]);
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  writeFileSync(join(dir, 'env.json'), JSON.stringify({ temporalAddress: server.address, bundlePath }));
  devServer = server;
}

let devServer: DevServer | undefined;

export async function teardown(): Promise<void> {
  await devServer?.stop();
}
