#!/usr/bin/env node
// The compiled CLI when `npm run build` has made dist/ (production, the image); otherwise the TypeScript sources
// through tsx, so `npx provisioner ...` works in a fresh checkout without a build step.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
