/** Talking to the simulator as a person or a test would: its admin API and its consent page, over HTTP. */

import type { StatsSnapshot } from '../../dev/simulator/stats.js';

export type SimulatorStats = StatsSnapshot;

export async function simulatorStats(url: string): Promise<SimulatorStats> {
  const res = await fetch(`${url}/_admin/stats`);
  return (await res.json()) as SimulatorStats;
}

export function installCount(stats: SimulatorStats, accountId: string, name: string): number {
  return stats.installs.filter((i) => i.accountId === accountId && i.name === name).reduce((n, i) => n + i.count, 0);
}

export function requestTotal(stats: SimulatorStats, pattern: RegExp): number {
  return Object.entries(stats.requests)
    .filter(([key]) => pattern.test(key))
    .reduce((n, [, v]) => n + v.total, 0);
}

export async function setFaults(url: string, faults: unknown): Promise<void> {
  const res = await fetch(`${url}/_admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!res.ok) throw new Error(`setting faults failed: ${res.status} ${await res.text()}`);
}

export async function seedAccounts(url: string, ids: string[]): Promise<void> {
  const res = await fetch(`${url}/_admin/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accounts: ids }),
  });
  if (!res.ok) throw new Error(`seeding accounts failed: ${res.status} ${await res.text()}`);
}

/** Marks an account connector authenticated as if the user approved, without any redirect reaching us. */
export async function approveSilently(url: string, accountConnectorId: number): Promise<void> {
  const res = await fetch(`${url}/_admin/account-connectors/${accountConnectorId}/authenticate`, { method: 'POST' });
  if (!res.ok) throw new Error(`authenticate failed: ${res.status} ${await res.text()}`);
}

/** Marks an account connector no longer authenticated, as when a customer revokes access at the third party. */
export async function lapse(url: string, accountConnectorId: number): Promise<void> {
  const res = await fetch(`${url}/_admin/account-connectors/${accountConnectorId}/lapse`, { method: 'POST' });
  if (!res.ok) throw new Error(`lapse failed: ${res.status} ${await res.text()}`);
}

/** Committed uninstalls of one account connector (dropped answers included). */
export function uninstallCount(stats: SimulatorStats, accountId: string, accountConnectorId: number): number {
  return stats.uninstalls
    .filter((u) => u.accountId === accountId && u.accountConnectorId === accountConnectorId)
    .reduce((n, u) => n + u.count, 0);
}

/**
 * Opens a connectorauth URL and presses Approve (or Deny), as a browser would; returns where Cyclr redirected
 * (the targetOrigin) and the status of each step.
 */
export async function answerConsentPage(
  authUrl: string,
  answer: 'approve' | 'deny' = 'approve',
): Promise<{ pageStatus: number; answerStatus: number; location?: string; body: string }> {
  const page = await fetch(authUrl, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200) return { pageStatus: page.status, answerStatus: 0, body: html };
  const nonce = html.match(/name="nonce" value="([^"]+)"/)?.[1];
  if (!nonce) throw new Error(`no consent form on the page:\n${html}`);
  const origin = new URL(authUrl).origin;
  const res = await fetch(`${origin}/connectorauth/${answer}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ nonce }).toString(),
  });
  return {
    pageStatus: page.status,
    answerStatus: res.status,
    location: res.headers.get('location') ?? undefined,
    body: await res.text(),
  };
}
