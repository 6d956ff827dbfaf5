import { commonOptions, output, parse, UsageError, withClient, cliConfig, type CliCommand } from '../command.js';
import { BatchStore } from '../../batch/store.js';
import { listAccountRows, listBatchRows } from '../../operations/filters.js';
import { buildQuery, filterOptions, listProvisionings, parseLimit } from '../filter-flags.js';
import { formatLapsed, formatList } from '../format.js';

export const listCommand: CliCommand = {
  name: 'list',
  usage: `list [--stage S] [--account A] [--connector C] [--batch B] [--older-than 2d] [--limit N]
                               provisionings by stage, account, connector, batch and age (newest first)
  list --lapsed [--account A]  completed connections Cyclr no longer reports authenticated (the latest check)`,
  async run(args) {
    const { values, positionals } = parse(args, { ...commonOptions, ...filterOptions, lapsed: { type: 'boolean' } });
    if (positionals.length)
      throw new UsageError(`list takes no arguments; got "${positionals[0]}" (filters are flags)`);
    if (values.lapsed) {
      const other = (['stage', 'connector', 'batch', 'older-than'] as const).find((f) => values[f] !== undefined);
      if (other) throw new UsageError(`--lapsed takes --account only, not --${other}`);
      const latest = await withClient((c) => c.lapsedConnections());
      const account = values.account;
      const lapsed = latest?.lapsed.filter((l) => account === undefined || l.accountId === account) ?? [];
      // The total stays the whole check's when its list was cut short (MAX_LAPSES_LISTED).
      const cut = latest !== undefined && latest.lapsedTotal > latest.lapsed.length;
      const check = latest && { ...latest, lapsed, lapsedTotal: cut ? latest.lapsedTotal : lapsed.length };
      output(values.json, formatLapsed(check), check ?? null);
      return 0;
    }
    const query = buildQuery(values);
    const limit = parseLimit(values.limit, 100);
    const found = await withClient((c) => listProvisionings(c.temporal, query, limit));
    // A batch's rows that completed at install ran without a workflow: their outcomes are in the batch store, kept
    // by batch and by account.
    const { batch, account } = values;
    if ((batch !== undefined || account !== undefined) && found.length < limit) {
      const store = BatchStore.fromConfig(cliConfig());
      const listed = new Set(found.map((f) => f.workflowId));
      const more = limit - found.length;
      if (batch !== undefined) found.push(...(await listBatchRows(store, { ...values, batch }, more, listed)));
      else if (account !== undefined)
        found.push(...(await listAccountRows(store, { ...values, account }, more, listed)));
    }
    output(values.json, formatList(found, new Date(), limit), found);
    return 0;
  },
};
