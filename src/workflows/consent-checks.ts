/**
 * When to ask Cyclr whether consent has happened (no I/O: workflow code). Cyclr sends no webhook, and a popup flow
 * may send no callback either, so after each click on the consent link the workflow checks briskly for a while,
 * then goes back to its slow periodic check.
 */
export const BRISK_FOR_MS = 15 * 60 * 1000;
const FIRST_MS = 2_000;
const BRISK_MAX_MS = 30_000;
const BACKOFF = 1.5;

export interface CheckSchedule {
  now: number;
  /** The last click on the consent link (an issued Cyclr URL), if any. */
  lastClickAt?: number;
  /** The last check made, if any. */
  lastCheckAt?: number;
  /** The slow periodic interval (the request's `timeouts.checkEvery`). */
  checkEveryMs: number;
}

/** The interval between brisk checks `sinceClickMs` after a click: 2 s for the first minute, then backing off. */
export function briskInterval(sinceClickMs: number): number {
  if (sinceClickMs < 60_000) return FIRST_MS;
  const steps = Math.floor((sinceClickMs - 60_000) / 60_000) + 1;
  return Math.min(BRISK_MAX_MS, FIRST_MS * BACKOFF ** steps);
}

/** The time of the next check. */
export function nextCheckAt({ now, lastClickAt, lastCheckAt, checkEveryMs }: CheckSchedule): number {
  const from = lastCheckAt ?? now;
  const slow = from + checkEveryMs;
  if (lastClickAt === undefined || now - lastClickAt >= BRISK_FOR_MS) return slow;
  const brisk = Math.max(from, lastClickAt) + briskInterval(Math.max(0, now - lastClickAt));
  return Math.min(slow, Math.max(brisk, now));
}

/** How many Cyclr checks one click that is never approved costs, at most (beyond the slow periodic ones). */
export function checksPerUnapprovedClick(): number {
  let count = 0;
  for (let t = 0; t < BRISK_FOR_MS; t += briskInterval(t)) count += 1;
  return count;
}
