/** Consent links and callback states are bearer credentials: request logs show where a request went, not the token. */

export function redactUrl(url: string): string {
  if (url.startsWith('/connect/')) return '/connect/[redacted]';
  if (url.startsWith('/oauth/callback')) return url.includes('?') ? '/oauth/callback?[redacted]' : url;
  // A gateway token sent in the query string is refused, and must not reach the log either.
  return url.replace(/([?&](?:access_token|token|api_key|apikey|bearer|authorization|auth)=)[^&]*/gi, '$1[redacted]');
}
