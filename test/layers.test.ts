/** The layer boundaries in eslint.config.js fail a backwards import, and let the allowed ones through. */
import { ESLint } from 'eslint';

// Type-aware rules need files the TypeScript project knows; these snippets are not on disk, so lint without types.
const eslint = new ESLint({
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test.each([
  [
    'src/contract/request.ts',
    "import { buildApp } from '../gateway/app.js';",
    /src\/contract\/\*\* may not import gateway/,
  ],
  ['src/contract/ids.ts', "import { createHash } from 'node:crypto';", /node:crypto/],
  ['src/workflows/batch-run.ts', "import { BatchStore } from '../batch/store.js';", /may not import batch/],
  ['src/workflows/status.ts', "import { readFileSync } from 'node:fs';", /node:fs/],
  [
    'src/activities/batch.ts',
    "import { provisionBatch } from '../workflows/provision-batch.js';",
    /may not import workflows/,
  ],
  ['src/observability/metrics.ts', "import { BatchStore } from '../batch/store.js';", /may not import batch/],
  ['src/gateway/app.ts', "import { formatList } from '../cli/format.js';", /may not import cli/],
  ['src/cli/main.ts', "import { buildApp } from '../gateway/app.js';", /may not import gateway/],
  ['src/batch/store.ts', "import { PROJECT_ROOT } from '../../dev/local-stack/processes.js';", /may not import dev/],
  // A frozen version may not reach into live workflow code, by any path, nor even for a type.
  [
    'src/workflows/legacy/provision-connector-v1.ts',
    "import { pushStage } from '../status.js';",
    /src\/workflows\/legacy\/\*\* may not import live workflow code\. A frozen workflow version imports only/,
  ],
  [
    'src/workflows/legacy/provision-batch-v1.ts',
    "import type { BatchState } from '../batch-state.js';",
    /may not import live workflow code/,
  ],
  [
    'src/workflows/legacy/provision-batch-v1.ts',
    "import { provisionConnector } from '../../workflows/provision-connector.js';",
    /may not import live workflow code/,
  ],
  ['src/workflows/legacy/status-v1.ts', "import { readFileSync } from 'node:fs';", /node:fs/],
])('%s: %s is refused', async (filePath, code, message) => {
  expect(await problems(filePath, `${code}\nexport {};\n`)).toEqual([expect.stringMatching(message)]);
});

test.each([
  [
    'src/workflows/provisioning-activities.ts',
    "import type { ProvisioningActivities } from '../activities/provisioning.js';",
  ],
  ['src/workflows/status.ts', "import { ProvisioningStage } from '../contract/search-attributes.js';"],
  ['src/activities/batch-rows.ts', "import type { provisionBatch } from '../workflows/provision-batch.js';"],
  ['src/gateway/routes/batches.ts', "import { submitParsedBatch } from '../../batch/batch-client.js';"],
  ['src/cli/main.ts', "import { ProvisioningClient } from '../client.js';"],
  ['src/worker.ts', "import { createProvisioningActivities } from './activities/provisioning.js';"],
  ['src/workflows/legacy/provision-connector-v1.ts', "import { Failure } from '../../contract/failures.js';"],
  ['src/workflows/legacy/provision-connector-v1.ts', "import { recordStage } from './status-v1.js';"],
  [
    'src/workflows/legacy/activities-v1.ts',
    "import type { ProvisioningActivities } from '../../activities/provisioning.js';",
  ],
  // Live code may call the frozen versions (that is how old runs reach them).
  [
    'src/workflows/provision-connector.ts',
    "import { provisionConnectorV1 } from './legacy/provision-connector-v1.js';",
  ],
  ['src/workflows/provision-connector.ts', "import { Failure } from '../contract/failures.js';"],
])('%s: %s is allowed', async (filePath, code) => {
  expect(await problems(filePath, `${code}\nexport {};\n`)).toEqual([]);
});
