/**
 * The package as an onboarding service gets it: `npm pack` (which builds dist/), the tarball installed into a scratch
 * project outside this checkout, and the README's "Using it from code" example run there as written, importing
 * `cyclr-provisioner/client` by name, against the dev server, a worker and the simulator. Its types are checked
 * there too, and a deep import is refused.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { eventually, startTestStack, testEnv, type TestStack } from './support/harness.js';
import { approveSilently } from './support/simulator-admin.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let stack: TestStack;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'cyclr-provisioner-package-'));
  stack = await startTestStack('package');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The first code block of the README's "Using it from code" section, exactly as a reader would copy it. */
function readmeExample(): string {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Using it from code'));
  const code = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('README.md has no ```ts block under "## Using it from code"');
  return code;
}

/** Runs a process to its end, collecting its output. */
function runToEnd(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

test('npm pack makes a package whose README example runs as written from a project that installs it', async () => {
  const { stdout: packed } = await run(NPM, ['pack', '--json', '--pack-destination', scratch], {
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename, files }] = JSON.parse(packed) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((f) => f.path);
  expect(paths).toEqual(expect.arrayContaining(['dist/client.js', 'dist/client.d.ts', 'package.json', 'README.md']));
  expect(paths.filter((p) => /^(test|bench|dev|scripts|\.tmp)\//.test(p))).toEqual([]);

  const app = join(scratch, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'onboarding', private: true, type: 'module' }));
  await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(scratch, filename)], {
    cwd: app,
    maxBuffer: 64 * 1024 * 1024,
  });
  const example = readmeExample();
  expect(example).toContain("from 'cyclr-provisioner/client'");
  writeFileSync(join(app, 'example.mjs'), example);
  writeFileSync(join(app, 'example.ts'), example);

  // The types resolve through `exports` as a TypeScript user's editor and build would find them.
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const typeRoots = join(PROJECT_ROOT, 'node_modules', '@types');
  const typecheck = await run(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck'].concat([
      '--typeRoots',
      typeRoots,
      '--types',
      'node',
      'example.ts',
    ]),
    { cwd: app },
  ).catch((err: { stdout?: string }) => ({ stdout: `tsc failed:\n${err.stdout}` }));
  expect(typecheck.stdout).toBe('');

  // Only the client is exported: a deep path into the package is refused by Node.
  const deep = runToEnd(process.execPath, ['-e', "import('cyclr-provisioner/dist/client.js')"], app, {});
  expect((await deep.done).stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');

  const env = testEnv(stack.options);
  const { done } = runToEnd(process.execPath, ['example.mjs'], app, env);
  // The customer approves at Cyclr; "mark complete" tells the provisioning, which confirms it with Cyclr.
  const workflowId = 'provision:acme-3:HubSpot';
  const waiting = await eventually(
    async () => {
      const s = await stack.client.status(workflowId).catch(() => undefined);
      return s?.stage === 'awaiting-consent' ? s : undefined;
    },
    60_000,
    'the example to start a provisioning awaiting consent',
  );
  await approveSilently(stack.simulator.url, waiting.accountConnectorId!);
  await stack.client.completeConsent(workflowId, 'test');

  const ran = await done;
  expect({ code: ran.code, stderr: ran.stderr }).toEqual({ code: 0, stderr: '' });
  const lines = ran.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^provision:acme-3:HubSpot \(new\): send the customer http:\/\/\S+\/connect\/\S+$/);
  expect(lines[1]).toBe('awaiting-consent');
  expect(ran.stdout).toMatch(/authenticated: true/);
  expect(ran.stdout).toContain(`accountConnectorId: ${waiting.accountConnectorId}`);
}, 600_000);
