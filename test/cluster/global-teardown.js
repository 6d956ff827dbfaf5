// Stops and deletes the suite's cluster (kept with TEST_CLUSTER_KEEP=true, to look at its logs).
import { execFileSync } from 'node:child_process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default async function globalTeardown() {
  if (!process.env.CLUSTER_DIR) return;
  const args = process.env.TEST_CLUSTER_KEEP === 'true' ? [] : ['--purge'];
  execFileSync(fileURLToPath(new URL('../../scripts/cluster/down.sh', import.meta.url)), args, {
    cwd: root,
    stdio: 'inherit',
  });
}
