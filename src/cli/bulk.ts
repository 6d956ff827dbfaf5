/**
 * `link`, `complete`, `cancel` and `remove` act on one id, on every running provisioning a filter matches, or on the
 * ids listed in a file (`--ids FILE`: offboarding a customer list). The bulk forms show what they would touch with
 * --dry-run, and otherwise need a "yes" typed on a terminal or --yes. What a filter selects and how each is acted on
 * is src/operations/bulk.ts, shared with the support console.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { ProvisioningClient } from '../client.js';
import {
  actOnAll,
  BULK_DEFAULT_LIMIT,
  findBulkTargets,
  type ActionInput,
  type BulkAction,
} from '../operations/bulk.js';
import { CliRefusal, commonOptions, output, parse, UsageError, withClient, type CliCommand } from './command.js';
import { asFlags, filterOptions, hasFilter, parseLimit } from './filter-flags.js';
import { formatList } from './format.js';

const bulkOptions = {
  ...commonOptions,
  ...filterOptions,
  ids: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;

/** `--ids FILE`: one provisioning id a line; blank lines and lines starting with # are skipped. */
function idsFromFile(command: string, file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${command} --ids: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const ids: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    if (!line.startsWith('provision:') || /\s/.test(line)) {
      throw new UsageError(
        `${command} --ids: line ${i + 1} of ${file} is not a provisioning id (they look like provision:{accountId}:{installName}, one a line)`,
      );
    }
    if (!ids.includes(line)) ids.push(line);
  });
  if (!ids.length) throw new UsageError(`${command} --ids: ${file} lists no provisioning id`);
  return ids;
}

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
      if (v.ids !== undefined) {
        if (id || hasFilter(v))
          throw new UsageError(
            `${spec.name}: give --ids FILE alone, without an id or filters (--stage, --account, ...)`,
          );
        if (v.limit)
          throw new UsageError(`${spec.name}: --limit is for filters; --ids acts on every id the file lists`);
        const ids = idsFromFile(spec.name, v.ids);
        return withClient((client) =>
          confirmAndAct(client, spec, v, input, { ids, shown: ids.join('\n') }, { file: v.ids, matched: ids }),
        );
      }
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
        const chosen = { ids: targets.map((t) => t.workflowId), shown: formatList(targets, new Date(), limit) };
        return confirmAndAct(client, spec, v, input, chosen, { query, matched: targets });
      });
    },
  };
}

/**
 * The bulk forms' common end: a dry run lists what was chosen; otherwise a "yes" (typed on a terminal, or --yes),
 * then each id is acted on and every outcome reported. Exit 1 when any failed.
 */
async function confirmAndAct<R>(
  client: ProvisioningClient,
  spec: ActionSpec<R>,
  v: { json?: boolean; 'dry-run'?: boolean; yes?: boolean },
  input: ActionInput,
  chosen: { ids: string[]; shown: string },
  described: Record<string, unknown>,
): Promise<number> {
  const verb = spec.action.verb;
  const { ids, shown } = chosen;
  if (v['dry-run'] || ids.length === 0) {
    const human = `${ids.length === 0 ? 'nothing matches' : `would ${verb} ${ids.length}:`}\n${ids.length ? shown : ''}`;
    output(v.json, human.trimEnd(), { dryRun: Boolean(v['dry-run']), ...described });
    return 0;
  }
  if (!v.yes) {
    if (!process.stdin.isTTY) {
      throw new CliRefusal(
        `${spec.name}: ${ids.length} provisioning(s) match; not a terminal, so nothing was done. ` +
          'Check them with --dry-run, then run again with --yes',
      );
    }
    console.error(shown);
    if (!(await confirm(`${verb} these ${ids.length} provisioning(s)? [y/N] `))) {
      throw new CliRefusal(`${spec.name}: not confirmed; nothing was done`);
    }
  }
  const outcomes = await actOnAll(client, ids, spec.action, input);
  const failed = outcomes.filter((o) => !o.ok);
  const human = [
    ...outcomes.map((o) =>
      o.ok
        ? spec.describe(o.workflowId, o.result as R)
        : `FAILED ${o.workflowId}: ${o.error!.type}: ${o.error!.message}`,
    ),
    `${verb}: ${outcomes.length - failed.length} done, ${failed.length} failed`,
  ].join('\n');
  const { matched: _matched, ...context } = described;
  output(v.json, human, {
    ...context,
    done: outcomes.length - failed.length,
    failed: failed.length,
    results: outcomes,
  });
  return failed.length ? 1 : 0;
}
