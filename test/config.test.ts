/**
 * Configuration rules that need no server: fail closed outside development, one line per problem naming the variable,
 * one secret per purpose, and a "did you mean" for a misspelt variable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import {
  CONFIG_VARIABLES,
  configWarnings,
  loadConfig,
  READ_ELSEWHERE,
  type ConfigError,
  type ProcessKind,
} from '../src/config.js';

const LINK = 'l1:a-link-signing-key-of-some-length-0123';
const PAYLOAD = 'p1:a-payload-encryption-key-of-some-length-0123';
const NOTIFY = 'a-notify-signing-secret-0123456789';
const cyclr = {
  CYCLR_API_URL: 'https://api.example.test',
  CYCLR_SERVICE_DOMAIN: 'x.example.test',
  CYCLR_CLIENT_ID: 'client-id',
  CYCLR_CLIENT_SECRET: 'client-secret-value-0123456789',
};
const keys = { LINK_SIGNING_KEY: LINK, PAYLOAD_ENCRYPTION_KEY: PAYLOAD, NOTIFY_SIGNING_SECRET: NOTIFY };
/** A production environment every kind of process starts with. */
const production = {
  NODE_ENV: 'production',
  ...cyclr,
  ...keys,
  PUBLIC_BASE_URL: 'https://provisioning.example.test',
  GATEWAY_API_TOKENS: 'a-gateway-write-token-0123456789',
  CODEC_AUTH_TOKEN: 'a-codec-auth-token-0123456789',
};

function problems(kind: ProcessKind, env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(kind, env);
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
    const env = {
      ...(nodeEnv ? { NODE_ENV: nodeEnv } : {}),
      ...cyclr,
      PUBLIC_BASE_URL: 'https://provisioning.example.test',
      GATEWAY_API_TOKENS: 'a-gateway-write-token-0123456789',
      CODEC_ALLOW_UNAUTHENTICATED: 'true',
    };
    const missing = (name: string) =>
      expect.stringMatching(new RegExp(`^${name}: is required .*; only NODE_ENV=development uses the development key`));
    expect(problems('worker', env)).toEqual([
      missing('LINK_SIGNING_KEY'),
      missing('PAYLOAD_ENCRYPTION_KEY'),
      missing('NOTIFY_SIGNING_SECRET'),
    ]);
    expect(problems('gateway', env)).toEqual([missing('LINK_SIGNING_KEY'), missing('PAYLOAD_ENCRYPTION_KEY')]);
    // The codec server and the CLI never sign or verify links: the payload key is all they need.
    expect(problems('codec', env)).toEqual([missing('PAYLOAD_ENCRYPTION_KEY')]);
    expect(problems('client', env)).toEqual([missing('PAYLOAD_ENCRYPTION_KEY')]);
    for (const line of problems('worker', env)) expect(line).not.toContain('\n');

    // Each key given: nothing missing, and none of the development keys is in what was loaded.
    const worker = loadConfig('worker', { ...env, ...keys });
    expect(worker.linkSigningKeys.map((k) => k.id)).toEqual(['l1']);
    expect(worker.payloadKeys.map((k) => k.id)).toEqual(['p1']);
    expect(worker.notifySigningSecret).toBe(NOTIFY);
    expect(loadConfig('codec', { ...env, PAYLOAD_ENCRYPTION_KEY: PAYLOAD }).payloadKeys.map((k) => k.id)).toEqual([
      'p1',
    ]);
  });

  test('NODE_ENV=development: the development keys, each its own', () => {
    const dev = loadConfig('worker', { NODE_ENV: 'development', ...cyclr });
    expect(dev.development).toBe(true);
    expect(dev.linkSigningKeys.map((k) => k.id)).toEqual(['dev']);
    expect(dev.payloadKeys.map((k) => k.id)).toEqual(['dev']);
    expect(dev.notifySigningSecret).toMatch(/^whsec_/);
    expect(dev.payloadKeys[0]!.secret).not.toBe(dev.linkSigningKeys[0]!.secret);
  });

  test('the entry points set it explicitly: npm run stack, the benchmarks', () => {
    for (const file of ['scripts/stack.ts', 'bench/provisioning.ts', 'bench/batch.ts']) {
      expect([file, readFileSync(join(PROJECT_ROOT, file), 'utf8')]).toEqual([
        file,
        expect.stringContaining("NODE_ENV: 'development'"),
      ]);
    }
  });
});

describe('every kind of process starts from a production environment, and each rule holds', () => {
  test.each(['worker', 'gateway', 'codec', 'client'] as const)('%s: no problems', (kind) => {
    expect(problems(kind, production)).toEqual([]);
  });

  test('PUBLIC_BASE_URL must be https: in production (worker and gateway), any URL elsewhere', () => {
    const plain = { ...production, PUBLIC_BASE_URL: 'http://provisioning.example.test' };
    for (const kind of ['worker', 'gateway'] as const) {
      expect(problems(kind, plain)).toEqual([
        'PUBLIC_BASE_URL: must be an https:// URL in production (consent links carry bearer tokens)',
      ]);
    }
    expect(problems('worker', { ...plain, NODE_ENV: 'development' })).toEqual([]);
  });

  test('the codec server is not given LINK_SIGNING_KEY and does not need it', () => {
    const { LINK_SIGNING_KEY: _link, ...withoutLink } = production;
    expect(problems('codec', withoutLink)).toEqual([]);
    expect(loadConfig('codec', withoutLink)).not.toHaveProperty('linkSigningKeys');
    expect(CONFIG_VARIABLES.get('LINK_SIGNING_KEY')).toEqual(['worker', 'gateway']);
    // Nor does docker-compose.yml give it to the codec service.
    const compose = readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');
    const codecService = /\n {2}codec:\n([\s\S]*?)\n {2}\S/.exec(compose)![1]!;
    expect(codecService).not.toMatch(/^\s+LINK_SIGNING_KEY:/m);
    expect(codecService).not.toContain('*app-env');
  });

  test.each([
    ['LINK_SIGNING_KEY', (v: string) => `k9:${v}`],
    ['PAYLOAD_ENCRYPTION_KEY', (v: string) => `p9:${v}`],
    ['NOTIFY_SIGNING_SECRET', (v: string) => v],
    ['GATEWAY_API_TOKENS', (v: string) => v],
    ['GATEWAY_READ_TOKENS', (v: string) => `another-read-token-0123456789,${v}`],
    ['CONSOLE_SESSION_KEY', (v: string) => v],
    ['CODEC_AUTH_TOKEN', (v: string) => v],
    ['TEMPORAL_API_KEY', (v: string) => v],
    ['CYCLR_CLIENT_SECRET', (v: string) => v],
    ['CYCLR_ACCESS_TOKEN', (v: string) => v],
  ])('%s may not reuse another secret, whichever process reads it', (name, as) => {
    const shared = 'one-secret-in-two-roles-0123456789abcdef';
    // Against a secret of another kind of role: a session key and a Cyclr secret, or a read token and a link key.
    const other = name === 'CONSOLE_SESSION_KEY' ? 'CYCLR_CLIENT_SECRET' : 'CONSOLE_SESSION_KEY';
    const env = { ...production, [other]: shared, [name]: as(shared) };
    const named = new RegExp(
      `^(${name}: reuses a secret of ${other}|${other}: reuses a secret of ${name}); give each its own$`,
    );
    for (const kind of ['worker', 'gateway', 'codec', 'client'] as const) {
      expect(problems(kind, env)).toEqual([expect.stringMatching(named)]);
    }
    expect(
      problems('worker', { ...production, [other]: shared, [name]: as('a-different-secret-0123456789abcd') }),
    ).toEqual([]);
  });
});

describe('a variable no process reads', () => {
  test('with our prefixes: one warning line with the nearest name', () => {
    expect(
      configWarnings({
        CYCLR_APIURL: 'https://api.example.test',
        TEMPORAL_NAMESPCE: 'ns',
        GATEWAY_RATE_LIMITS: '10',
        GATEWAY_SOMETHING_ELSE_ENTIRELY: 'x',
      }),
    ).toEqual([
      'CYCLR_APIURL: no process reads this variable; did you mean CYCLR_API_URL? (ignored)',
      'GATEWAY_RATE_LIMITS: no process reads this variable; did you mean GATEWAY_RATE_LIMIT? (ignored)',
      'GATEWAY_SOMETHING_ELSE_ENTIRELY: no process reads this variable; see the variables in docs/operations.md (ignored)',
      'TEMPORAL_NAMESPCE: no process reads this variable; did you mean TEMPORAL_NAMESPACE? (ignored)',
    ]);
  });

  test('known names, names other programs read, and other prefixes are not warned about', () => {
    expect(
      configWarnings({ ...production, TEMPORAL_RETENTION: '30d', GATEWAY_TOKEN: 'x', HOME: '/root', CYCLR_X: '' }),
    ).toEqual([]);
    for (const name of READ_ELSEWHERE) expect(CONFIG_VARIABLES.has(name)).toBe(false);
  });

  test('a process started with one prints the warning before anything else', async () => {
    const { execFile } = await import('node:child_process');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'status', 'provision:a:b'],
        {
          cwd: PROJECT_ROOT,
          // No payload key and no NODE_ENV=development: a config error follows the warning, and nothing is asked of Temporal.
          env: { PATH: process.env.PATH, TEMPORAL_ADRESS: '127.0.0.1:1' },
          timeout: 30_000,
        },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'config warning: TEMPORAL_ADRESS: no process reads this variable; did you mean TEMPORAL_ADDRESS? (ignored)',
      expect.stringMatching(/^config error: PAYLOAD_ENCRYPTION_KEY: is required/),
    ]);
  }, 40_000);
});

describe('docs/operations.md lists every variable, and the processes that read it, as the schemas say', () => {
  test('the table matches', () => {
    const docs = readFileSync(join(PROJECT_ROOT, 'docs/operations.md'), 'utf8');
    const section = docs.split('<!-- config-variables -->')[1];
    expect(section).toBeDefined();
    const listed = new Map<string, string[]>();
    for (const m of section!.matchAll(/^\| `([A-Z0-9_]+)` \| ([a-z, ]+) \|/gm)) {
      listed.set(
        m[1]!,
        m[2]!.split(',').map((k) => k.trim()),
      );
    }
    const expected = new Map([...CONFIG_VARIABLES].map(([name, kinds]) => [name, [...kinds]]));
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(expected));
  });
});
