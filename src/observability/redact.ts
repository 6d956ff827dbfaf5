/**
 * The one redaction module. Masks secrets before anything is logged: values under secret-looking keys, credentials
 * in URLs (user:pass@, token-like query parameters) and bearer tokens inside free text; request URLs for the
 * gateway's log; and known secret values in text meant for humans (Cyclr's echoed error messages).
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear (any case, any nesting). */
const SECRET_KEY =
  /^(authvalue|auth_value|password|passwd|secret|client_?secret|token|access_?token|refresh_?token|id_?token|sign_?in_?token|api_?key|apikey|authorization|cookie|set-cookie|private_?key|encryption_?key|signing_?key|x-cyclr-signature)$/i;
/** Keys that end in a secret-looking word, e.g. cyclrClientSecret, linkSigningKey, notifyToken. */
const SECRET_SUFFIX = /(secret|password|token|apikey|api_key|signingkey|signing_key|authvalue)$/i;
/** Query parameters that carry credentials in URLs (sign-in tokens, OAuth codes, signatures). */
const SECRET_PARAM =
  /^(token|access_token|id_token|refresh_token|code|signature|sig|key|api_key|apikey|secret|password|state|otp|client_secret)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) || SECRET_SUFFIX.test(key);
}

/** Masks credentials inside a string: URL userinfo and secret query parameters, bearer/basic tokens, our /connect/ tokens. */
export function redactString(text: string): string {
  return text
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`)
    .replace(/([?&#])([^=&#\s]+)=([^&#\s"']*)/g, (match, sep: string, name: string) =>
      SECRET_PARAM.test(name) ? `${sep}${name}=${REDACTED}` : match,
    )
    .replace(/(\/connect\/)[A-Za-z0-9._~-]{16,}/g, `$1${REDACTED}`);
}

/** A deep copy with secrets masked; cycles and depth are bounded so a strange object cannot hang logging. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactString(value.message),
      ...(value.stack ? { stack: redactString(value.stack) } : {}),
    };
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (seen.has(value) || depth > 8) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, depth + 1, seen);
  }
  return out;
}

/** Consent links and callback states are bearer credentials: request logs show where a request went, not the token. */
export function redactUrl(url: string): string {
  if (url.startsWith('/connect/')) return `/connect/${REDACTED}`;
  if (url.startsWith('/oauth/callback')) return url.includes('?') ? `/oauth/callback?${REDACTED}` : url;
  // A gateway token sent in the query string is refused, and must not reach the log either.
  return url.replace(/([?&](?:access_token|token|api_key|apikey|bearer|authorization|auth)=)[^&]*/gi, `$1${REDACTED}`);
}

// Field names whose values are secrets wherever Cyclr might echo them (JSON, form or query style).
const SECRET_FIELD =
  /("?\b(?:AuthValue|access_token|client_secret|refresh_token|Token|Password|ClientSecret|AccessToken|RefreshToken)\b"?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|[^\s,&}]+)/gi;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;

/** Removes every known secret, and any value that looks like one by its field name, from text meant for humans. */
export function scrub(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  const list = [...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4);
  list.sort((a, b) => b.length - a.length);
  for (const secret of list) {
    out = out.split(secret).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(REDACTED);
  }
  return out.replace(SECRET_FIELD, `$1${REDACTED}`).replace(BEARER, `$1 ${REDACTED}`);
}
