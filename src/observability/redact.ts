/**
 * Masks secrets before anything is logged: values under secret-looking keys, credentials in URLs (user:pass@,
 * token-like query parameters) and bearer tokens inside free text.
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
