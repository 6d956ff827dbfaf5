/**
 * When to ask Cyclr whether the customer has approved. Cyclr sends no webhook, and in the popup flow nothing reaches
 * us at all (the message goes to the app's window), so a click on the consent link is our only sign that someone is
 * on Cyclr's page right now: after each click we check briskly, backing off, for 15 minutes, then return to the
 * slow periodic check. Pure and deterministic (no I/O, no clock of its own): it runs in workflow code.
 */

/** How long after a click the brisk checks last. */
export const BRISK_WINDOW_MS = 15 * 60_000;

/**
 * The gap between brisk checks, by time since the click: every 2 s for the first minute (most people approve
 * within it), then doubling each minute (4, 8, 16 s) up to every 30 s for the rest of the window.
 */
export const BRISK_STEPS: readonly { untilMs: number; everyMs: number }[] = [
  { untilMs: 60_000, everyMs: 2_000 },
  { untilMs: 120_000, everyMs: 4_000 },
  { untilMs: 180_000, everyMs: 8_000 },
  { untilMs: 240_000, everyMs: 16_000 },
  { untilMs: BRISK_WINDOW_MS, everyMs: 30_000 },
];

/** The brisk gap at `sinceClickMs` after a click, or undefined once the brisk window is over. */
export function briskIntervalMs(sinceClickMs: number): number | undefined {
  if (sinceClickMs < 0) return BRISK_STEPS[0]!.everyMs;
  return BRISK_STEPS.find((step) => sinceClickMs < step.untilMs)?.everyMs;
}

export interface ConsentCheckClock {
  /** Workflow time now (epoch ms). */
  now: number;
  /** The latest click on the consent link (a fresh sign-in URL was issued), if any. */
  lastClickAt?: number;
  /** The latest check of `Authenticated` with Cyclr, if any. */
  lastCheckAt?: number;
  /** The slow periodic check's gap, in ms: `timeouts.checkEvery` (v2), or the backed-off idle gap (v3). */
  checkEveryMs: number;
  /** When the slow gap began (v3: the last check, or a reset by a reminder); default the last check, else now. */
  slowFrom?: number;
}

/**
 * When the next check with Cyclr is due (epoch ms, never before `now`): the earlier of the slow periodic check and,
 * within 15 minutes of the last click, the brisk one. A click restarts the brisk schedule from its start, so its
 * first check comes 2 s after it even if a check ran just before the click.
 */
export function nextCheckAt({ now, lastClickAt, lastCheckAt, checkEveryMs, slowFrom }: ConsentCheckClock): number {
  if (!(checkEveryMs > 0)) throw new RangeError(`checkEveryMs must be a positive number of ms, not ${checkEveryMs}`);
  const slow = (slowFrom ?? lastCheckAt ?? now) + checkEveryMs;
  let next = slow;
  if (lastClickAt !== undefined) {
    const from = lastCheckAt !== undefined && lastCheckAt > lastClickAt ? lastCheckAt : lastClickAt;
    const gap = briskIntervalMs(from - lastClickAt);
    if (gap !== undefined && from + gap <= lastClickAt + BRISK_WINDOW_MS) next = Math.min(slow, from + gap);
  }
  return Math.max(now, next);
}

/**
 * Checks with Cyclr caused by one click that is never approved: every check the schedule makes in the brisk window,
 * counted by running `nextCheckAt` itself (so this figure cannot drift from the schedule). `checkEveryMs` is the slow
 * check; `slowChecksAnyway` is how many of those checks the slow schedule alone would have made in the same time.
 */
export function checksForUnapprovedClick(checkEveryMs: number): {
  checks: number;
  slowChecksAnyway: number;
  extra: number;
} {
  const click = 0;
  let lastCheckAt: number | undefined;
  let checks = 0;
  for (;;) {
    const at = nextCheckAt({ now: lastCheckAt ?? click, lastClickAt: click, lastCheckAt, checkEveryMs });
    if (at >= click + BRISK_WINDOW_MS) break;
    checks += 1;
    lastCheckAt = at;
  }
  const slowChecksAnyway = Math.floor(BRISK_WINDOW_MS / checkEveryMs);
  return { checks, slowChecksAnyway, extra: Math.max(0, checks - slowChecksAnyway) };
}

/**
 * The most checks any pattern of clicks can cause per hour: a click resets the schedule, so someone clicking
 * non-stop keeps it at its briskest, one check per 2 s (or the slow check, if that is set briskier still). Each
 * click also mints a Cyclr sign-in token, which is not a check and not counted here.
 */
export function maxChecksPerHour(checkEveryMs: number): number {
  return Math.ceil(3_600_000 / Math.min(BRISK_STEPS[0]!.everyMs, checkEveryMs));
}

/**
 * The idle back-off (v3): while nobody acts, each slow check that finds no consent doubles the gap to the next, from
 * `timeouts.checkEvery` up to `timeouts.checkEveryMax`. A provisioning waits weeks for a customer who mostly never
 * comes back on their own; asking Cyclr every 10 minutes all that time spends the shared request budget for nothing.
 * A reminder sent, a click or a consent hint starts the gap again from `checkEvery` (someone may be about to act).
 */
export function nextIdleGapMs(gapMs: number, checkEveryMaxMs: number): number {
  return Math.min(gapMs * 2, checkEveryMaxMs);
}

/**
 * The ceiling of the back-off: `checkEveryMax` (default 6h), never below `checkEvery` (a request that checks less
 * often than the default ceiling, and sets none, keeps its own gap; one that sets a lower ceiling is refused).
 */
export function checkEveryMaxMs(checkEveryMs: number, checkEveryMaxMs: number): number {
  return Math.max(checkEveryMs, checkEveryMaxMs);
}
