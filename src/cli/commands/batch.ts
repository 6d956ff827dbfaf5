import { submitBatch } from '../../batch/batch-client.js';
import { BatchStore } from '../../batch/store.js';
import { follow, printBatchReport } from '../batch-view.js';
import { UsageError, commonOptions, parse, withClient, cliConfig, type CliCommand } from '../command.js';

const options = {
  ...commonOptions,
  concurrency: { type: 'string' },
  'batch-id': { type: 'string' },
  follow: { type: 'boolean' },
  failures: { type: 'string' },
  'continue-as-new-after': { type: 'string' },
} as const;

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag} must be a positive whole number`);
  return Number(value);
}

export const batchCommand: CliCommand = {
  name: 'batch',
  usage:
    'batch <file.csv|file.jsonl> [--concurrency N] [--batch-id ID] [--follow] [--failures PATH]\n' +
    '                               validate, store and start a batch (or re-attach to it); exit 1 if any row failed',
  async run(args) {
    const { values, positionals } = parse(args, options);
    const [file, extra] = positionals;
    if (!file) throw new UsageError('batch needs a file: provisioner batch accounts.csv');
    if (extra) throw new UsageError(`batch takes one file; got an extra argument "${extra}"`);
    const config = cliConfig();
    const store = BatchStore.fromConfig(config);
    return withClient(async (client) => {
      const submitted = await submitBatch(client.temporal, client.taskQueue, store, {
        file,
        batchId: values['batch-id'],
        concurrency: positiveInt('concurrency', values.concurrency),
        continueAsNewAfter: positiveInt('continue-as-new-after', values['continue-as-new-after']),
      });
      const { batchId, file: parsed } = submitted;
      if (!values.json) {
        console.error(
          `${file}: ${parsed.total} rows, ${parsed.rows.length} valid, ${parsed.rejected.length} rejected` +
            (parsed.rejected.length ? ' (they will not run):' : ''),
        );
        for (const r of parsed.rejected.slice(0, 20)) console.error(`  line ${r.line}: ${r.message}`);
        if (parsed.rejected.length > 20)
          console.error(`  ... and ${parsed.rejected.length - 20} more (see the failures file)`);
        console.error(
          `${submitted.started ? 'started' : 'already running, attached to'} batch ${batchId} (workflow ${submitted.workflowId})`,
        );
      }
      if (!values.follow) {
        if (values.json) {
          console.log(
            JSON.stringify(
              {
                batchId,
                workflowId: submitted.workflowId,
                started: submitted.started,
                total: parsed.total,
                valid: parsed.rows.length,
                rejected: parsed.rejected,
              },
              null,
              2,
            ),
          );
        } else {
          console.error(`follow it with: provisioner batch-status ${batchId} --follow`);
        }
        return parsed.rejected.length ? 1 : 0;
      }
      // With --json, stdout carries only the final document; nothing is drawn.
      const snap = await follow(client.temporal, batchId, values.json ? null : process.stderr);
      await printBatchReport(store, batchId, snap, { json: values.json, failuresPath: values.failures });
      return snap.progress.failed > 0 || snap.status !== 'COMPLETED' ? 1 : 0;
    });
  },
};
