/**
 * How each kind of value in the environment is read: key lists, tokens, webhook secrets, flags, ports, URLs. Each
 * bad value is an issue naming what to write instead; the variable's name is added by the loader.
 */
import { msToNumber } from '@temporalio/common';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/** A key list entry without a key id (a bare secret) gets this id; a later "newId:secret,default:..." rotates it. */
export const DEFAULT_KEY_ID = 'default';

export interface Key {
  id: string;
  secret: string;
}

/** "kid1:secret1,kid2:secret2": the first key signs or encrypts; every key verifies or decrypts (rotation). */
export const keyList = (name: string) =>
  z
    .string()
    .min(1)
    .transform((raw, ctx): Key[] => {
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
export const webhookSecret = z
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
export const flag = z.enum(['true', 'false'], { message: 'must be "true" or "false"' }).transform((v) => v === 'true');

/** "tok1,tok2": every token listed is accepted, so a new one can be rolled out before the old one is dropped. */
export const tokenList = () =>
  z
    .string()
    .min(1)
    .transform((raw, ctx) => {
      const tokens = raw
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      if (tokens.some((t) => t.length < 16)) {
        ctx.addIssue({ code: 'custom', message: 'each token must be at least 16 characters' });
        return z.NEVER;
      }
      return tokens;
    });

/** "a,b,c" as a list, blanks dropped. */
export const commaList = z.string().transform((raw) =>
  raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean),
);

export const port = z.coerce
  .number({ message: 'must be a port number (0-65535)' })
  .int('must be a port number (0-65535)')
  .min(0, 'must be a port number (0-65535)')
  .max(65535, 'must be a port number (0-65535)');

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

export const logLevel = z.string().transform((raw, ctx) => {
  const level = raw.toUpperCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as (typeof LOG_LEVELS)[number];
  ctx.addIssue({ code: 'custom', message: `"${raw}" is not a level; use one of ${LOG_LEVELS.join(', ')}` });
  return z.NEVER;
});

/** LOG_FORMAT: pretty lines or JSON; unset, the logger decides (pretty on a terminal). */
export const logFormat = z.string().transform((raw, ctx) => {
  if (raw === 'json' || raw === 'pretty') return raw === 'pretty';
  ctx.addIssue({ code: 'custom', message: `"${raw}" is not a format; use json or pretty` });
  return z.NEVER;
});

/** proxy-addr's names for whole ranges (fastify's trustProxy accepts them beside addresses and CIDRs). */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** "10.0.0.5,10.1.0.0/16,loopback": the proxies whose X-Forwarded-For is believed, and no one else's. */
export const trustedProxyList = z.string().transform((raw, ctx): readonly string[] => {
  const entries = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (entries.length === 1 && entries[0] === 'false') return [];
  if (entries.some((p) => p === 'true' || /^\d+$/.test(p))) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must name your proxies, not "true" or a hop count: trusting every hop lets any client write its own ' +
        "X-Forwarded-For and pick the address the rate limits count; list the proxies' addresses or CIDRs, e.g. " +
        '"10.0.0.0/8" or "127.0.0.1,::1"',
    });
    return z.NEVER;
  }
  const bad = entries.filter((p) => !PROXY_RANGE_NAMES.has(p) && !ipaddr.isValidCIDR(p) && !ipaddr.isValid(p));
  if (bad.length) {
    ctx.addIssue({
      code: 'custom',
      message: `"${bad.join('", "')}" is not an IP address or CIDR; list the proxies' addresses or CIDRs, e.g. "10.0.0.0/8"`,
    });
    return z.NEVER;
  }
  return entries;
});

/** "10/10m": at most 10 sign-in tokens minted for one consent link in any 10 minutes (Temporal duration units). */
export const clickLimit = z.string().transform((raw, ctx) => {
  const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(raw);
  let windowMs: number | undefined;
  try {
    windowMs = match ? msToNumber(match[2] as Parameters<typeof msToNumber>[0]) : undefined;
  } catch {
    windowMs = undefined;
  }
  const max = Number(match?.[1]);
  if (!match || !(max >= 1) || windowMs === undefined || !(windowMs >= 1000)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be "<clicks>/<duration>", e.g. "10/10m" (at least 1 click, in at least 1s)',
    });
    return z.NEVER;
  }
  return { max, windowMs };
});

/** A Temporal duration ("30s", "6h", "1d") of at least `minMs`, as milliseconds. */
export const duration = (example: string, minMs = 1000) =>
  z.string().transform((raw, ctx) => {
    let ms: number | undefined;
    try {
      ms = /^\s*\d/.test(raw) ? msToNumber(raw.trim() as Parameters<typeof msToNumber>[0]) : undefined;
    } catch {
      ms = undefined;
    }
    if (ms === undefined || !Number.isFinite(ms) || ms < minMs) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a duration of at least ${minMs / 1000}s, such as "${example}" (units: s, m, h, d)`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A variable we no longer read: refused with its new name. */
export const renamed = (now: string) =>
  z.never({ errorMap: () => ({ message: `renamed: set ${now} (Temporal's own name)` }) }).optional();
