/** The consent-check schedule, tested directly: pure functions, no server. */
import {
  BRISK_WINDOW_MS,
  briskIntervalMs,
  checksForUnapprovedClick,
  maxChecksPerHour,
  nextCheckAt,
} from '../src/workflows/consent-checks.js';

const TEN_MINUTES = 10 * 60_000;
const click = 1_000_000_000;

/** Every check the schedule makes from `start` to `end`, given one click. */
function checkTimes(start: number, end: number, lastClickAt: number | undefined, checkEveryMs = TEN_MINUTES) {
  const times: number[] = [];
  let lastCheckAt: number | undefined;
  let now = start;
  for (;;) {
    const at = nextCheckAt({ now, lastClickAt, lastCheckAt, checkEveryMs });
    if (at > end) return times;
    times.push(at);
    lastCheckAt = at;
    now = at;
  }
}

test('with no click the workflow checks Cyclr only on its slow periodic schedule', () => {
  expect(nextCheckAt({ now: click, checkEveryMs: TEN_MINUTES })).toBe(click + TEN_MINUTES);
  expect(nextCheckAt({ now: click + 5_000, lastCheckAt: click, checkEveryMs: TEN_MINUTES })).toBe(click + TEN_MINUTES);
});

test('a click brings the first check 2 seconds later, even when a check ran just before it', () => {
  expect(nextCheckAt({ now: click, lastClickAt: click, checkEveryMs: TEN_MINUTES })).toBe(click + 2_000);
  expect(
    nextCheckAt({ now: click + 100, lastClickAt: click, lastCheckAt: click - 500, checkEveryMs: TEN_MINUTES }),
  ).toBe(click + 2_000);
});

test('approval within the first minute after a click is noticed within 2 seconds', () => {
  const times = checkTimes(click, click + 60_000, click);
  expect(times.length).toBe(30);
  const gaps = times.map((t, i) => t - (times[i - 1] ?? click));
  expect(Math.max(...gaps)).toBe(2_000);
});

test('after the first minute the checks back off to every 30 seconds, never slower, until 15 minutes after the click', () => {
  const times = checkTimes(click, click + BRISK_WINDOW_MS, click);
  const gaps = times.map((t, i) => t - (times[i - 1] ?? click));
  for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]!);
  expect(Math.max(...gaps)).toBe(30_000);
  expect(times[times.length - 1]!).toBeGreaterThan(click + BRISK_WINDOW_MS - 30_000);
  expect(briskIntervalMs(90_000)).toBe(4_000);
  expect(briskIntervalMs(BRISK_WINDOW_MS)).toBeUndefined();
});

test('15 minutes after the last click the workflow returns to its slow periodic check', () => {
  const lastCheckAt = click + BRISK_WINDOW_MS - 10_000;
  expect(nextCheckAt({ now: lastCheckAt, lastClickAt: click, lastCheckAt, checkEveryMs: TEN_MINUTES })).toBe(
    lastCheckAt + TEN_MINUTES,
  );
  expect(
    nextCheckAt({ now: click + 2 * BRISK_WINDOW_MS, lastClickAt: click, lastCheckAt, checkEveryMs: TEN_MINUTES }),
  ).toBe(click + 2 * BRISK_WINDOW_MS);
});

test('a second click restarts the brisk checks from 2 seconds', () => {
  const second = click + 5 * 60_000;
  const lastCheckAt = second - 20_000; // in the 30 s phase of the first click
  expect(nextCheckAt({ now: second, lastClickAt: second, lastCheckAt, checkEveryMs: TEN_MINUTES })).toBe(
    second + 2_000,
  );
});

test('a slow check shorter than the brisk gap is never slowed down by a click', () => {
  expect(
    nextCheckAt({ now: click + 200_000, lastClickAt: click, lastCheckAt: click + 200_000, checkEveryMs: 3_000 }),
  ).toBe(click + 203_000);
});

test('a check that is overdue is due now, not in the past', () => {
  expect(nextCheckAt({ now: click + TEN_MINUTES * 3, lastCheckAt: click, checkEveryMs: TEN_MINUTES })).toBe(
    click + TEN_MINUTES * 3,
  );
});

test('a link clicked but never approved costs a bounded number of Cyclr checks: 78 with the default 10-minute check', () => {
  const cost = checksForUnapprovedClick(TEN_MINUTES);
  expect(cost).toEqual({ checks: 78, slowChecksAnyway: 1, extra: 77 });
  expect(checkTimes(click, click + BRISK_WINDOW_MS - 1, click).length).toBe(cost.checks);
  expect(maxChecksPerHour(TEN_MINUTES)).toBe(1_800);
});

test('a non-positive checkEvery is refused with a message naming it', () => {
  expect(() => nextCheckAt({ now: click, checkEveryMs: 0 })).toThrow(/checkEveryMs must be a positive/);
});
