/**
 * The production stack cannot run here (no Docker engine), so check what can be checked: the compose file parses,
 * every variable it uses is documented in .env.example, each service gets every variable our code reads and its
 * configuration validates, images are pinned, and the Dockerfile and setup scripts are wired as the docs say.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { codecOptionsFromEnv } from '../src/codec/server.js';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { SEARCH_ATTRIBUTES } from '../src/contract/search-attributes.js';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const composeText = read('docker-compose.yml');
const envExampleText = read('.env.example');
const dockerfile = read('Dockerfile');
const packageJson = JSON.parse(read('package.json')) as { engines: { node: string } };

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** `VAR=value` and commented `# VAR=` lines: documented, set or deliberately unset. */
const envExample = new Map<string, string | undefined>();
for (const line of envExampleText.split('\n')) {
  const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
  if (m) envExample.set(m[2]!, m[1] ? undefined : m[3]);
}

/** Compose's interpolation (${VAR}, ${VAR:-default}, ${VAR:?error}) with .env.example as the .env file. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = envExample.get(name);
    if (op?.endsWith('-')) return v ? v : (arg ?? '');
    if (op?.endsWith('?') && !v) throw new Error(`${name} is required by docker-compose.yml but empty in .env.example`);
    return v ?? '';
  });
}

/** A service's environment as its process sees it: the image's ENV lines, then compose's environment. */
function serviceEnv(name: string): NodeJS.ProcessEnv {
  const service = services[name]!;
  const fromImage: NodeJS.ProcessEnv = {};
  if (service.build) {
    for (const m of dockerfile.matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=(\S+?)\s*\\?$/gm)) fromImage[m[1]!] = m[2]!;
  }
  const env: NodeJS.ProcessEnv = { ...fromImage };
  for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = interpolate(String(v));
  return env;
}

/** Every environment variable our source reads: env.X anywhere, and every variable of config.ts's schemas. */
function variablesTheCodeReads(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const text = read(path);
        for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
      }
    }
  };
  walk('src');
  for (const name of CONFIG_VARIABLES.keys()) names.add(name);
  names.delete('PATH');
  return names;
}

test('the compose file parses and has the production-shaped services', () => {
  expect(Object.keys(services).sort()).toEqual(
    ['codec', 'gateway', 'postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'worker'].sort(),
  );
  expect(services['temporal']!.depends_on).toMatchObject({
    'temporal-schema': { condition: 'service_completed_successfully' },
  });
  expect(services['worker']!.depends_on).toMatchObject({
    'temporal-setup': { condition: 'service_completed_successfully' },
  });
  expect(services['temporal-ui']!.environment).toHaveProperty('TEMPORAL_CODEC_ENDPOINT');
  expect(interpolate(String(services['temporal-ui']!.environment!.TEMPORAL_CODEC_ENDPOINT))).toMatch(/\/codec$/);
});

test('every ${VAR} in docker-compose.yml is documented in .env.example', () => {
  const used = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
  const missing = [...used].filter((name) => !envExample.has(name));
  expect(missing).toEqual([]);
});

test('every variable our code reads is documented in .env.example', () => {
  const missing = [...variablesTheCodeReads()].filter((name) => !envExample.has(name));
  expect(missing).toEqual([]);
});

test('the worker, gateway and codec get what they read, and their configuration validates', () => {
  const worker = serviceEnv('worker');
  for (const name of [
    'CYCLR_API_URL',
    'CYCLR_SERVICE_DOMAIN',
    'CYCLR_CLIENT_ID',
    'CYCLR_CLIENT_SECRET',
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'TEMPORAL_TASK_QUEUE',
    'PUBLIC_BASE_URL',
    'LINK_SIGNING_KEY',
    'PAYLOAD_ENCRYPTION_KEY',
    'NOTIFY_SIGNING_SECRET',
    'METRICS_PORT',
    'WORKFLOW_BUNDLE_PATH',
    'BATCH_STORE_DIR',
    'NODE_ENV',
    'LOG_LEVEL',
  ]) {
    expect([name, worker[name]]).toEqual([name, expect.stringMatching(/.+/)]);
  }
  const workerConfig = loadConfig('worker', worker);
  expect(workerConfig.metricsPort).toBe(9464);
  expect(workerConfig.temporal.address).toBe('temporal:7233');

  const gateway = serviceEnv('gateway');
  for (const name of [
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'TEMPORAL_TASK_QUEUE',
    'PUBLIC_BASE_URL',
    'LINK_SIGNING_KEY',
    'PAYLOAD_ENCRYPTION_KEY',
    'GATEWAY_PORT',
    'NODE_ENV',
  ]) {
    expect([name, gateway[name]]).toEqual([name, expect.stringMatching(/.+/)]);
  }
  const gatewayConfig = loadConfig('gateway', gateway);
  // One namespace, task queue and key set across the stack, or the gateway starts work no worker picks up.
  expect(gatewayConfig.temporal).toEqual(workerConfig.temporal);
  expect(gatewayConfig.payloadKeys).toEqual(workerConfig.payloadKeys);
  expect(interpolate(String(services['temporal-setup']!.environment!.TEMPORAL_NAMESPACE))).toBe(
    workerConfig.temporal.namespace,
  );

  const codec = codecOptionsFromEnv(serviceEnv('codec'));
  expect(codec.keys).toEqual(workerConfig.payloadKeys);
  expect(codec.corsOrigins).toContain(interpolate('${TEMPORAL_UI_PUBLIC_URL:-http://localhost:8233}'));
});

test('images are pinned to tags (listed here; their existence on Docker Hub was not checked from this machine)', () => {
  const images = Object.entries(services)
    .filter(([, s]) => !s.build)
    .map(([, s]) => s.image!);
  expect(images.sort()).toEqual([
    'postgres:16.4',
    'temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0',
    'temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0',
    'temporalio/server:1.29.1',
    'temporalio/ui:2.34.0',
  ]);
  for (const image of images) expect(image).toMatch(/^[a-z0-9/._-]+:(?!latest$)[\w.-]+$/);
  // The image runs the Node line package.json's engines names (a supported LTS), pinned to a minor release.
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  const major = /^>=(\d+)$/.exec(packageJson.engines.node)?.[1];
  expect(Number(major)).toBeGreaterThanOrEqual(22);
  expect(base).toMatch(new RegExp(`^node:${major}\\.\\d+-[a-z]+-slim$`));
});

test('CI installs the Node line that engines names when the system node is older', () => {
  const major = /^>=(\d+)$/.exec(packageJson.engines.node)?.[1];
  const ci = read('.ci/run');
  expect(ci).toContain(`-lt ${major} ]`);
  expect(ci).toContain(`npm install --prefix "$NODE${major}_PREFIX" --no-audit --no-fund node@${major}`);
});

test('the Dockerfile builds in one stage and runs the compiled code, no TypeScript, as a non-root user', () => {
  expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
  expect(dockerfile).toMatch(/^RUN npm run build$/m);
  expect(dockerfile).toMatch(/WORKFLOW_BUNDLE_PATH=\/app\/dist\/workflows-bundle\.js/);
  expect(dockerfile).toMatch(/^USER (?!root)\w+$/m);
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  expect(runtime).toContain('--omit=dev');
  expect(runtime).not.toMatch(/tsx|COPY[^\n]* src /);
  expect(runtime).toMatch(/^CMD \["node", "dist\/worker\.js"\]$/m);
  const packageJson = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
  expect(packageJson.dependencies.tsx).toBeUndefined();
  for (const [name, s] of Object.entries(services).filter(([, s]) => s.build)) {
    // node dist/<path>.js: compiled from src/<path>.ts by npm run build
    const entry = s.command?.find((part) => part.startsWith('dist/') && part.endsWith('.js'));
    const source = entry?.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
    expect([name, source && existsSync(join(PROJECT_ROOT, source))]).toEqual([name, true]);
  }
});

test('the setup scripts the compose file mounts exist and register our search attributes', () => {
  for (const s of [services['temporal-schema']!, services['temporal-setup']!]) {
    const script = s.entrypoint!.at(-1)!.replace('/deploy/', 'deploy/temporal/');
    expect(existsSync(join(PROJECT_ROOT, script))).toBe(true);
  }
  const setup = read('deploy/temporal/setup-namespace.sh');
  for (const key of SEARCH_ATTRIBUTES) expect(setup).toContain(key.name);
  expect(setup).toContain('--type Keyword');
  expect(existsSync(join(PROJECT_ROOT, 'deploy/temporal/dynamicconfig/production.yaml'))).toBe(true);
  expect(String(services['temporal']!.environment!.DYNAMIC_CONFIG_FILE_PATH)).toBe(
    '/etc/temporal/config/dynamicconfig/production.yaml',
  );
});
