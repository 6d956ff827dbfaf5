/**
 * The provisioning request: one schema, shared by the workflow, the client library, the gateway, the CLI and the
 * batch reader, so every entry point rejects the same inputs with the same words.
 */
import { z } from 'zod';
import { msToNumber } from '@temporalio/common';

/** The timeouts a request leaves out. `checkEveryMax` applies from provisionConnector v3 (versions.ts) on. */
export const DEFAULT_TIMEOUTS = {
  consent: '14d',
  reminderEvery: '2d',
  checkEvery: '10m',
  checkEveryMax: '6h',
} as const;

/** A Temporal duration string in ms, or undefined if it is not one. */
function durationMs(value: string): number | undefined {
  try {
    const ms = msToNumber(value as Parameters<typeof msToNumber>[0]);
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** The longest a consent link may live: a link that never expires could never be taken back. */
export const MAX_CONSENT = '90d';

/** A Temporal duration string such as "14d", "2h", "10m", "30s". */
const duration = (field: string, min: string, max?: string) =>
  z.string().superRefine((value, ctx) => {
    const ms = durationMs(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; write e.g. "14d", "2h", "10m" or "30s"` });
    } else if (ms < msToNumber(min as Parameters<typeof msToNumber>[0])) {
      ctx.addIssue({ code: 'custom', message: `${field} must be at least ${min}` });
    } else if (max && ms > msToNumber(max as Parameters<typeof msToNumber>[0])) {
      ctx.addIssue({ code: 'custom', message: `${field} must be at most ${max}; send a new link later instead` });
    }
  });

const httpUrl = z
  .string()
  .url('must be an absolute URL such as https://app.example.com/done')
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');

/**
 * An origin as browsers compare them for postMessage: scheme, host and port only. Cyclr posts callbackMessage
 * restricted to it, so anything more (a path, a trailing slash, credentials) would only hide a mistake.
 */
const bareOrigin = z.string().refine((value) => {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === value;
  } catch {
    return false;
  }
}, 'must be an origin such as https://app.example.com: scheme, host and optional port, no path, query, fragment or trailing slash');

const connectorRef = z
  .object({
    id: z.number().int('must be a whole number').positive('must be a positive connector id').optional(),
    name: z.string().trim().min(1, 'must not be empty').optional(),
    version: z.string().trim().min(1, 'must not be empty').optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.id !== undefined && c.name !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give the connector by id or by name, not both' });
    } else if (c.id === undefined && c.name === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give the connector as { "id": 123 } or { "name": "Salesforce" }' });
    } else if (c.id !== undefined && c.version !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['version'], message: 'version goes with name; an id names one release' });
    }
  });

function timeouts(consent: z.ZodType<string>) {
  return z
    .object({
      consent: consent.optional().describe(`How long to wait for consent (default 14d, at most ${MAX_CONSENT}).`),
      reminderEvery: duration('reminderEvery', '1s').optional().describe('How often to remind (default 2d).'),
      checkEvery: duration('checkEvery', '1s')
        .optional()
        .describe('The first gap between checks with Cyclr while awaiting consent (default 10m).'),
      checkEveryMax: duration('checkEveryMax', '1s')
        .optional()
        .describe(
          'Idle checks back off, doubling, up to this gap (default 6h, or checkEvery if longer); at least checkEvery.',
        ),
    })
    .strict()
    .superRefine((t, ctx) => {
      if (t.checkEveryMax === undefined) return;
      const every = t.checkEvery ?? DEFAULT_TIMEOUTS.checkEvery;
      const max = durationMs(t.checkEveryMax);
      if (max !== undefined && max < (durationMs(every) ?? 0)) {
        ctx.addIssue({
          code: 'custom',
          path: ['checkEveryMax'],
          message: `must be at least checkEvery (${every}); raise checkEveryMax or lower checkEvery`,
        });
      }
    })
    .optional()
    .describe(
      `Temporal duration strings such as "14d", "2h", "10m", "30s" (each at least 1s; consent at most ${MAX_CONSENT}). ` +
        'Checks with Cyclr start checkEvery apart and back off, doubling, to checkEveryMax while nobody acts; a ' +
        'reminder sent resets the gap to checkEvery; a click on the consent link or a consentCompleted signal makes ' +
        'checks brisk.',
    );
}

/** What every entry point accepts (gateway, client library, CLI, batch files, and workflows begun since v3). */
export const provisioningRequestSchema = z
  .object({
    accountId: z
      .string({ required_error: 'is required: the Cyclr account API ID' })
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .regex(/^[^\s:/?#]+$/, 'must not contain spaces, ":", "/", "?" or "#"')
      .describe('The Cyclr account API ID, sent as X-Cyclr-Account.'),
    connector: connectorRef.describe(
      'Either { "id": 123 } or { "name": "Salesforce", "version": "v3" } (version optional); not both id and name.',
    ),
    installName: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(200)
      .optional()
      .describe(
        "The account connector Name (default: the connector's Name); makes the install idempotent within the account.",
      ),
    description: z.string().max(2000).optional(),
    authenticationId: z.string().trim().min(1, 'must not be empty').optional(),
    properties: z
      .array(z.object({ name: z.string().min(1, 'must not be empty'), value: z.string() }).strict())
      .optional(),
    authValue: z
      .string()
      .min(1, 'must not be empty')
      .optional()
      .describe('A secret (API key, or base64 user:pass); never shown back.'),
    account: z
      .object({
        create: z.boolean(),
        name: z.string().trim().min(1, 'must not be empty').optional(),
        timezone: z.string().trim().min(1).optional(),
      })
      .strict()
      .optional(),
    oauth: z
      .object({
        username: z.string().trim().min(1, 'must not be empty'),
        returnUrl: httpUrl,
        callbackMessage: z.string().min(1, 'must not be empty').optional(),
        /** The embedding app's origin that Cyclr posts callbackMessage to (default: the origin of returnUrl). */
        targetOrigin: bareOrigin.optional(),
      })
      .strict()
      .superRefine((o, ctx) => {
        // Without callbackMessage Cyclr redirects and posts nothing: a targetOrigin there would be silently unused.
        if (o.targetOrigin !== undefined && o.callbackMessage === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['targetOrigin'],
            message:
              'is used only with oauth.callbackMessage (the popup flow); add callbackMessage, or remove targetOrigin',
          });
        }
      })
      .optional()
      .describe("Required when the connector needs a user's consent. returnUrl is where the browser lands when done."),
    notifyUrl: httpUrl.optional().describe('Where lifecycle events are POSTed, signed like Standard Webhooks.'),
    timeouts: timeouts(duration('consent', '1s', MAX_CONSENT)),
    /** Leave the account connector in place when the provisioning is cancelled or expires. */
    keepOnCancel: z.boolean().optional(),
    /** Set by provisionBatch so staff can list a batch's children. */
    batchId: z.string().optional(),
  })
  .strict();

/** Runs begun before the consent cap (a running provisioning keeps the request it was started with). */
const uncappedRequestSchema = provisioningRequestSchema.extend({ timeouts: timeouts(duration('consent', '1s')) });

export type ProvisioningRequest = z.infer<typeof provisioningRequestSchema>;
export type ConnectorRef = z.infer<typeof connectorRef>;

export interface InvalidField {
  path: string;
  message: string;
}

export type ParseResult = { ok: true; request: ProvisioningRequest } | { ok: false; errors: InvalidField[] };

/** Validates without throwing; `errors` name each bad field by its JSON path. */
export function parseProvisioningRequest(input: unknown, { consentCap = true } = {}): ParseResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, errors: [{ path: '(request)', message: 'must be a JSON object' }] };
  }
  const parsed = (consentCap ? provisioningRequestSchema : uncappedRequestSchema).safeParse(input);
  if (parsed.success) return { ok: true, request: parsed.data };
  return { ok: false, errors: describeIssues(parsed.error.issues) };
}

/** Zod's own words start so; anything else is a message the schema chose (required_error, strict(...)). */
const ZOD_DEFAULT = /^(Required$|Expected |Unrecognized key)/;

/** Each issue as the field it names and what to do about it, in the words every entry point answers with. */
export function describeIssues(issues: readonly z.ZodIssue[]): InvalidField[] {
  return issues.map(describeIssue);
}

function describeIssue(issue: z.ZodIssue): InvalidField {
  const path = issue.path.length ? issue.path.join('.') : '(request)';
  const own = !ZOD_DEFAULT.test(issue.message);
  if (issue.code === 'unrecognized_keys') {
    return {
      path: issue.path.length ? path : issue.keys.join(', '),
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; ${own ? issue.message : 'check the spelling (fields are camelCase)'}`,
    };
  }
  if (issue.code === 'invalid_type') {
    if (own) return { path, message: issue.message };
    if (!issue.path.length && issue.expected === 'object') return { path, message: 'must be a JSON object' };
    if (issue.received === 'undefined') return { path, message: 'is required' };
    return { path, message: `must be ${issue.expected}, not ${issue.received}` };
  }
  return { path, message: issue.message };
}

/** One line a person can act on: `connector.id: must be a whole number; oauth: is required`. */
export function formatInvalidFields(errors: InvalidField[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}
