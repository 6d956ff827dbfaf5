import type { DevServer } from '../../src/local-stack/dev-server.js';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __devServer?: DevServer }).__devServer?.stop();
}
