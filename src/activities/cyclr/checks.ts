/** Checks on what callers pass in (InvalidRequest) and on what Cyclr answers (BadResponse). */
import { badResponseFailure, invalidRequest } from './errors.js';

export function requireText(value: string, field: string): string {
  if (typeof value !== 'string' || !value.trim()) throw invalidRequest(`${field} must be a non-empty string`);
  return value;
}

export function requirePositiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw invalidRequest(`${field} must be a positive integer (a Cyclr id), got ${JSON.stringify(value)}`);
  }
}

export function requireHttpUrl(value: string, field: string): void {
  let ok = false;
  try {
    ok = /^https?:$/.test(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok)
    throw invalidRequest(`${field} must be an absolute http(s) URL, e.g. https://app.example.com/oauth/callback`);
}

export function expectObject<T>(data: T, endpoint: string): T {
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw badResponseFailure(endpoint, 200, 'no JSON object');
  return data;
}

export function expectObjectWithId<T extends { Id: number }>(data: T, endpoint: string): T {
  expectObject(data, endpoint);
  if (typeof data.Id !== 'number') throw badResponseFailure(endpoint, 200, 'an object without a numeric Id');
  return data;
}
