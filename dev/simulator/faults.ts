/**
 * Fault injection on demand: latency, 5xx, 429 with Retry-After, and dropping the connection after a change was
 * committed. With a `seed`, the same sequence of requests gets the same faults, so failures reproduce.
 */
import { z } from 'zod';

export const ENDPOINT_GROUPS = [
  'token',
  'connectors',
  'install',
  'accountConnectors',
  'accounts',
  'signintoken',
  'connectorauth',
] as const;
export type EndpointGroup = (typeof ENDPOINT_GROUPS)[number];

const rate = z.number().min(0).max(1);

const faultRuleSchema = z
  .object({
    /** Delay before the request is handled. */
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    /** Share of requests answered 500/502/503 before anything is committed. */
    errorRate: rate.optional(),
    /** Share of requests answered 429 with `Retry-After: retryAfterSeconds`. */
    rateLimitRate: rate.optional(),
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    /** Share of successful changes (POST/PUT/DELETE) whose socket is destroyed instead of answered. */
    dropAfterCommitRate: rate.optional(),
  })
  .strict();
export type FaultRule = z.infer<typeof faultRuleSchema>;

/** A group, or `*` for every group. */
export type FaultTarget = EndpointGroup | '*';

export const faultConfigSchema = z
  .object({
    /** Seed for the fault RNG; without it faults use Math.random. */
    seed: z.number().int().optional(),
    ...Object.fromEntries([...ENDPOINT_GROUPS, '*'].map((g) => [g, faultRuleSchema.optional()])),
  })
  .strict();

/**
 * `{ seed?, "*"?: rule, token?: rule, install?: rule, ... }`; a group's own fields override the `"*"` ones.
 * Example: `{ "seed": 7, "install": { "dropAfterCommitRate": 1 } }`.
 */
export type FaultConfig = { seed?: number } & Partial<Record<FaultTarget, FaultRule>>;

/** Parses a fault config, throwing an Error whose message names the bad field. */
export function parseFaultConfig(input: unknown): FaultConfig {
  const result = faultConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'body';
    const hint =
      issue.code === 'unrecognized_keys'
        ? ` (allowed groups: ${[...ENDPOINT_GROUPS, '*'].join(', ')}; allowed fields: latencyMs, errorRate, rateLimitRate, retryAfterSeconds, dropAfterCommitRate, seed)`
        : '';
    throw new Error(`Invalid fault config at ${where}: ${issue.message}${hint}`);
  }
  return result.data as FaultConfig;
}

/** mulberry32: tiny, fast, good enough for reproducible fault sequences. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type PreFault =
  | { kind: 'none'; latencyMs: number }
  | { kind: '429'; latencyMs: number; retryAfterSeconds: number }
  | { kind: '5xx'; latencyMs: number; status: 500 | 502 | 503 };

export class FaultInjector {
  private config: FaultConfig = {};
  private random: () => number = Math.random;

  constructor(config?: FaultConfig) {
    this.set(config ?? {});
  }

  /** Replaces the whole configuration (and reseeds). */
  set(config: FaultConfig): void {
    this.config = parseFaultConfig(config);
    this.random = this.config.seed === undefined ? Math.random : seededRandom(this.config.seed);
  }

  get(): FaultConfig {
    return structuredClone(this.config);
  }

  private rule(group: EndpointGroup): FaultRule {
    return { ...this.config['*'], ...this.config[group] };
  }

  /** Decides what happens before the handler runs. */
  before(group: EndpointGroup): PreFault {
    const r = this.rule(group);
    const latencyMs = r.latencyMs ?? 0;
    if (r.rateLimitRate && this.random() < r.rateLimitRate) {
      return { kind: '429', latencyMs, retryAfterSeconds: r.retryAfterSeconds ?? 1 };
    }
    if (r.errorRate && this.random() < r.errorRate) {
      const statuses = [500, 502, 503] as const;
      return { kind: '5xx', latencyMs, status: statuses[Math.floor(this.random() * statuses.length)] };
    }
    return { kind: 'none', latencyMs };
  }

  /** Decides, after a change was committed, whether to drop the connection instead of answering. */
  dropAfterCommit(group: EndpointGroup): boolean {
    const r = this.rule(group).dropAfterCommitRate;
    return !!r && this.random() < r;
  }
}
