import { commonOptions, output, parse, UsageError, withClient, cliConfig, type CliCommand } from '../command.js';
import { BatchStore } from '../../batch/store.js';
import { listBatchRows } from '../../operations/filters.js';
import { buildQuery, filterOptions, listProvisionings, parseLimit } from '../filter-flags.js';
import { formatList } from '../format.js';

export const listCommand: CliCommand = {
  name: 'list',
  usage: `list [--stage S] [--account A] [--connector C] [--batch B] [--older-than 2d] [--limit N]
                               provisionings by stage, account, connector, batch and age (newest first)`,
  async run(args) {
    const { values, positionals } = parse(args, { ...commonOptions, ...filterOptions });
    if (positionals.length)
      throw new UsageError(`list takes no arguments; got "${positionals[0]}" (filters are flags)`);
    const query = buildQuery(values);
    const limit = parseLimit(values.limit, 100);
    const found = await withClient((c) => listProvisionings(c.temporal, query, limit));
    // A batch's rows that completed at install ran without a workflow: their outcomes are in the batch store.
    const batch = values.batch;
    if (batch !== undefined && found.length < limit) {
      const store = BatchStore.fromConfig(cliConfig());
      const listed = new Set(found.map((f) => f.workflowId));
      found.push(...(await listBatchRows(store, { ...values, batch }, limit - found.length, listed)));
    }
    output(values.json, formatList(found, new Date(), limit), found);
    return 0;
  },
};
