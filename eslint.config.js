import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const NODE_BUILTINS = builtinModules.flatMap((m) => [m, `node:${m}`]);

/** An import of another layer's folder, from anywhere in src/ (relative specifiers only; there are no aliases). */
const layer = (name) => [`**/${name}/**`, `../${name}.js`, `../../${name}.js`];
const ALL_LAYERS = {
  dev: ['**/dev/**', '**/bench/**', '**/test/**', '**/scripts/**'],
  workflows: layer('workflows'),
  activities: layer('activities'),
  batch: layer('batch'),
  client: ['../client.js', '../../client.js', '../../../client.js'],
  operations: layer('operations'),
  cli: layer('cli'),
  gateway: layer('gateway'),
  worker: ['../worker.js', '../../worker.js'],
  infrastructure: [
    ...layer('observability'),
    ...layer('signing'),
    ...layer('temporal'),
    ...layer('webhooks'),
    ...layer('codec'),
    '../config.js',
    '../../config.js',
  ],
};
/**
 * Seen from src/workflows/legacy/: a path that climbs one folder and no further (src/workflows/ and below), or that
 * names the workflows folder. `./` (its own frozen helpers) and `../../contract/` stay open.
 */
const LIVE_WORKFLOWS = { regex: '^\\.\\./(?!\\.\\./)|(^|/)workflows/' };
const PATTERNS = { ...ALL_LAYERS, 'live workflow code': LIVE_WORKFLOWS };

/** Per layer: the layers above it (forbidden), and whether type-only imports of them are allowed. */
const LAYERS = [
  {
    files: ['src/contract/**'],
    forbid: Object.keys(ALL_LAYERS),
    builtins: true,
    why: 'The contract is imported by workflow code: it depends on nothing else of ours and no Node built-in.',
  },
  {
    files: ['src/workflows/**'],
    forbid: Object.keys(ALL_LAYERS).filter((l) => l !== 'workflows'),
    builtins: true,
    types: ['activities'],
    why: 'Workflows import the contract only, and call activities through proxyActivities (type-only imports).',
  },
  {
    files: ['src/workflows/legacy/**'],
    forbid: [...Object.keys(ALL_LAYERS).filter((l) => l !== 'workflows'), 'live workflow code'],
    builtins: true,
    types: ['activities'],
    why:
      'A frozen workflow version imports only the contract and its own frozen helpers, so that no edit to live code ' +
      'changes what its runs replay (docs/workflow-versions.md).',
  },
  {
    files: [
      'src/observability/**',
      'src/signing/**',
      'src/temporal/**',
      'src/webhooks/**',
      'src/codec/**',
      'src/config.ts',
      'src/config/**',
    ],
    forbid: ['dev', 'workflows', 'activities', 'batch', 'client', 'operations', 'cli', 'gateway', 'worker'],
    why: 'Infrastructure serves the layers above it and knows nothing of them.',
  },
  {
    files: ['src/activities/**'],
    forbid: ['dev', 'workflows', 'client', 'operations', 'cli', 'gateway', 'worker'],
    types: ['workflows'],
    why: 'Activities take their dependencies from the worker; they share types with workflows through the contract.',
  },
  {
    files: ['src/batch/**'],
    forbid: ['dev', 'workflows', 'activities', 'client', 'operations', 'cli', 'gateway', 'worker'],
    types: ['workflows'],
    why: 'The batch store and starter are below the client, the CLI and the gateway.',
  },
  {
    files: ['src/client.ts', 'src/operations/**'],
    forbid: ['dev', 'workflows', 'activities', 'cli', 'gateway', 'worker'],
    types: ['workflows'],
    why: 'The typed client starts workflows by type; it never runs activity code.',
  },
  {
    files: ['src/gateway/**'],
    forbid: ['dev', 'workflows', 'activities', 'cli', 'worker'],
    types: ['workflows'],
    why: 'The gateway talks to Temporal through the typed client.',
  },
  {
    files: ['src/cli/**'],
    forbid: ['dev', 'workflows', 'activities', 'gateway', 'worker'],
    types: ['workflows'],
    why: 'The CLI talks to Temporal through the typed client.',
  },
  {
    files: ['src/worker.ts', 'src/workflow-bundle.ts'],
    forbid: ['dev', 'cli', 'gateway'],
    why: 'The worker hosts workflows and activities; nothing development-only ships with it.',
  },
];

function layerBoundaries() {
  return LAYERS.map(({ files, forbid, builtins, types = [], why }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtins ? NODE_BUILTINS : [],
          patterns: forbid.map((l) => ({
            ...(Array.isArray(PATTERNS[l]) ? { group: PATTERNS[l] } : PATTERNS[l]),
            allowTypeImports: types.includes(l),
            message: `${files.join(', ')} may not import ${l}${types.includes(l) ? ' (type-only imports are fine)' : ''}. ${why}`,
          })),
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['node_modules', '.tmp', 'test-results', 'coverage', 'dist'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layers, lowest first. A file may import its own layer and the ones below it, never one above: the contract
  // is what everyone shares, workflows see only the contract, and nothing in src/ reaches into dev/ or bench/.
  ...layerBoundaries(),
  // Every environment variable is read in one place, src/config.ts, so each is validated, documented and known to
  // the "did you mean" check (docs/operations.md lists them).
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read environment variables in src/config.ts only.' },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
  // CommonJS the SDK loads by path with require() (src/temporal/failure-converter.cjs).
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
