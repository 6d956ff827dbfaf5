import { register } from 'tsx/esm/api';

register();

export default async function globalTeardown() {
  const { teardown } = await import('./test-server.ts');
  await teardown();
}
