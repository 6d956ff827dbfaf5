/** Bundles the workflow code once, to a file that workers load instead of bundling at every start. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from './temporal/connection.js';

/** The workflows' entry beside this file: TypeScript from src/ (tests, tsx), JavaScript from dist/ (npm run build). */
export const WORKFLOWS_PATH = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './workflows/index.ts' : './workflows/index.js', import.meta.url),
);

/**
 * Evaluated once per worker thread rather than once per workflow: a reusable V8 context runs every other module's
 * top level again for each new workflow, and zod's is most of that. (Only the library: the SDK freezes what is
 * shared, and a schema caches into itself, so our schemas stay per workflow.)
 */
export const PRELOAD_MODULES = ['zod'];

export async function writeWorkflowBundle(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    preloadModules: PRELOAD_MODULES,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
  });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  return outFile;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error };

// `node dist/workflow-bundle.js [out.js]` (npm run build) writes dist/workflows-bundle.js for production images.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? 'dist/workflows-bundle.js';
  writeWorkflowBundle(out).then(
    (path) => console.log(`workflow bundle written to ${path}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
