/**
 * Requests that are not a person clicking: link previews, mail scanners' prefetches, browser speculation. They must
 * not mint a Cyclr sign-in token (each is single-use and would be wasted).
 */
import type { IncomingHttpHeaders } from 'node:http';

const PREFETCH = /\b(prefetch|preview|prerender)\b/i;

export function isPrefetch(headers: IncomingHttpHeaders): boolean {
  return [headers['purpose'], headers['sec-purpose'], headers['x-purpose'], headers['x-moz']].some(
    (value) => typeof value === 'string' && PREFETCH.test(value),
  );
}
