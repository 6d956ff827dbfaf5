// Jest loads global setup outside its own module system, so TypeScript is loaded here through tsx.
import { register } from 'tsx/esm/api';

register();

export default async function globalSetup() {
  const { setup } = await import('./test-server.ts');
  await setup();
}
