/**
 * `link`, `complete`, `cancel` and `remove` act on one id, or on every running provisioning a filter matches. The bulk form
 * shows what it would touch with --dry-run, and otherwise needs a "yes" typed on a terminal or --yes. What a filter
 * selects and how each is acted on is src/operations/bulk.ts, shared with the support console.
 */
import { createInterface } from 'node:readline/promises';
import { actOnAll, BULK_DEFAULT_LIMIT, findBulkTargets, type BulkAction } from '../operations/bulk.js';
import { CliRefusal, commonOptions, output, parse, UsageError, withClient, type CliCommand } from './command.js';
import { asFlags, filterOptions, hasFilter, parseLimit } from './filter-flags.js';
import { formatList } from './format.js';

const bulkOptions = {
  ...commonOptions,
  ...filterOptions,
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;

export interface ActionSpec<R> {
  name: string;
  usage: string;
  /** Extra flags of this command (e.g. --reason). */
  options?: Record<string, { type: 'string' | 'boolean' }>;
  action: BulkAction<R>;
  /** One line of human output for one acted-on id. */
  describe(id: string, result: R): string;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function bulkCommand<R>(spec: ActionSpec<R>): CliCommand {
  const verb = spec.action.verb;
  return {
    name: spec.name,
    usage: spec.usage,
    async run(args) {
      const { values, positionals } = parse(args, { ...bulkOptions, ...(spec.options ?? {}) });
      const v = values as Record<string, unknown> & typeof values;
      const input = { source: 'cli' as const, reason: v.reason as string | undefined };
      const [id, extra] = positionals;
      if (extra) throw new UsageError(`${spec.name} takes one id; got an extra argument "${extra}"`);
      if (id && hasFilter(v))
        throw new UsageError(`${spec.name}: give either an id or filters (--stage, --account, ...), not both`);
      if (id) {
        if (v['dry-run'] || v.yes || v.limit)
          throw new UsageError(`${spec.name}: --dry-run, --yes and --limit are for filters, not a single id`);
        const result = await withClient((c) => spec.action.act(c, id, input));
        output(v.json, spec.describe(id, result), { workflowId: id, ...(result as object) });
        return 0;
      }
      if (!hasFilter(v)) {
        throw new UsageError(
          `${spec.name} needs a provisioning id, or filters such as --stage awaiting-consent --older-than 14d`,
        );
      }
      const limit = parseLimit(v.limit, BULK_DEFAULT_LIMIT);
      return withClient(async (client) => {
        const { query, targets } = await asFlags(() =>
          findBulkTargets(client, v, limit, new Date(), spec.action.targets),
        );
        if (v['dry-run'] || targets.length === 0) {
          const human =
            `${targets.length === 0 ? 'nothing matches' : `would ${verb} ${targets.length}:`}\n${targets.length ? formatList(targets, new Date(), limit) : ''}`.trimEnd();
          output(v.json, human, { dryRun: Boolean(v['dry-run']), query, matched: targets });
          return 0;
        }
        if (!v.yes) {
          if (!process.stdin.isTTY) {
            throw new CliRefusal(
              `${spec.name}: ${targets.length} provisioning(s) match; not a terminal, so nothing was done. ` +
                'Check them with --dry-run, then run again with --yes',
            );
          }
          console.error(formatList(targets, new Date(), limit));
          if (!(await confirm(`${verb} these ${targets.length} provisioning(s)? [y/N] `))) {
            throw new CliRefusal(`${spec.name}: not confirmed; nothing was done`);
          }
        }
        const outcomes = await actOnAll(
          client,
          targets.map((t) => t.workflowId),
          spec.action,
          input,
        );
        const failed = outcomes.filter((o) => !o.ok);
        const human = [
          ...outcomes.map((o) =>
            o.ok
              ? spec.describe(o.workflowId, o.result as R)
              : `FAILED ${o.workflowId}: ${o.error!.type}: ${o.error!.message}`,
          ),
          `${verb}: ${outcomes.length - failed.length} done, ${failed.length} failed`,
        ].join('\n');
        output(v.json, human, {
          query,
          done: outcomes.length - failed.length,
          failed: failed.length,
          results: outcomes,
        });
        return failed.length ? 1 : 0;
      });
    },
  };
}
