/**
 * The script a user would otherwise write, run as a process of its own by bench/batch.ts: resolve the connector,
 * then a p-limit pool of WINDOW making one install per account, no durability. Prints {"ms": ...} (start excluded).
 */
import pLimit from 'p-limit';
import { createCyclrClient } from '../src/activities/cyclr/cyclr-client.js';

const { CYCLR_API_URL, CYCLR_CLIENT_ID, CYCLR_CLIENT_SECRET, WINDOW, CONNECTOR_ID, ACCOUNTS } = process.env;

async function main(): Promise<void> {
  const window = Number(WINDOW);
  const accounts = ACCOUNTS!.split(',');
  const cyclr = createCyclrClient({
    apiUrl: CYCLR_API_URL!,
    serviceDomain: CYCLR_API_URL!,
    credentials: { clientId: CYCLR_CLIENT_ID!, clientSecret: CYCLR_CLIENT_SECRET! },
    maxConcurrentRequests: window,
  });
  const started = performance.now();
  const connector = await cyclr.resolveConnector({ id: Number(CONNECTOR_ID) });
  const limit = pLimit(window);
  await Promise.all(
    accounts.map((accountId) =>
      limit(() => cyclr.installConnector(accountId, connector.Id, { Name: connector.Name, AuthValue: 'bench-key' })),
    ),
  );
  process.stdout.write(JSON.stringify({ ms: performance.now() - started }) + '\n');
  cyclr.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
