/**
 * Configuration rules that need no server: fail closed outside development, one line per problem naming the variable.
 */
import { loadConfig, type ConfigError } from '../src/config.js';

const LINK = 'l1:a-link-signing-key-of-some-length-0123';
const PAYLOAD = 'p1:a-payload-encryption-key-of-some-length-0123';
const NOTIFY = 'a-notify-signing-secret-0123456789';
const cyclr = {
  CYCLR_API_URL: 'https://api.example.test',
  CYCLR_SERVICE_DOMAIN: 'x.example.test',
  CYCLR_CLIENT_ID: 'client-id',
  CYCLR_CLIENT_SECRET: 'client-secret-value',
};

function problems(...args: Parameters<typeof loadConfig>): string[] {
  try {
    loadConfig(...args);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

describe('the development keys in the source are used only when NODE_ENV=development says so', () => {
  test.each([
    ['unset', undefined],
    ['prod', 'prod'],
    ['test', 'test'],
    ['production', 'production'],
  ])('NODE_ENV %s: a missing key is one line naming it and the fix', (_name, nodeEnv) => {
    const env = nodeEnv ? { NODE_ENV: nodeEnv } : {};
    expect(problems({ ...env, ...cyclr }, { cyclr: true })).toEqual([
      expect.stringMatching(/^LINK_SIGNING_KEY: is required .*only NODE_ENV=development uses the development key/),
      expect.stringMatching(/^PAYLOAD_ENCRYPTION_KEY: is required .*NODE_ENV=development/),
      expect.stringMatching(/^NOTIFY_SIGNING_SECRET: is required .*NODE_ENV=development/),
    ]);
    for (const line of problems(env)) expect(line).not.toContain('\n');
    // Each key given: nothing missing, and none of the development keys is in what was loaded.
    const config = loadConfig(
      { ...env, ...cyclr, LINK_SIGNING_KEY: LINK, PAYLOAD_ENCRYPTION_KEY: PAYLOAD, NOTIFY_SIGNING_SECRET: NOTIFY },
      { cyclr: true },
    );
    expect(config.linkSigningKeys.map((k) => k.id)).toEqual(['l1']);
    expect(config.payloadKeys.map((k) => k.id)).toEqual(['p1']);
    expect(config.notifySigningSecret).toBe(NOTIFY);
  });

  test('NODE_ENV=development: the development keys, each its own', () => {
    const dev = loadConfig({ NODE_ENV: 'development', ...cyclr }, { cyclr: true });
    expect(dev.linkSigningKeys.map((k) => k.id)).toEqual(['dev']);
    expect(dev.payloadKeys.map((k) => k.id)).toEqual(['dev']);
    expect(dev.notifySigningSecret).toMatch(/^whsec_/);
    expect(dev.payloadKeys[0]!.secret).not.toBe(dev.linkSigningKeys[0]!.secret);
  });
});
