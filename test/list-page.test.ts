/**
 * The console's pages (listPage, the service's page tokens) list exactly what the CLI's list (the client's
 * workflow.list) does: the same ids, search attributes, status names and times. Against the dev server, with
 * workflows started (no worker needed: visibility has them at once) and some of them ended.
 */
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { BatchId, ConnectorName, CyclrAccountId, ProvisioningStage } from '../src/contract/search-attributes.js';
import { buildQuery, listPage, listProvisionings, type ListedProvisioning } from '../src/operations/filters.js';
import { eventually, temporalAddress, uniqueId } from './support/harness.js';

let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection });
});

afterAll(() => connection?.close());

test('listPage pages through what listProvisionings lists, entry for entry', async () => {
  const account = uniqueId('list-page');
  const taskQueue = uniqueId('list-page-queue');
  const ids: string[] = [];
  for (const [i, stage] of ['installing', 'awaiting-consent', 'completed', 'failed', 'cancelled'].entries()) {
    const workflowId = `${account}-${i}`;
    ids.push(workflowId);
    const handle = await client.workflow.start('provisionConnector', {
      workflowId,
      taskQueue,
      args: [],
      typedSearchAttributes: new TypedSearchAttributes([
        { key: ProvisioningStage, value: stage },
        { key: CyclrAccountId, value: account },
        { key: ConnectorName, value: 'Slack' },
        ...(i % 2 ? [{ key: BatchId, value: `batch-${account}` }] : []),
      ]),
    });
    if (stage === 'failed') await handle.terminate('test');
    if (stage === 'cancelled') await handle.cancel();
  }
  const query = buildQuery({ account });
  const listed = await eventually(async () => {
    const all = await listProvisionings(client, query, 100);
    return all.length === ids.length && all.some((e) => e.status === 'terminated') ? all : undefined;
  });

  const paged: ListedProvisioning[] = [];
  let page: string | undefined;
  do {
    const next = await listPage(client, query, 2, page);
    expect(next.rows.length).toBeLessThanOrEqual(2);
    paged.push(...next.rows);
    page = next.nextPage;
  } while (page);

  expect(paged).toEqual(listed);
  expect(new Set(paged.map((e) => e.workflowId))).toEqual(new Set(ids));
  const first = paged.find((e) => e.workflowId === ids[1])!;
  expect(first).toMatchObject({ stage: 'awaiting-consent', accountId: account, connector: 'Slack', status: 'running' });
  expect(first.batchId).toBe(`batch-${account}`);
  expect(paged.find((e) => e.workflowId === ids[3])).toMatchObject({ status: 'terminated' });
  expect(paged.find((e) => e.workflowId === ids[3])!.closeTime).toMatch(/^\d{4}-/);
  expect(paged.find((e) => e.workflowId === ids[0])!.batchId).toBeUndefined();
});

test("a provisioning's earlier runs are not listed: a removed one no longer shows as completed", async () => {
  const account = uniqueId('list-runs');
  const taskQueue = uniqueId('list-runs-queue');
  const workflowId = `${account}-0`;
  const run = async (stage: string) => {
    const handle = await client.workflow.start('provisionConnector', {
      workflowId,
      taskQueue,
      args: [],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: ProvisioningStage, value: stage },
        { key: CyclrAccountId, value: account },
      ]),
    });
    await handle.terminate('test');
    return handle.firstExecutionRunId;
  };
  await run('completed');
  const removedRun = await run('removed');
  // Visibility has both runs; the list has the latest only, and a filter on the earlier run's stage finds nothing.
  await eventually(async () => {
    const { count } = await client.workflow.count(buildQuery({ account }));
    return count === 2 ? true : undefined;
  });
  await expect(listProvisionings(client, buildQuery({ account }), 100)).resolves.toEqual([
    expect.objectContaining({ workflowId, runId: removedRun, stage: 'removed' }),
  ]);
  await expect(listProvisionings(client, buildQuery({ account, stage: 'completed' }), 100)).resolves.toEqual([]);
  await expect(listPage(client, buildQuery({ account, stage: 'completed' }), 10)).resolves.toMatchObject({ rows: [] });
});
