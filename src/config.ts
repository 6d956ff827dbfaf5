/**
 * Configuration from the environment, validated once at start: one schema per process kind (worker, gateway, codec
 * server, client: the CLI and the library), each built from the variable groups below, its type inferred from it.
 * Every environment variable any process reads is named here and nowhere else; the rules that tie variables
 * together are in `rules`. A bad or missing value is one clear line that names the variable and what to do.
 *
 * Adding a variable: put it in the group it belongs to (or a new group used by the kinds that read it), map it in
 * that group's `to...` function (or the kind's transform), and list it in docs/operations.md (a test checks the list).
 */
import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { z } from 'zod';
import { READ_ELSEWHERE, unknownVariableWarnings } from './config/unknown-variables.js';
import {
  commaList,
  DEFAULT_KEY_ID,
  flag,
  keyList,
  logFormat,
  logLevel,
  port,
  renamed,
  tokenList,
  trustedProxyList,
  clickLimit,
  duration,
  webhookSecret,
  type Key,
} from './config/values.js';

export { DEFAULT_KEY_ID, type Key };

// --- The variables, by what they configure ---

/** BATCH_STORE_URL: s3://bucket/prefix or file:///absolute/path. */
const batchStoreUrl = z
  .string()
  .min(1)
  .transform((raw, ctx) => {
    const hint = 'must be s3://bucket/prefix (S3 or an S3-compatible server) or file:///absolute/path';
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: hint });
      return z.NEVER;
    }
    if (url.protocol === 'file:') return { kind: 'file' as const, dir: decodeURIComponent(url.pathname) };
    if (url.protocol !== 's3:' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(url.hostname) || url.search) {
      ctx.addIssue({
        code: 'custom',
        message: `${hint}; a bucket name is 3-63 lower-case letters, digits, "." or "-"`,
      });
      return z.NEVER;
    }
    return {
      kind: 's3' as const,
      bucket: url.hostname,
      prefix: decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, ''),
    };
  });

/** Every process. NODE_ENV=development (and only that) lets the development keys below stand in for missing ones. */
const common = {
  NODE_ENV: z.string().optional(),
  /** TRACE, DEBUG, INFO, WARN, ERROR. */
  LOG_LEVEL: logLevel.default('INFO'),
  /** json or pretty; unset: pretty on a terminal. */
  LOG_FORMAT: logFormat.optional(),
};

/** Where Temporal is and how to reach it (the names are the `cluster` branch's to change). */
const temporal = {
  // Temporal's own names (the temporal CLI and @temporalio/envconfig read them; a TEMPORAL_CONFIG_FILE profile fills
  // what these leave unset); resolved by toTemporal().
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
  /** Earlier names, refused with the new one (a silent fallback would connect without the certificate). */
  TEMPORAL_TLS_CERT_PATH: renamed('TEMPORAL_TLS_CLIENT_CERT_PATH'),
  TEMPORAL_TLS_KEY_PATH: renamed('TEMPORAL_TLS_CLIENT_KEY_PATH'),
};

/** Every process that reads or writes workflow payloads or batch files. */
const payloads = {
  PAYLOAD_ENCRYPTION_KEY: keyList('PAYLOAD_ENCRYPTION_KEY').optional(),
  /** Where batch files' rows are kept, as a directory (the local stack's default). */
  BATCH_STORE_DIR: z.string().min(1).optional(),
  /**
   * `s3://bucket/prefix` keeps batch pages, failures and row records in S3 or an S3-compatible server (every host
   * shares it); `file:///path` is a directory. The AWS settings are the standard ones: AWS_ENDPOINT_URL_S3 (else
   * AWS_ENDPOINT_URL) for an S3-compatible server, AWS_REGION, credentials from the keys below or the SDK's own
   * chain. Path-style addressing whenever an endpoint is set (AWS_S3_FORCE_PATH_STYLE overrides it).
   */
  BATCH_STORE_URL: batchStoreUrl.optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_ENDPOINT_URL: z.string().url("must be the S3-compatible server's URL, e.g. http://minio:9000").optional(),
  AWS_ENDPOINT_URL_S3: z.string().url("must be the S3-compatible server's URL, e.g. http://minio:9000").optional(),
  AWS_S3_FORCE_PATH_STYLE: flag.optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
};

/** The worker signs consent links; the gateway verifies them and serves them at PUBLIC_BASE_URL. */
const links = {
  LINK_SIGNING_KEY: keyList('LINK_SIGNING_KEY').optional(),
  PUBLIC_BASE_URL: z
    .string()
    .url('must be where browsers reach the gateway, e.g. https://provisioning.example.com')
    .default('http://localhost:8080'),
};

/** The worker's Cyclr client. */
const cyclr = {
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
};

/**
 * The worker's workflow cache (WORKER_MAX_CACHED_WORKFLOWS). A cached workflow costs the worker about 0.7 MB (each
 * runs the workflow bundle's modules afresh), and the SDK's default sizes the cache from the heap limit, so a wave of
 * waiting provisionings grew a worker to gigabytes. One that is not cached replays its history when it wakes.
 */
const MAX_CACHED_WORKFLOWS = 100;

/** The worker's own: events, metrics, tracing, the prebundled workflows, the workflow cache. */
const worker = {
  NOTIFY_SIGNING_SECRET: webhookSecret.optional(),
  /** Hosts events may be POSTed to ("hooks.example.com,*.example.org"); unset: any public host. */
  NOTIFY_URL_ALLOWLIST: z.string().min(1).optional(),
  /** Let notifyUrl reach loopback, private and link-local addresses (default: only outside production). */
  NOTIFY_ALLOW_PRIVATE_ADDRESSES: flag.optional(),
  METRICS_PORT: port.optional(),
  /** The metrics endpoint's bind address: all interfaces in a container, loopback when it says so. */
  METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  /** A prebundled workflow file (the image sets it); unset: bundle from source at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /** An OTLP/HTTP collector's base URL (/v1/traces is appended); unset: no tracing. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      if (!/^https?:\/\/[^/]/.test(v) || !URL.canParse(v))
        ctx.addIssue({
          code: 'custom',
          message: `"${v}" is not a URL; use the collector's OTLP/HTTP base, e.g. http://otel-collector:4318`,
        });
    })
    .optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).optional(),
  /** How often the connection check asks Cyclr about every completed provisioning (a Temporal Schedule). */
  CONNECTION_CHECK_EVERY: duration('1d').default('1d'),
  /** "true": a lapse the check finds starts a reconnect (a new consent link to the customer). */
  CONNECTION_AUTO_RECONNECT: flag.default('false'),
  /** Workflows a worker keeps in memory between their tasks; the rest replay from history when they wake. */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce
    .number({ invalid_type_error: 'must be a whole number of workflows, at least 10' })
    .int('must be a whole number of workflows, at least 10')
    .min(10, 'must be a whole number of workflows, at least 10')
    .default(MAX_CACHED_WORKFLOWS),
};

/** The gateway's own. */
const gateway = {
  GATEWAY_PORT: port.default(8080),
  /** All interfaces (in a container it is reached from outside); a host name or address narrows it. */
  GATEWAY_HOST: z.string().min(1).default('0.0.0.0'),
  /** "off" silences request logs. */
  GATEWAY_LOG: z.enum(['on', 'off'], { message: 'must be "on" or "off"' }).default('on'),
  /** Bearer tokens for the gateway's management API: comma-separated, so tokens rotate by overlap. */
  GATEWAY_API_TOKENS: tokenList().optional(),
  GATEWAY_READ_TOKENS: tokenList().optional(),
  /** Requests per minute per client address on the public routes (consent links, callback, health). */
  GATEWAY_RATE_LIMIT: z.coerce.number().int().positive('must be a positive number of requests per minute').default(300),
  /** Failed token checks per minute per client address; beyond it, the address is refused (429) until the minute ends. */
  GATEWAY_AUTH_FAILURE_LIMIT: z.coerce
    .number()
    .int()
    .positive('must be a positive number of failed checks per minute')
    .default(20),
  /** Behind a proxy: the proxies' addresses/CIDRs (comma-separated; never "true"), so limits count real clients. */
  GATEWAY_TRUST_PROXY: trustedProxyList.optional(),
  /** Consent-link clicks that mint a Cyclr sign-in token, per link: "<clicks>/<duration>". */
  GATEWAY_CONSENT_CLICK_LIMIT: clickLimit.default('10/10m'),
  /** Signs the support console's session cookies; unset: a random key per process (sign-ins end on restart). */
  CONSOLE_SESSION_KEY: z.string().min(32, 'must be at least 32 random characters').optional(),
};

/** The codec endpoint as browsers call it (the gateway's /codec and the standalone server). */
const codecForBrowsers = {
  /** The Temporal UI's origins (default the dev server's UI). `*` allows any, without credentials; not in production. */
  CODEC_CORS_ORIGINS: commaList.default('http://localhost:8233'),
  /** "true": no token on the codec (the standalone server: a proxy in front authenticates; the gateway: development). */
  CODEC_ALLOW_UNAUTHENTICATED: flag.default('false'),
};

/** The standalone codec server's own. */
const codecServer = {
  /** Accepted bearer tokens, comma-separated for rotation. */
  CODEC_AUTH_TOKEN: tokenList().optional(),
  CODEC_HOST: z.string().min(1).default('0.0.0.0'),
  CODEC_PORT: port.default(8888),
};

const SHAPES = {
  worker: { ...common, ...temporal, ...payloads, ...links, ...cyclr, ...worker },
  gateway: { ...common, ...temporal, ...payloads, ...links, ...gateway, ...codecForBrowsers },
  codec: { ...common, PAYLOAD_ENCRYPTION_KEY: payloads.PAYLOAD_ENCRYPTION_KEY, ...codecForBrowsers, ...codecServer },
  client: { ...common, ...temporal, ...payloads },
};

export type ProcessKind = keyof typeof SHAPES;
type Vars<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;
/** Any kind's variables, as the rules see them. */
type AnyVars = Partial<Vars<(typeof SHAPES)[ProcessKind]> & Vars<typeof SHAPES.worker & typeof SHAPES.gateway>> &
  Partial<Vars<typeof codecServer>>;

// --- Development keys ---

/** They let `npm run stack` work from a fresh clone. Public: only NODE_ENV=development may use them. */
const DEV_LINK_KEY: Key = { id: 'dev', secret: 'dev-link-signing-key-change-me' };
const DEV_PAYLOAD_KEY: Key = { id: 'dev', secret: 'dev-payload-encryption-key-change-me' };
/** Its own development secret: no secret stands in for another (whoever receives events must not mint links). */
const DEV_NOTIFY_SECRET = `whsec_${Buffer.from('dev-notify-signing-secret-change-me').toString('base64')}`;

/** The keys each kind needs, and what to set. */
const NEEDED_KEYS: Record<ProcessKind, [keyof AnyVars, string][]> = {
  worker: [
    ['LINK_SIGNING_KEY', '"keyId:secret", 32+ random characters'],
    ['PAYLOAD_ENCRYPTION_KEY', '"keyId:secret", 32+ random characters'],
    ['NOTIFY_SIGNING_SECRET', '"whsec_" + base64 of 32 random bytes'],
  ],
  gateway: [
    ['LINK_SIGNING_KEY', '"keyId:secret", 32+ random characters'],
    ['PAYLOAD_ENCRYPTION_KEY', '"keyId:secret", 32+ random characters'],
  ],
  codec: [['PAYLOAD_ENCRYPTION_KEY', '"keyId:secret", 32+ random characters']],
  client: [['PAYLOAD_ENCRYPTION_KEY', '"keyId:secret", 32+ random characters']],
};

// --- The rules between variables, in one place ---

function rules(kind: ProcessKind) {
  return (e: AnyVars, ctx: z.RefinementCtx) => {
    const problem = (name: keyof AnyVars, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
    const production = e.NODE_ENV === 'production';
    if (e.NODE_ENV !== 'development') {
      for (const [name, what] of NEEDED_KEYS[kind]) {
        if (e[name] === undefined)
          problem(name, `is required (${what}); only NODE_ENV=development uses the development key in the source`);
      }
    }
    if (kind === 'worker') cyclrRules(e, problem);
    if (kind !== 'codec') batchStoreRules(e, problem);
    if (kind !== 'codec') temporalRules(e, problem);
    if ((kind === 'worker' || kind === 'gateway') && production && !e.PUBLIC_BASE_URL?.startsWith('https:')) {
      problem('PUBLIC_BASE_URL', 'must be an https:// URL in production (consent links carry bearer tokens)');
    }
    if (kind === 'gateway' && production && !e.GATEWAY_API_TOKENS) {
      problem('GATEWAY_API_TOKENS', 'is required in production (comma-separated bearer tokens, 16+ characters each)');
    }
    if (kind === 'codec' && production && !e.CODEC_AUTH_TOKEN && !e.CODEC_ALLOW_UNAUTHENTICATED) {
      problem(
        'CODEC_AUTH_TOKEN',
        'is required in production (anyone who reaches the endpoint can decrypt payloads); ' +
          'set CODEC_ALLOW_UNAUTHENTICATED=true only if a proxy in front authenticates every request',
      );
    }
    // Any page a signed-in user opens could call the codec from their browser (through a proxy's session too).
    if ((kind === 'codec' || kind === 'gateway') && production && e.CODEC_CORS_ORIGINS?.includes('*')) {
      problem(
        'CODEC_CORS_ORIGINS',
        '"*" is refused in production (any web page could use it); list the Temporal UI\'s origin(s), e.g. https://temporal.example.com',
      );
    }
  };
}

function temporalRules(e: AnyVars, problem: (name: keyof AnyVars, message: string) => void): void {
  if (!e.TEMPORAL_TLS_CLIENT_CERT_PATH !== !e.TEMPORAL_TLS_CLIENT_KEY_PATH) {
    problem(
      e.TEMPORAL_TLS_CLIENT_CERT_PATH ? 'TEMPORAL_TLS_CLIENT_KEY_PATH' : 'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'is required with the other half of the client certificate pair',
    );
  }
  for (const name of [
    'TEMPORAL_TLS_CLIENT_CERT_PATH',
    'TEMPORAL_TLS_CLIENT_KEY_PATH',
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    'TEMPORAL_CONFIG_FILE',
  ] as const) {
    const path = e[name];
    if (path && !existsSync(path)) problem(name, `no file at ${path}`);
  }
}

function batchStoreRules(e: AnyVars, problem: (name: keyof AnyVars, message: string) => void): void {
  if (e.BATCH_STORE_URL && e.BATCH_STORE_DIR) {
    problem('BATCH_STORE_URL', 'BATCH_STORE_DIR names another store; set one of them');
  }
  if (e.BATCH_STORE_URL?.kind === 's3' && !e.AWS_ACCESS_KEY_ID !== !e.AWS_SECRET_ACCESS_KEY) {
    problem(
      e.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID',
      'is required with the other half of the S3 credentials',
    );
  }
}

function cyclrRules(e: AnyVars, problem: (name: keyof AnyVars, message: string) => void): void {
  if (!e.CYCLR_API_URL) return problem('CYCLR_API_URL', 'is required, e.g. https://api.cyclr.com');
  if (!e.CYCLR_SERVICE_DOMAIN)
    problem('CYCLR_SERVICE_DOMAIN', 'is required: your Partner Service Domain, e.g. yourco-h.cyclr.com');
  const hasClient = e.CYCLR_CLIENT_ID || e.CYCLR_CLIENT_SECRET;
  if (!e.CYCLR_ACCESS_TOKEN && !hasClient) {
    problem('CYCLR_CLIENT_ID', 'set CYCLR_CLIENT_ID and CYCLR_CLIENT_SECRET (or CYCLR_ACCESS_TOKEN)');
  } else if (hasClient && !(e.CYCLR_CLIENT_ID && e.CYCLR_CLIENT_SECRET)) {
    problem(
      e.CYCLR_CLIENT_ID ? 'CYCLR_CLIENT_SECRET' : 'CYCLR_CLIENT_ID',
      'is required with the other half of the client credentials',
    );
  }
}

/**
 * Every secret any process reads, and how to split it into the values it holds. The same value in two roles gives
 * whoever holds one role both powers (a session key equal to a read token forges write sessions), so it is refused
 * wherever the two meet in one environment, whichever process reads them.
 */
const SECRETS: Record<string, z.ZodType<string | string[] | Key[]>> = {
  LINK_SIGNING_KEY: links.LINK_SIGNING_KEY,
  PAYLOAD_ENCRYPTION_KEY: payloads.PAYLOAD_ENCRYPTION_KEY,
  NOTIFY_SIGNING_SECRET: worker.NOTIFY_SIGNING_SECRET,
  GATEWAY_API_TOKENS: gateway.GATEWAY_API_TOKENS,
  GATEWAY_READ_TOKENS: gateway.GATEWAY_READ_TOKENS,
  CONSOLE_SESSION_KEY: gateway.CONSOLE_SESSION_KEY,
  CODEC_AUTH_TOKEN: codecServer.CODEC_AUTH_TOKEN,
  TEMPORAL_API_KEY: temporal.TEMPORAL_API_KEY,
  CYCLR_CLIENT_SECRET: cyclr.CYCLR_CLIENT_SECRET,
  CYCLR_ACCESS_TOKEN: cyclr.CYCLR_ACCESS_TOKEN,
  AWS_SECRET_ACCESS_KEY: payloads.AWS_SECRET_ACCESS_KEY,
} as Record<string, z.ZodType<string | string[] | Key[]>>;

function reusedSecrets(env: Record<string, string>): string[] {
  const owner = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(SECRETS)) {
    if (env[name] === undefined) continue;
    // A malformed one is its own process's error; it cannot be compared here.
    const parsed = schema.safeParse(env[name]);
    if (!parsed.success) continue;
    const values = typeof parsed.data === 'string' ? [parsed.data] : parsed.data;
    for (const value of values) {
      const secret = typeof value === 'string' ? value : value.secret;
      const other = owner.get(secret);
      if (other && other !== name) problems.push(`${name}: reuses a secret of ${other}; give each its own`);
      else owner.set(secret, name);
    }
  }
  return problems;
}

// --- From variables to each kind's configuration ---

function toCommon(e: Vars<typeof common>) {
  return {
    production: e.NODE_ENV === 'production',
    development: e.NODE_ENV === 'development',
    /** For createLogger: `pretty` unset lets it decide (a terminal). */
    log: { level: e.LOG_LEVEL, pretty: e.LOG_FORMAT },
  };
}

/**
 * `@temporalio/envconfig` resolves the settings the way the temporal CLI and every SDK do (env over a
 * TEMPORAL_CONFIG_FILE profile), from these values only; we add the defaults product.md promises.
 */
function toTemporal(e: Vars<typeof temporal>) {
  const env: Record<string, string> = {};
  for (const name of Object.keys(temporal) as (keyof typeof temporal)[]) {
    if (e[name] !== undefined) env[name] = String(e[name]);
  }
  let resolved: ReturnType<typeof loadClientConnectConfig>;
  try {
    resolved = loadClientConnectConfig({ overrideEnvVars: env });
  } catch (err) {
    throw new ConfigError([`TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE: ${(err as Error).message}`]);
  }
  const { connectionOptions: c, namespace = 'default' } = resolved;
  return {
    temporal: {
      address: c.address ?? 'localhost:7233',
      namespace,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: c.apiKey,
      /** Undefined or false: plaintext. True: TLS with the system's roots. */
      tls: asBuffers(c.tls),
      /** gRPC metadata: TEMPORAL_GRPC_META_* (and the namespace header an API key needs). */
      metadata:
        c.apiKey || c.metadata
          ? { ...c.metadata, ...(c.apiKey ? { 'temporal-namespace': namespace } : {}) }
          : undefined,
    },
  };
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

/** The rules have made sure a key is set unless NODE_ENV=development. */
function toPayloads(e: Vars<typeof payloads>) {
  return {
    /** First key encrypts; all decrypt. */
    payloadKeys: e.PAYLOAD_ENCRYPTION_KEY ?? [DEV_PAYLOAD_KEY],
    ...toBatchStore(e),
  };
}

/** The directory or the bucket BATCH_STORE_URL or BATCH_STORE_DIR names (the rules allow one of them). */
function toBatchStore(e: Vars<typeof payloads>): { batchStoreDir?: string; batchStoreS3?: BatchStoreS3Config } {
  const url = e.BATCH_STORE_URL;
  /** Default: .tmp/batches under the project root (see src/batch/store.ts). */
  if (!url) return { batchStoreDir: e.BATCH_STORE_DIR };
  if (url.kind === 'file') return { batchStoreDir: url.dir };
  const endpoint = e.AWS_ENDPOINT_URL_S3 ?? e.AWS_ENDPOINT_URL;
  return {
    batchStoreS3: {
      bucket: url.bucket,
      prefix: url.prefix,
      // An S3-compatible server answers to any region; AWS's own needs the bucket's (or the SDK's chain finds it).
      region: e.AWS_REGION ?? (endpoint ? 'us-east-1' : undefined),
      endpoint,
      forcePathStyle: e.AWS_S3_FORCE_PATH_STYLE ?? !!endpoint,
      ...(e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
        ? {
            credentials: {
              accessKeyId: e.AWS_ACCESS_KEY_ID,
              secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
              ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}),
            },
          }
        : {}),
    },
  };
}

export interface BatchStoreS3Config {
  bucket: string;
  /** No leading or trailing "/"; empty: the bucket's root. */
  prefix: string;
  region?: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); unset: the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

function toLinks(e: Vars<typeof links>) {
  return {
    /** First key signs; all verify. */
    linkSigningKeys: e.LINK_SIGNING_KEY ?? [DEV_LINK_KEY],
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/+$/, ''),
  };
}

function toCyclr(e: Vars<typeof cyclr>) {
  // The rules have made sure of the URL, the domain and one form of credentials.
  const credentials: { clientId: string; clientSecret: string } | { accessToken: string } = e.CYCLR_ACCESS_TOKEN
    ? { accessToken: e.CYCLR_ACCESS_TOKEN }
    : { clientId: e.CYCLR_CLIENT_ID!, clientSecret: e.CYCLR_CLIENT_SECRET! };
  return {
    apiUrl: e.CYCLR_API_URL!.replace(/\/+$/, ''),
    serviceDomain: e.CYCLR_SERVICE_DOMAIN!,
    credentials,
    maxConcurrentRequests: e.CYCLR_MAX_CONCURRENT_REQUESTS,
    maxRequestsPerSecond: e.CYCLR_MAX_REQUESTS_PER_SECOND,
  };
}

const workerSchema = z
  .object(SHAPES.worker)
  .superRefine(rules('worker'))
  .transform((e) => ({
    ...toCommon(e),
    ...toTemporal(e),
    ...toPayloads(e),
    ...toLinks(e),
    cyclr: toCyclr(e),
    /** `whsec_<base64>` or a raw secret (src/webhooks/signature.ts); its only use is signing webhooks. */
    notifySigningSecret: e.NOTIFY_SIGNING_SECRET ?? DEV_NOTIFY_SECRET,
    /** Where events may go; checked when each is delivered. */
    notifyUrls: {
      /** Host patterns ("hooks.example.com", "*.example.org"); empty: any host. */
      allowedHosts: (e.NOTIFY_URL_ALLOWLIST ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean) as readonly string[],
      /** False: refuse hosts that resolve to loopback, private, link-local or other non-public addresses. */
      allowPrivateAddresses: e.NOTIFY_ALLOW_PRIVATE_ADDRESSES ?? e.NODE_ENV !== 'production',
    },
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    tracing: e.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME }
      : undefined,
    connectionCheck: { everyMs: e.CONNECTION_CHECK_EVERY, autoReconnect: e.CONNECTION_AUTO_RECONNECT },
    maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
  }));

const gatewaySchema = z
  .object(SHAPES.gateway)
  .superRefine(rules('gateway'))
  .transform((e) => ({
    ...toCommon(e),
    ...toTemporal(e),
    ...toPayloads(e),
    ...toLinks(e),
    gatewayPort: e.GATEWAY_PORT,
    gatewayHost: e.GATEWAY_HOST,
    gatewayLog: e.GATEWAY_LOG === 'on',
    /** `write` (GATEWAY_API_TOKENS) grant everything, `read` (GATEWAY_READ_TOKENS) reads only. */
    gatewayTokens: {
      write: (e.GATEWAY_API_TOKENS ?? []) as readonly string[],
      read: (e.GATEWAY_READ_TOKENS ?? []) as readonly string[],
    },
    gatewayRateLimits: { publicPerMinute: e.GATEWAY_RATE_LIMIT, authFailuresPerMinute: e.GATEWAY_AUTH_FAILURE_LIMIT },
    /** fastify's trustProxy: the proxies named; unset or empty: the socket's address is the client's. */
    gatewayTrustProxy: e.GATEWAY_TRUST_PROXY,
    /** Sign-in tokens minted per consent link per window. */
    consentClickLimit: e.GATEWAY_CONSENT_CLICK_LIMIT,
    /** The support console's own session-signing key (never another secret); unset: random per process. */
    consoleSessionKey: e.CONSOLE_SESSION_KEY,
    /** The gateway's /codec: the gateway's tokens, these origins; without a token in development only. */
    codec: {
      corsOrigins: e.CODEC_CORS_ORIGINS.map((o) => o.replace(/\/+$/, '')),
      allowUnauthenticated: e.CODEC_ALLOW_UNAUTHENTICATED,
    },
  }));

const codecSchema = z
  .object(SHAPES.codec)
  .superRefine(rules('codec'))
  .transform((e) => ({
    ...toCommon(e),
    payloadKeys: e.PAYLOAD_ENCRYPTION_KEY ?? [DEV_PAYLOAD_KEY],
    codec: {
      authTokens: (e.CODEC_AUTH_TOKEN ?? []) as readonly string[],
      corsOrigins: e.CODEC_CORS_ORIGINS.map((o) => o.replace(/\/+$/, '')),
      allowUnauthenticated: e.CODEC_ALLOW_UNAUTHENTICATED,
      host: e.CODEC_HOST,
      port: e.CODEC_PORT,
    },
  }));

const clientSchema = z
  .object(SHAPES.client)
  .superRefine(rules('client'))
  .transform((e) => ({ ...toCommon(e), ...toTemporal(e), ...toPayloads(e) }));

const SCHEMAS = { worker: workerSchema, gateway: gatewaySchema, codec: codecSchema, client: clientSchema };

export type WorkerConfig = z.output<typeof workerSchema>;
export type GatewayConfig = z.output<typeof gatewaySchema>;
export type CodecConfig = z.output<typeof codecSchema>;
/** The CLI and the client library. */
export type ClientConfig = z.output<typeof clientSchema>;
export type ConfigOf<K extends ProcessKind> = z.output<(typeof SCHEMAS)[K]>;
/** Every field of every kind: for `Pick<Config, ...>` in code several processes share. */
export type Config = WorkerConfig & GatewayConfig & CodecConfig & ClientConfig;
export type CyclrConfig = WorkerConfig['cyclr'];
export type NotifyUrlPolicy = WorkerConfig['notifyUrls'];
export type GatewayTokens = GatewayConfig['gatewayTokens'];
export type GatewayRateLimits = GatewayConfig['gatewayRateLimits'];

// --- Loading ---

/** Each variable and the kinds of process that read it (docs/operations.md lists the same). */
export const CONFIG_VARIABLES: ReadonlyMap<string, readonly ProcessKind[]> = (() => {
  const readers = new Map<string, ProcessKind[]>();
  for (const [kind, shape] of Object.entries(SHAPES) as [ProcessKind, z.ZodRawShape][]) {
    for (const name of Object.keys(shape)) readers.set(name, [...(readers.get(name) ?? []), kind]);
  }
  return readers;
})();

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

/** `FOO=` (as compose and .env files write an unset optional value) means unset, not an empty string. */
function presentValues(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
}

/** The configuration of one kind of process; a ConfigError lists every problem, one line each. */
export function loadConfig<K extends ProcessKind>(kind: K, env: NodeJS.ProcessEnv = process.env): ConfigOf<K> {
  const present = presentValues(env);
  const parsed = SCHEMAS[kind].safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
  problems.push(...reusedSecrets(present));
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return parsed.data as ConfigOf<K>;
}

/** Variables with our prefixes that no process reads, each with the nearest one it does ("did you mean"). */
export function configWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  return unknownVariableWarnings(presentValues(env), new Set([...CONFIG_VARIABLES.keys()]));
}

export { READ_ELSEWHERE };

/** For processes' entry points: a warning line per unknown variable; a line per problem and exit, not a stack trace. */
export function loadConfigOrExit<K extends ProcessKind>(kind: K, env: NodeJS.ProcessEnv = process.env): ConfigOf<K> {
  for (const w of configWarnings(env)) console.error(`config warning: ${w}`);
  try {
    return loadConfig(kind, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(`config error: ${p}`);
      process.exit(2);
    }
    throw err;
  }
}

export type ConsentClickLimit = GatewayConfig['consentClickLimit'];
