/**
 * Configuration from the environment, validated once at start. A bad or missing value is one clear line that names
 * the variable and what to do.
 */
import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { z } from 'zod';

/** A key list entry without a key id (a bare secret) gets this id; a later "newId:secret,default:..." rotates it. */
export const DEFAULT_KEY_ID = 'default';

const keyList = (name: string) =>
  z
    .string()
    .min(1)
    .transform((raw, ctx) => {
      // "kid1:secret1,kid2:secret2": the first key signs or encrypts; every key verifies or decrypts (rotation).
      // A single bare secret (no ":") is accepted too, under DEFAULT_KEY_ID: it is the first thing people try.
      const parts = raw.split(',').map((part) => part.trim());
      if (parts.length === 1 && !parts[0]!.includes(':')) {
        if (parts[0]!.length < 32) {
          ctx.addIssue({
            code: 'custom',
            message: `${name} must be "keyId:secret[,keyId:secret...]", or one secret of at least 32 characters`,
          });
          return z.NEVER;
        }
        return [{ id: DEFAULT_KEY_ID, secret: parts[0]! }];
      }
      const keys = parts.map((part) => {
        const [id, ...rest] = part.split(':');
        return { id: id!, secret: rest.join(':') };
      });
      for (const k of keys) {
        if (!k.id || !k.secret) {
          ctx.addIssue({ code: 'custom', message: `${name} must be "keyId:secret[,keyId:secret...]"` });
          return z.NEVER;
        }
        if (k.secret.length < 16) {
          ctx.addIssue({ code: 'custom', message: `${name} key "${k.id}" is too short; use at least 16 characters` });
          return z.NEVER;
        }
      }
      return keys;
    });

/**
 * Standard Webhooks' form `whsec_<base64 of the key bytes>`, or a raw secret (16+ characters) whose UTF-8 bytes are
 * the key (a receiver then uses `new Webhook(secret, { format: 'raw' })`, or `whsec_` + base64 of it).
 */
const webhookSecret = z
  .string()
  .min(16, 'must be "whsec_<base64>" (Standard Webhooks) or a secret of at least 16 characters')
  .superRefine((raw, ctx) => {
    if (!raw.startsWith('whsec_')) return;
    const b64 = raw.slice('whsec_'.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || Buffer.from(b64, 'base64').length < 16) {
      ctx.addIssue({
        code: 'custom',
        message:
          'after "whsec_" must come the base64 of at least 16 random bytes, e.g. whsec_$(openssl rand -base64 32)',
      });
    }
  });

/** "true"/"false" only, so a typo is an error rather than silently false. */
const flag = z.enum(['true', 'false'], { message: 'must be "true" or "false"' }).transform((v) => v === 'true');

/** "tok1,tok2": every token listed is accepted, so a new one can be rolled out before the old one is dropped. */
const tokenList = (name: string) =>
  z
    .string()
    .min(1)
    .transform((raw, ctx) => {
      const tokens = raw
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      if (tokens.some((t) => t.length < 16)) {
        ctx.addIssue({ code: 'custom', message: `${name}: each token must be at least 16 characters` });
        return z.NEVER;
      }
      return tokens;
    });

const envSchema = z
  .object({
    CYCLR_API_URL: z.string().url('must be a URL such as https://api.cyclr.com').optional(),
    CYCLR_SERVICE_DOMAIN: z.string().min(1, 'must be your Partner Service Domain, e.g. yourco-h.cyclr.com').optional(),
    CYCLR_CLIENT_ID: z.string().min(1).optional(),
    CYCLR_CLIENT_SECRET: z.string().min(1).optional(),
    CYCLR_ACCESS_TOKEN: z.string().min(1).optional(),
    CYCLR_MAX_CONCURRENT_REQUESTS: z.coerce.number().int().positive().default(200),
    /** Requests per second to Cyclr across every worker together (server-side task-queue rate); unset: no limit. */
    CYCLR_MAX_REQUESTS_PER_SECOND: z.coerce
      .number()
      .positive('must be a positive number of requests per second')
      .optional(),
    /** Where batch files' rows are kept (a shared volume when workers run on several hosts). */
    BATCH_STORE_DIR: z.string().min(1).optional(),
    // --- cluster: Temporal's own connection settings (the names the temporal CLI and @temporalio/envconfig read;
    // a TEMPORAL_CONFIG_FILE profile fills what these leave unset). Resolved by temporalConnection() below.
    TEMPORAL_ADDRESS: z.string().min(1).optional(),
    TEMPORAL_NAMESPACE: z.string().min(1).optional(),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('cyclr-provisioning'),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
    TEMPORAL_TLS: flag.optional(),
    TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    TEMPORAL_PROFILE: z.string().min(1).optional(),
    TEMPORAL_CONFIG_FILE: z.string().min(1).optional(),
    // --- end cluster
    PUBLIC_BASE_URL: z
      .string()
      .url('must be where browsers reach the gateway, e.g. https://provisioning.example.com')
      .default('http://localhost:8080'),
    GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    LINK_SIGNING_KEY: keyList('LINK_SIGNING_KEY').optional(),
    PAYLOAD_ENCRYPTION_KEY: keyList('PAYLOAD_ENCRYPTION_KEY').optional(),
    NOTIFY_SIGNING_SECRET: webhookSecret.optional(),
    /** Hosts events may be POSTed to ("hooks.example.com,*.example.org"); unset: any public host. */
    NOTIFY_URL_ALLOWLIST: z.string().min(1).optional(),
    /** Let notifyUrl reach loopback, private and link-local addresses (default: only outside production). */
    NOTIFY_ALLOW_PRIVATE_ADDRESSES: flag.optional(),
    /** Bearer tokens for the gateway's management API: comma-separated, so tokens rotate by overlap. */
    GATEWAY_API_TOKENS: tokenList('GATEWAY_API_TOKENS').optional(),
    GATEWAY_READ_TOKENS: tokenList('GATEWAY_READ_TOKENS').optional(),
    /** Requests per minute per client address on the public routes (consent links, callback, health). */
    GATEWAY_RATE_LIMIT: z.coerce
      .number()
      .int()
      .positive('must be a positive number of requests per minute')
      .default(300),
    /** Failed token checks per minute per client address; beyond it, the address is refused (429) until the minute ends. */
    GATEWAY_AUTH_FAILURE_LIMIT: z.coerce
      .number()
      .int()
      .positive('must be a positive number of failed checks per minute')
      .default(20),
    /** Behind a proxy: "true", or the proxies' addresses/CIDRs (comma-separated), so limits count real clients. */
    GATEWAY_TRUST_PROXY: z.string().min(1).optional(),
    /** Signs the support console's session cookies; unset: a random key per process (sign-ins end on restart). */
    CONSOLE_SESSION_KEY: z.string().min(32, 'must be at least 32 random characters').optional(),
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    NODE_ENV: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (!env.CYCLR_API_URL) return;
    if (!env.CYCLR_SERVICE_DOMAIN) {
      ctx.addIssue({
        code: 'custom',
        path: ['CYCLR_SERVICE_DOMAIN'],
        message: 'is required: your Partner Service Domain, e.g. yourco-h.cyclr.com',
      });
    }
    const hasClient = env.CYCLR_CLIENT_ID || env.CYCLR_CLIENT_SECRET;
    if (!env.CYCLR_ACCESS_TOKEN && !hasClient) {
      ctx.addIssue({
        code: 'custom',
        path: ['CYCLR_CLIENT_ID'],
        message: 'set CYCLR_CLIENT_ID and CYCLR_CLIENT_SECRET (or CYCLR_ACCESS_TOKEN)',
      });
    } else if (hasClient && !(env.CYCLR_CLIENT_ID && env.CYCLR_CLIENT_SECRET)) {
      const missing = env.CYCLR_CLIENT_ID ? 'CYCLR_CLIENT_SECRET' : 'CYCLR_CLIENT_ID';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: 'is required with the other half of the client credentials',
      });
    }
  });

export interface Key {
  id: string;
  secret: string;
}

export interface GatewayTokens {
  write: readonly string[];
  read: readonly string[];
}

export interface GatewayRateLimits {
  publicPerMinute: number;
  authFailuresPerMinute: number;
}

export interface NotifyUrlPolicy {
  /** Host patterns ("hooks.example.com", "*.example.org"); empty: any host. */
  allowedHosts: readonly string[];
  /** False: refuse hosts that resolve to loopback, private, link-local or other non-public addresses. */
  allowPrivateAddresses: boolean;
}

export interface CyclrConfig {
  apiUrl: string;
  serviceDomain: string;
  credentials: { clientId: string; clientSecret: string } | { accessToken: string };
  maxConcurrentRequests: number;
  maxRequestsPerSecond?: number;
}

export interface Config {
  /** Only the worker talks to Cyclr; the client library, gateway and CLI run without these. */
  cyclr?: CyclrConfig;
  temporal: TemporalConfig;
  publicBaseUrl: string;
  gatewayPort: number;
  /** First key signs; all verify. */
  linkSigningKeys: Key[];
  /** First key encrypts; all decrypt. Empty: payloads are stored in plain text (development only). */
  payloadKeys: Key[];
  /** NOTIFY_SIGNING_SECRET: `whsec_<base64>` or a raw secret (see src/webhooks/signature.ts). Its only use is signing webhooks. */
  notifySigningSecret: string;
  /** Where events may go (NOTIFY_URL_ALLOWLIST, NOTIFY_ALLOW_PRIVATE_ADDRESSES); checked when each is delivered. */
  notifyUrls: NotifyUrlPolicy;
  /** Gateway bearer tokens: `write` (GATEWAY_API_TOKENS) grant everything, `read` (GATEWAY_READ_TOKENS) reads only. */
  gatewayTokens: GatewayTokens;
  gatewayRateLimits: GatewayRateLimits;
  /** fastify's trustProxy (GATEWAY_TRUST_PROXY); unset: the socket's address is the client's. */
  gatewayTrustProxy?: boolean | string;
  /** The support console's own session-signing key (never another secret); unset: random per process. */
  consoleSessionKey?: string;
  metricsPort?: number;
  /** Default: .tmp/batches under the project root (see src/batch/store.ts). */
  batchStoreDir?: string;
}

// --- cluster: Temporal connection settings, resolved the way the temporal CLI and every SDK resolve them.
/** Where and how to reach Temporal: address, namespace, TLS (server CA, server name, client certificate), API key. */
export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  /** Undefined or false: plaintext. True: TLS with the system's roots. Files named by the settings are read at start. */
  tls?: TLSConfig | boolean;
  /** gRPC metadata: TEMPORAL_GRPC_META_* (and the namespace header an API key needs). */
  metadata?: Record<string, string>;
}

/**
 * `@temporalio/envconfig` reads the settings (env over a TEMPORAL_CONFIG_FILE profile) from the environment given,
 * never from another; we add the defaults product.md promises and turn its errors into one line per setting.
 */
function temporalConnection(
  env: Record<string, string>,
  taskQueue: string,
  problems: string[],
): TemporalConfig | undefined {
  for (const [old, now] of [
    ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH'],
    ['TEMPORAL_TLS_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'],
  ]) {
    if (env[old]) problems.push(`${old}: renamed: set ${now} (Temporal's own name)`);
  }
  if (!env.TEMPORAL_TLS_CLIENT_CERT_PATH !== !env.TEMPORAL_TLS_CLIENT_KEY_PATH) {
    const missing = env.TEMPORAL_TLS_CLIENT_CERT_PATH
      ? 'TEMPORAL_TLS_CLIENT_KEY_PATH'
      : 'TEMPORAL_TLS_CLIENT_CERT_PATH';
    problems.push(`${missing}: is required with the other half of the client certificate pair`);
    return undefined;
  }
  for (const name of [
    'TEMPORAL_TLS_CLIENT_CERT_PATH',
    'TEMPORAL_TLS_CLIENT_KEY_PATH',
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    'TEMPORAL_CONFIG_FILE',
  ]) {
    const path = env[name];
    if (path && !existsSync(path)) problems.push(`${name}: no file at ${path}`);
  }
  if (problems.length) return undefined;
  try {
    const { connectionOptions: c, namespace } = loadClientConnectConfig({ overrideEnvVars: env });
    const resolvedNamespace = namespace ?? 'default';
    return {
      address: c.address ?? 'localhost:7233',
      namespace: resolvedNamespace,
      taskQueue,
      apiKey: c.apiKey,
      tls: asBuffers(c.tls),
      metadata:
        c.apiKey || c.metadata
          ? { ...c.metadata, ...(c.apiKey ? { 'temporal-namespace': resolvedNamespace } : {}) }
          : undefined,
    };
  } catch (err) {
    problems.push(`TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE: ${(err as Error).message}`);
    return undefined;
  }
}

/** envconfig reads files into Uint8Arrays; the SDK's TLS options are typed (and documented) as Buffers. */
function asBuffers(tls: TLSConfig | boolean | null | undefined): TLSConfig | boolean | undefined {
  if (typeof tls !== 'object' || tls === null) return tls ?? undefined;
  const buf = (data: Uint8Array | undefined) => (data ? Buffer.from(data) : undefined);
  return {
    ...tls,
    serverRootCACertificate: buf(tls.serverRootCACertificate),
    clientCertPair: tls.clientCertPair && { crt: buf(tls.clientCertPair.crt)!, key: buf(tls.clientCertPair.key)! },
  };
}
// --- end cluster

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

/** Development keys let `npm run stack` work from a fresh clone; production must set its own. */
const DEV_LINK_KEY: Key = { id: 'dev', secret: 'dev-link-signing-key-change-me' };
const DEV_PAYLOAD_KEY: Key = { id: 'dev', secret: 'dev-payload-encryption-key-change-me' };
/** Its own development secret: no secret stands in for another (whoever receives events must not mint links). */
const DEV_NOTIFY_SECRET = `whsec_${Buffer.from('dev-notify-signing-secret-change-me').toString('base64')}`;

export interface LoadOptions {
  /** The worker: needs Cyclr's settings, and in production NOTIFY_SIGNING_SECRET. Other processes do not. */
  cyclr?: boolean;
  /** The gateway: in production it needs GATEWAY_API_TOKENS. */
  gateway?: boolean;
}

function trustProxy(raw: string | undefined): boolean | string | undefined {
  if (raw === undefined) return undefined;
  return raw === 'true' || raw === 'false' ? raw === 'true' : raw;
}

/** The same secret in two roles gives whoever holds one role both powers. */
function reusedSecrets(named: [string, readonly string[]][]): string[] {
  const owner = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, secrets] of named) {
    for (const secret of secrets) {
      const other = owner.get(secret);
      if (other && other !== name) problems.push(`${name}: reuses a secret of ${other}; give each its own`);
      else owner.set(secret, name);
    }
  }
  return problems;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  // `FOO=` (as compose and .env files write an unset optional value) means unset, not an empty string.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const problems: string[] = [];
  if (options.cyclr && !e.CYCLR_API_URL) problems.push('CYCLR_API_URL: is required, e.g. https://api.cyclr.com');
  if (production && !e.LINK_SIGNING_KEY) problems.push('LINK_SIGNING_KEY: is required in production ("keyId:secret")');
  if (production && !e.PAYLOAD_ENCRYPTION_KEY)
    problems.push('PAYLOAD_ENCRYPTION_KEY: is required in production ("keyId:secret")');
  if (production && options.cyclr && !e.NOTIFY_SIGNING_SECRET)
    problems.push('NOTIFY_SIGNING_SECRET: is required in production ("whsec_" + base64 of 32 random bytes)');
  if (production && options.gateway && !e.GATEWAY_API_TOKENS)
    problems.push('GATEWAY_API_TOKENS: is required in production (comma-separated bearer tokens, 16+ characters each)');
  problems.push(
    ...reusedSecrets([
      ['LINK_SIGNING_KEY', (e.LINK_SIGNING_KEY ?? []).map((k) => k.secret)],
      ['PAYLOAD_ENCRYPTION_KEY', (e.PAYLOAD_ENCRYPTION_KEY ?? []).map((k) => k.secret)],
      ['NOTIFY_SIGNING_SECRET', e.NOTIFY_SIGNING_SECRET ? [e.NOTIFY_SIGNING_SECRET] : []],
      ['GATEWAY_API_TOKENS', e.GATEWAY_API_TOKENS ?? []],
      ['GATEWAY_READ_TOKENS', e.GATEWAY_READ_TOKENS ?? []],
    ]),
  );
  const temporal = temporalConnection(present as Record<string, string>, e.TEMPORAL_TASK_QUEUE, problems);
  if (problems.length) throw new ConfigError(problems);
  const linkKeys = e.LINK_SIGNING_KEY ?? [DEV_LINK_KEY];
  return {
    cyclr: e.CYCLR_API_URL
      ? {
          apiUrl: e.CYCLR_API_URL.replace(/\/+$/, ''),
          serviceDomain: e.CYCLR_SERVICE_DOMAIN!,
          credentials: e.CYCLR_ACCESS_TOKEN
            ? { accessToken: e.CYCLR_ACCESS_TOKEN }
            : { clientId: e.CYCLR_CLIENT_ID!, clientSecret: e.CYCLR_CLIENT_SECRET! },
          maxConcurrentRequests: e.CYCLR_MAX_CONCURRENT_REQUESTS,
          maxRequestsPerSecond: e.CYCLR_MAX_REQUESTS_PER_SECOND,
        }
      : undefined,
    temporal: temporal!,
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    gatewayPort: e.GATEWAY_PORT,
    linkSigningKeys: linkKeys,
    payloadKeys: e.PAYLOAD_ENCRYPTION_KEY ?? [DEV_PAYLOAD_KEY],
    notifySigningSecret: e.NOTIFY_SIGNING_SECRET ?? DEV_NOTIFY_SECRET,
    notifyUrls: {
      allowedHosts: (e.NOTIFY_URL_ALLOWLIST ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      allowPrivateAddresses: e.NOTIFY_ALLOW_PRIVATE_ADDRESSES ?? !production,
    },
    gatewayTokens: { write: e.GATEWAY_API_TOKENS ?? [], read: e.GATEWAY_READ_TOKENS ?? [] },
    gatewayRateLimits: {
      publicPerMinute: e.GATEWAY_RATE_LIMIT,
      authFailuresPerMinute: e.GATEWAY_AUTH_FAILURE_LIMIT,
    },
    gatewayTrustProxy: trustProxy(e.GATEWAY_TRUST_PROXY),
    consoleSessionKey: e.CONSOLE_SESSION_KEY,
    metricsPort: e.METRICS_PORT,
    batchStoreDir: e.BATCH_STORE_DIR,
  };
}

/** For processes' entry points: print one line per problem and exit, instead of a stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  try {
    return loadConfig(env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(`config error: ${p}`);
      process.exit(2);
    }
    throw err;
  }
}
