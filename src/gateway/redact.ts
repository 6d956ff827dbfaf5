/** Consent links and callback states are bearer credentials: request logs show where a request went, not the token. */

export function redactUrl(url: string): string {
  if (url.startsWith('/connect/')) return '/connect/[redacted]';
  if (url.startsWith('/oauth/callback')) return url.includes('?') ? '/oauth/callback?[redacted]' : url;
  return url;
}
