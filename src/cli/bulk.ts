/**
 * `link`, `complete` and `cancel` act on one id, or on every running provisioning a filter matches. The bulk form
 * shows what it would touch with --dry-run, and otherwise needs a "yes" typed on a terminal or --yes.
 */
import { createInterface } from 'node:readline/promises';
import pLimit from 'p-limit';
import type { ProvisioningClient } from '../client.js';
import { CliRefusal, commonOptions, output, parse, UsageError, withClient, type CliCommand } from './command.js';
import {
  buildQuery,
  filterOptions,
  hasFilter,
  listProvisionings,
  parseLimit,
  type ListedProvisioning,
} from './filters.js';
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
  /** The verb for the prompt and summary, e.g. "cancel". */
  verb: string;
  act(client: ProvisioningClient, id: string, values: Record<string, unknown>): Promise<R>;
  /** One line of human output for one acted-on id. */
  describe(id: string, result: R): string;
}

interface Outcome<R> {
  workflowId: string;
  ok: boolean;
  result?: R;
  error?: { type: string; message: string };
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
  return {
    name: spec.name,
    usage: spec.usage,
    async run(args) {
      const { values, positionals } = parse(args, { ...bulkOptions, ...(spec.options ?? {}) });
      const v = values as Record<string, unknown> & typeof values;
      const [id, extra] = positionals;
      if (extra) throw new UsageError(`${spec.name} takes one id; got an extra argument "${extra}"`);
      if (id && hasFilter(v))
        throw new UsageError(`${spec.name}: give either an id or filters (--stage, --account, ...), not both`);
      if (id) {
        if (v['dry-run'] || v.yes || v.limit)
          throw new UsageError(`${spec.name}: --dry-run, --yes and --limit are for filters, not a single id`);
        const result = await withClient((c) => spec.act(c, id, v));
        output(v.json, spec.describe(id, result), { workflowId: id, ...(result as object) });
        return 0;
      }
      if (!hasFilter(v)) {
        throw new UsageError(
          `${spec.name} needs a provisioning id, or filters such as --stage awaiting-consent --older-than 14d`,
        );
      }
      const query = buildQuery(v, { runningOnly: true });
      const limit = parseLimit(v.limit, 1000);
      return withClient(async (client) => {
        const targets = await listProvisionings(client.temporal, query, limit);
        if (v['dry-run'] || targets.length === 0) {
          const human =
            `${targets.length === 0 ? 'nothing matches' : `would ${spec.verb} ${targets.length}:`}\n${targets.length ? formatList(targets, new Date(), limit) : ''}`.trimEnd();
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
          if (!(await confirm(`${spec.verb} these ${targets.length} provisioning(s)? [y/N] `))) {
            throw new CliRefusal(`${spec.name}: not confirmed; nothing was done`);
          }
        }
        const outcomes = await actOnAll(client, targets, spec, v);
        const failed = outcomes.filter((o) => !o.ok);
        const human = [
          ...outcomes.map((o) =>
            o.ok
              ? spec.describe(o.workflowId, o.result as R)
              : `FAILED ${o.workflowId}: ${o.error!.type}: ${o.error!.message}`,
          ),
          `${spec.verb}: ${outcomes.length - failed.length} done, ${failed.length} failed`,
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

/** A few at a time: enough to be quick, gentle on the server. */
async function actOnAll<R>(
  client: ProvisioningClient,
  targets: ListedProvisioning[],
  spec: ActionSpec<R>,
  values: Record<string, unknown>,
): Promise<Outcome<R>[]> {
  return pLimit(8).map(targets, async ({ workflowId }): Promise<Outcome<R>> => {
    try {
      return { workflowId, ok: true, result: await spec.act(client, workflowId, values) };
    } catch (err) {
      const e = err as { type?: string; message?: string };
      return { workflowId, ok: false, error: { type: e.type ?? 'Error', message: e.message ?? String(err) } };
    }
  });
}
