/**
 * What the simulator saw: requests per route and status, installs per (account, Name), uninstalls and
 * de-authentications per account connector, injected faults, peak rate.
 */

export interface StatsSnapshot {
  requests: Record<string, { total: number; byStatus: Record<string, number> }>;
  installs: { accountId: string; name: string; count: number }[];
  /** Committed uninstalls (DELETE that found it), including those whose answer was dropped. */
  uninstalls: { accountId: string; accountConnectorId: number; count: number }[];
  /** Committed de-authentications, likewise. */
  deauthentications: { accountId: string; accountConnectorId: number; count: number }[];
  faultsInjected: { '5xx': number; '429': number; drop: number; latency: number };
  /** Highest number of requests that arrived within any 1 s window. */
  maxRequestsPerSecond: number;
  totalRequests: number;
  /** Arrived and not answered yet, per route (e.g. an install held up by injected latency). */
  inFlight: Record<string, number>;
  /** performance.now() of the first and the last arrival since the last reset (for average rates). */
  firstArrivalMs?: number;
  lastArrivalMs?: number;
  /** Arrivals in each whole second since the first arrival (the first hour), for rates over time. */
  perSecond: number[];
}

const PER_SECOND_KEPT = 3600;

export class Stats {
  private requests = new Map<string, { total: number; byStatus: Map<string, number> }>();
  private installs = new Map<string, { accountId: string; name: string; count: number }>();
  private uninstalls = new Map<string, { accountId: string; accountConnectorId: number; count: number }>();
  private deauthentications = new Map<string, { accountId: string; accountConnectorId: number; count: number }>();
  private faults = { '5xx': 0, '429': 0, drop: 0, latency: 0 };
  private totalRequests = 0;
  // Arrival times within the last second, as a queue with a moving head (cheap at hundreds of requests/s).
  private window: number[] = [];
  private head = 0;
  private maxPerSecond = 0;
  private inFlight = new Map<string, number>();
  private first?: number;
  private last?: number;
  private perSecond: number[] = [];

  arrived(routeKey?: string, now = performance.now()): void {
    this.totalRequests += 1;
    this.first ??= now;
    this.last = now;
    const second = Math.floor((now - this.first) / 1000);
    if (second < PER_SECOND_KEPT) {
      while (this.perSecond.length <= second) this.perSecond.push(0);
      this.perSecond[second]! += 1;
    }
    if (routeKey) this.inFlight.set(routeKey, (this.inFlight.get(routeKey) ?? 0) + 1);
    this.window.push(now);
    while (this.window[this.head] <= now - 1000) this.head += 1;
    if (this.head > 4096) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    this.maxPerSecond = Math.max(this.maxPerSecond, this.window.length - this.head);
  }

  /** `status` is an HTTP status, or "dropped" for a connection destroyed without an answer. */
  answered(routeKey: string, status: number | 'dropped'): void {
    const open = this.inFlight.get(routeKey);
    if (open !== undefined) this.inFlight.set(routeKey, Math.max(0, open - 1));
    let entry = this.requests.get(routeKey);
    if (!entry) {
      entry = { total: 0, byStatus: new Map() };
      this.requests.set(routeKey, entry);
    }
    entry.total += 1;
    const s = String(status);
    entry.byStatus.set(s, (entry.byStatus.get(s) ?? 0) + 1);
  }

  installed(accountId: string, name: string): void {
    const key = `${accountId}\u0000${name}`;
    const entry = this.installs.get(key);
    if (entry) entry.count += 1;
    else this.installs.set(key, { accountId, name, count: 1 });
  }

  uninstalled(accountId: string, accountConnectorId: number): void {
    countPer(this.uninstalls, accountId, accountConnectorId);
  }

  deauthenticated(accountId: string, accountConnectorId: number): void {
    countPer(this.deauthentications, accountId, accountConnectorId);
  }

  fault(kind: keyof Stats['faults']): void {
    this.faults[kind] += 1;
  }

  /** Successful install commits for one (account, Name), including those whose response was dropped. */
  installCount(accountId: string, name: string): number {
    return this.installs.get(`${accountId}\u0000${name}`)?.count ?? 0;
  }

  snapshot(): StatsSnapshot {
    const requests: StatsSnapshot['requests'] = {};
    for (const [key, v] of this.requests) requests[key] = { total: v.total, byStatus: Object.fromEntries(v.byStatus) };
    return {
      requests,
      installs: [...this.installs.values()].map((i) => ({ ...i })),
      uninstalls: [...this.uninstalls.values()].map((i) => ({ ...i })),
      deauthentications: [...this.deauthentications.values()].map((i) => ({ ...i })),
      faultsInjected: { ...this.faults },
      maxRequestsPerSecond: this.maxPerSecond,
      totalRequests: this.totalRequests,
      inFlight: Object.fromEntries(this.inFlight),
      perSecond: [...this.perSecond],
      ...(this.first !== undefined ? { firstArrivalMs: this.first, lastArrivalMs: this.last } : {}),
    };
  }

  reset(): void {
    this.requests.clear();
    this.installs.clear();
    this.uninstalls.clear();
    this.deauthentications.clear();
    this.faults = { '5xx': 0, '429': 0, drop: 0, latency: 0 };
    this.totalRequests = 0;
    this.window = [];
    this.head = 0;
    this.maxPerSecond = 0;
    this.inFlight.clear();
    this.first = undefined;
    this.last = undefined;
    this.perSecond = [];
  }
}

function countPer(
  map: Map<string, { accountId: string; accountConnectorId: number; count: number }>,
  accountId: string,
  accountConnectorId: number,
): void {
  const key = `${accountId}\u0000${accountConnectorId}`;
  const entry = map.get(key);
  if (entry) entry.count += 1;
  else map.set(key, { accountId, accountConnectorId, count: 1 });
}
