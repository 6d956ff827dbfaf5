/**
 * `npm run build`: what production runs, with no TypeScript at run time. tsc compiles src/ to dist/; the files the
 * gateway serves (every `assets/` folder: browser scripts, their types, HTML) and the failure converter (CommonJS)
 * are copied beside the compiled code;
 * the workflow code is bundled once, from dist/, to dist/workflows-bundle.js (WORKFLOW_BUNDLE_PATH for workers).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const run = (script: string, ...args: string[]) =>
  execFileSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });

function assetDirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.name === 'assets' ? [path] : assetDirs(path);
    });
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
run(createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json');
for (const dir of assetDirs(src)) cpSync(dir, join(dist, relative(src, dir)), { recursive: true });
// CommonJS that the SDK loads by path (src/temporal/connection.ts, FAILURE_CONVERTER_PATH); tsc does not copy it.
cpSync(join(src, 'temporal', 'failure-converter.cjs'), join(dist, 'temporal', 'failure-converter.cjs'));
run(join(dist, 'workflow-bundle.js'), join(dist, 'workflows-bundle.js'));
console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
