/** Reading fields of a request body as Cyclr does: absent and null are "not given", a wrong type is a 400. */
import { CyclrError } from './records.js';

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new CyclrError(400, `The request is invalid. ${field} must be a string.`);
  return v;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new CyclrError(400, `The request is invalid. ${field} must be true or false.`);
  return v;
}

/** An install or update body: Cyclr answers an absent/null one with a 500 (a NullReferenceException on its side). */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) throw new CyclrError(500, 'An error has occurred.');
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new CyclrError(400, 'The request is invalid. The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}
