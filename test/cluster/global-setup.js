// The cluster suite's world: dist/ built from the current sources, then a fresh cluster (scripts/cluster/up.sh) in
// a temporary directory. Its connection settings reach the tests as TEST_CLUSTER_ENV (the env file's path).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function timed(what, run) {
  const started = Date.now();
  run();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\n${what}: ${seconds} s`);
  return seconds;
}

export default async function globalSetup() {
  if (process.env.TEST_CLUSTER_SKIP_BUILD !== 'true') {
    timed('npm run build', () => execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' }));
  }
  const dir = mkdtempSync(join(tmpdir(), 'cyclr-cluster-'));
  process.env.CLUSTER_DIR = dir;
  process.env.TEST_CLUSTER_ENV = join(dir, 'env');
  process.env.TEST_CLUSTER_UP_SECONDS = timed('cluster bring-up (scripts/cluster/up.sh)', () =>
    execFileSync(join(root, 'scripts/cluster/up.sh'), { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
}
