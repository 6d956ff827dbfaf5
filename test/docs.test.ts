/**
 * Places where the README and docs/ once disagreed with the code, kept in step. (The codec's refusal of read tokens
 * is exercised over HTTP in test/abuse.test.ts; the failure types, batch columns and package example have tests of
 * their own.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8').replace(/\s+/g, ' ');

test("every doc says the gateway's /codec takes a write token, as the code requires", () => {
  const docs = {
    readme: read('README.md'),
    operations: read('docs/operations.md'),
    security: read('docs/security.md'),
  };
  for (const text of Object.values(docs)) {
    expect(text).not.toMatch(/a read token is enough|only GET\/HEAD \(and the codec\)/i);
  }
  expect(docs.readme).toContain('not the codec: decoded payloads carry secrets, so `/codec` takes a write token');
  expect(docs.operations).toContain("through the gateway's /codec, with a write token from GATEWAY_API_TOKENS");
  expect(docs.security).toMatch(/\| `POST \/codec\/encode`, `POST \/codec\/decode` \| write token/);
});

test('the README says where the local stack gets NOTIFY_SIGNING_SECRET, as scripts/stack.ts prints it', () => {
  const readme = read('README.md');
  const stack = read('scripts/stack.ts');
  expect(readme).toContain('`npm run stack` prints the secret its worker signs with');
  expect(readme).toContain('`.tmp/stack/notify-signing-secret`');
  expect(stack).toContain("'notify-signing-secret'");
  expect(stack).toContain('Events signed:');
});
