import { batchProgress, cancelBatch } from '../../batch/batch-client.js';
import { BatchStore } from '../../batch/store.js';
import { follow, printBatchReport } from '../batch-view.js';
import { UsageError, commonOptions, parse, withClient, cliConfig, type CliCommand } from '../command.js';

function requireBatchId(command: string, positionals: string[]): string {
  const [id, extra] = positionals;
  if (!id) throw new UsageError(`${command} needs a batch id, as printed by "provisioner batch"`);
  if (extra) throw new UsageError(`${command} takes one batch id; got an extra argument "${extra}"`);
  return id.replace(/^batch:/, '');
}

export const batchStatusCommand: CliCommand = {
  name: 'batch-status',
  usage:
    'batch-status <batchId> [--follow] [--failures PATH]\n' +
    '                               progress of a running or finished batch, its summary and failures file',
  async run(args) {
    const { values, positionals } = parse(args, {
      ...commonOptions,
      follow: { type: 'boolean' },
      failures: { type: 'string' },
    });
    const batchId = requireBatchId('batch-status', positionals);
    const config = cliConfig();
    const store = BatchStore.fromConfig(config);
    return withClient(async (client) => {
      const snap =
        values.follow && !values.json
          ? await follow(client.temporal, batchId)
          : await batchProgress(client.temporal, batchId);
      await printBatchReport(store, batchId, snap, { json: values.json, failuresPath: values.failures });
      return snap.progress.failed > 0 ? 1 : 0;
    });
  },
};

export const batchCancelCommand: CliCommand = {
  name: 'batch-cancel',
  usage:
    'batch-cancel <batchId> [--reason R]\n' +
    '                               stop starting new provisionings (those already started keep going)',
  async run(args) {
    const { values, positionals } = parse(args, { ...commonOptions, reason: { type: 'string' } });
    const batchId = requireBatchId('batch-cancel', positionals);
    await withClient((client) => cancelBatch(client.temporal, batchId, values.reason));
    console.log(
      values.json
        ? JSON.stringify({ batchId, cancelled: true })
        : `batch ${batchId}: no new provisionings will start; those already started keep going`,
    );
    return 0;
  },
};
