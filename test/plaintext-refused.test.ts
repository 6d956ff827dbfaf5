/**
 * A production worker refuses payloads that are not encrypted with PAYLOAD_ENCRYPTION_KEY: anyone with access to
 * Temporal could otherwise start or steer a provisioning with inputs of their own. The forged start below is written
 * with a plain client (no codec), as the `temporal` CLI would; the worker acts on nothing and Cyclr sees nothing.
 */
import { Client, Connection } from '@temporalio/client';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { parseProvisioningRequest } from '../src/contract/request.js';
import { provisioningWorkflowId } from '../src/contract/ids.js';
import { decodedFailure } from '../src/temporal/connection.js';
import { eventually, startTestStack, temporalAddress, uniqueId, type TestStack } from './support/harness.js';
import { simulatorStats } from './support/simulator-admin.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack('plaintext', {
    env: { NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://provisioning.example.test' },
  });
});

afterAll(() => stack?.stop());

function apiKeyRequest(accountId: string) {
  const parsed = parseProvisioningRequest({
    accountId,
    account: { create: true },
    connector: { id: FIXTURE_CONNECTORS.apiKey.id },
    authValue: 'plaintext-test-api-key',
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.request;
}

test('a start written without the key is refused by a production worker; Cyclr sees nothing', async () => {
  const forged = apiKeyRequest(uniqueId('forged'));
  const workflowId = provisioningWorkflowId(forged);
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const plain = new Client({ connection });
    const handle = await plain.workflow.start('provisionConnector', {
      taskQueue: stack.client.taskQueue,
      workflowId,
      args: [forged],
    });
    const refusal = await eventually(async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const failure = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes
        ?.failure;
      // Stored encrypted, as every failure's message is: read with the key.
      return failure && (await decodedFailure(stack.client.temporal.options.loadedDataConverter, failure)).message;
    }, 30_000);
    expect(refusal).toMatch(/payload is not encrypted: a production worker takes only payloads encrypted/);
    const stats = await simulatorStats(stack.simulator.url);
    expect(stats.installs.filter((i) => i.accountId === forged.accountId)).toEqual([]);
    expect(JSON.stringify(stats)).not.toContain(forged.accountId);
    await handle.terminate('test: forged start');
  } finally {
    await connection.close();
  }

  // The same worker provisions a start written by the client package, which encrypts it.
  const genuine = apiKeyRequest(uniqueId('genuine'));
  const started = await stack.client.start(genuine);
  await expect(stack.client.result(started.workflowId)).resolves.toMatchObject({ authenticated: true });
});
