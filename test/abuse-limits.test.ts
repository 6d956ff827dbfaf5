/**
 * The limits that keep one client, or one consent link, from spending what everyone shares (issue 19.2-19.3), as an
 * attacker would try them over HTTP: bad tokens from behind a named proxy, forged X-Forwarded-For chains, IPv6
 * address hopping inside one /64, console sign-in guessing, a consent link clicked 100 times from 10 addresses, and
 * callback states replayed after their link was replaced. What Cyclr saw is read from the simulator.
 */
import { loadConfig } from '../src/config.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { signToken } from '../src/signing/signed-token.js';
import type { ProvisioningStatus } from '../src/contract/messages.js';
import {
  startGateway,
  startGatewayStack,
  TEST_GATEWAY_TOKEN,
  withToken,
  type GatewayStack,
} from './support/gateway-stack.js';
import { eventually, TEST_LINK_KEY, testEnv } from './support/harness.js';
import { requestTotal, simulatorStats } from './support/simulator-admin.js';

/** The stack's gateway sits behind "a proxy" on loopback: it believes X-Forwarded-For from 127.0.0.1 only. */
const PROXIED = { GATEWAY_TRUST_PROXY: '127.0.0.1,::1', GATEWAY_AUTH_FAILURE_LIMIT: '3' };
const WRONG = 'a-wrong-token-0123456789abcdef';
const RETURN_URL = 'https://app.example.test/done';

let stack: GatewayStack;
const keys = loadConfig('gateway', { NODE_ENV: 'development', LINK_SIGNING_KEY: TEST_LINK_KEY }).linkSigningKeys;

beforeAll(async () => {
  stack = await startGatewayStack('abuse-limits', {}, { gatewayEnv: PROXIED });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** A request from `client` (as the proxy reports it in X-Forwarded-For). */
function from(client: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  return fetch(`${stack.gatewayUrl}${path}`, {
    redirect: 'manual',
    ...init,
    headers: { 'x-forwarded-for': client, ...init.headers },
  });
}

const apiRead = (client: string, token: string) =>
  from(client, '/openapi.json', { headers: withToken({}, token) }).then((r) => r.status);

const signInTokens = async () => requestTotal(await simulatorStats(stack.simulator.url), /signintoken/i);
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { wf: string; lid?: string };
const tokenOf = (link: string) => link.slice(link.lastIndexOf('/connect/') + '/connect/'.length);

async function awaitingConsent(): Promise<{ workflowId: string; link: string }> {
  const accountId = await stack.newAccount();
  const res = await stack.call('/provisionings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      accountId,
      connector: { name: FIXTURE_CONNECTORS.oauth.name },
      oauth: { username: 'jo@example.test', returnUrl: RETURN_URL },
    }),
  });
  expect(res.status).toBe(202);
  const { workflowId } = (await res.json()) as { workflowId: string };
  const status = await eventually(async () => {
    const s = await stack.client.status(workflowId);
    return s.stage === 'awaiting-consent' ? s : undefined;
  });
  return { workflowId, link: status.consentLink! };
}

describe('proxies named, not trusted blindly (19.3)', () => {
  const problem = (value: string) => {
    try {
      loadConfig('gateway', { NODE_ENV: 'development', GATEWAY_TRUST_PROXY: value });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };

  test('GATEWAY_TRUST_PROXY=true (or a hop count, or a name) is a config error that says why; addresses and CIDRs are taken', () => {
    expect(problem('true')).toMatch(
      /GATEWAY_TRUST_PROXY: must name your proxies, not "true".*any client write its own X-Forwarded-For/,
    );
    expect(problem('2')).toMatch(/GATEWAY_TRUST_PROXY: must name your proxies/);
    expect(problem('proxy.internal')).toMatch(/"proxy.internal" is not an IP address or CIDR/);
    expect(
      loadConfig('gateway', {
        NODE_ENV: 'development',
        GATEWAY_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8,loopback',
      }).gatewayTrustProxy,
    ).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'loopback']);
    expect(loadConfig('gateway', { NODE_ENV: 'development', GATEWAY_TRUST_PROXY: 'false' }).gatewayTrustProxy).toEqual(
      [],
    );
  });

  test('failed tokens count per client behind the proxy; a locked-out client still gets in with a valid token', async () => {
    const a = '203.0.113.5';
    expect([await apiRead(a, WRONG), await apiRead(a, WRONG), await apiRead(a, WRONG)]).toEqual([401, 401, 401]);
    const locked = await from(a, '/openapi.json', { headers: withToken({}, WRONG) });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await locked.json()).toMatchObject({ message: expect.stringMatching(/too many failed token checks/) });
    // The valid token is never locked out, not even from the client that guessed.
    expect(await apiRead(a, TEST_GATEWAY_TOKEN)).toBe(200);
    // Writing its own addresses in front of the proxy's does not make it someone else: the nearest untrusted hop is.
    expect(await apiRead(`198.51.100.99, 192.0.2.1, ${a}`, WRONG)).toBe(429);
    // Another client behind the same proxy is not touched.
    expect(await apiRead('198.51.100.7', WRONG)).toBe(401);
    // No credential at all is a 401 that counts for nothing, however often.
    for (let i = 0; i < 5; i++) {
      expect((await from('198.51.100.8', '/openapi.json')).status).toBe(401);
    }
    expect(await apiRead('198.51.100.8', WRONG)).toBe(401);
  });

  test('IPv6 clients are one client per /64: hopping addresses inside it does not reset the count', async () => {
    for (const host of ['1', '2', '3']) expect(await apiRead(`2001:db8:aa:1::${host}`, WRONG)).toBe(401);
    expect(await apiRead('2001:db8:aa:1:ffff:ffff:ffff:9', WRONG)).toBe(429);
    expect(await apiRead('2001:db8:aa:2::1', WRONG)).toBe(401);
    // An IPv4 client seen as IPv4-mapped IPv6 is the IPv4 client.
    for (let i = 0; i < 3; i++) expect(await apiRead('192.0.2.44', WRONG)).toBe(401);
    expect(await apiRead('::ffff:192.0.2.44', WRONG)).toBe(429);
  });

  test('without GATEWAY_TRUST_PROXY a forged X-Forwarded-For is ignored: the socket address is counted', async () => {
    const direct = await startGateway(
      stack.client,
      testEnv({ ...stack.options, env: { GATEWAY_AUTH_FAILURE_LIMIT: '3' } }),
    );
    try {
      const get = (xff: string, token: string) =>
        fetch(`${direct.url}/openapi.json`, {
          headers: { ...withToken({}, token), 'x-forwarded-for': xff },
        }).then((r) => r.status);
      expect([
        await get('203.0.113.1', WRONG),
        await get('203.0.113.2', WRONG),
        await get('203.0.113.3', WRONG),
      ]).toEqual([401, 401, 401]);
      expect(await get('203.0.113.4', WRONG)).toBe(429);
      expect(await get('203.0.113.4', TEST_GATEWAY_TOKEN)).toBe(200);
    } finally {
      await direct.app.close();
    }
  });

  test('console sign-in failures count toward the same limit; a right token still signs in', async () => {
    const signIn = async (client: string, token: string) => {
      const form = await from(client, '/console');
      const cookie = form.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
      const res = await from(client, '/console/sign-in', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ token, _csrf: csrf }).toString(),
      });
      return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
    };
    const c = '198.51.100.20';
    for (let i = 0; i < 3; i++) expect((await signIn(c, WRONG)).status).toBe(401);
    const locked = await signIn(c, WRONG);
    expect(locked.status).toBe(429);
    expect(locked.text).toMatch(/Too many failed sign-ins from your address; try again in \d+ seconds/);
    expect(Number(locked.retryAfter)).toBeGreaterThan(0);
    // The console's failures lock the API's wrong tokens too (one count per client)...
    expect(await apiRead(c, WRONG)).toBe(429);
    // ...but never the right token, in either place.
    expect((await signIn(c, TEST_GATEWAY_TOKEN)).status).toBe(303);
    expect(await apiRead(c, TEST_GATEWAY_TOKEN)).toBe(200);
    // And the API's failures count toward sign-in.
    const d = '198.51.100.21';
    for (let i = 0; i < 3; i++) expect(await apiRead(d, WRONG)).toBe(401);
    expect((await signIn(d, WRONG)).status).toBe(429);
  });
});

describe('one consent link cannot spend everyone’s Cyclr budget (19.2)', () => {
  test('100 clicks on one link from 10 addresses mint at most the limit (10) at Cyclr; others go on undisturbed', async () => {
    const [target, other] = await Promise.all([awaitingConsent(), awaitingConsent()]);
    const before = await signInTokens();
    const clients = Array.from({ length: 10 }, (_, i) => `203.0.113.${100 + i}`);
    // Ten rounds of ten concurrent clicks, one from each address.
    const answers: { status: number; retryAfter: string | null; text: string }[] = [];
    for (let round = 0; round < 10; round++) {
      answers.push(
        ...(await Promise.all(
          clients.map(async (client) => {
            const res = await from(client, new URL(target.link).pathname);
            return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
          }),
        )),
      );
    }
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 302)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(90);
    const refused = answers.find((a) => a.status === 429)!;
    expect(Number(refused.retryAfter)).toBeGreaterThan(500);
    expect(refused.text).toMatch(/Try the same link again in 10 minutes \(after \d\d:\d\d UTC\)/);
    // What Cyclr saw: ten sign-in tokens, no more.
    const minted = (await signInTokens()) - before;
    expect(minted).toBe(10);

    // Another provisioning's link, clicked from the same addresses, still works.
    const otherClick = await from(clients[0]!, new URL(other.link).pathname);
    expect(otherClick.status).toBe(302);
    expect(otherClick.headers.get('location')).toMatch(/connectorauth/);
    expect((await signInTokens()) - before).toBe(11);

    // Support re-sends the link: the old one is revoked (nothing minted), the new one has a budget of its own.
    const reissued = await stack.call(`/provisionings/${encodeURIComponent(target.workflowId)}/consent-link`, {
      method: 'POST',
    });
    expect(reissued.status).toBe(200);
    const newLink = ((await reissued.json()) as { url: string }).url;
    expect((await from(clients[1]!, new URL(target.link).pathname)).status).toBe(429);
    expect((await from(clients[1]!, new URL(newLink).pathname)).status).toBe(302);
    expect((await signInTokens()) - before).toBe(12);
  });

  test('gateways share one count per link: 40 clicks spread over two gateways mint at most the limit (10)', async () => {
    // A second replica in front of the same Temporal and workers; each gateway alone would let 10 through.
    const second = await startGateway(stack.client, testEnv({ ...stack.options, env: PROXIED }));
    try {
      const target = await awaitingConsent();
      const before = await signInTokens();
      const path = new URL(target.link).pathname;
      const statuses: number[] = [];
      for (let round = 0; round < 4; round++) {
        const clicks = Array.from({ length: 10 }, (_, i) =>
          fetch(`${i % 2 ? second.url : stack.gatewayUrl}${path}`, {
            redirect: 'manual',
            headers: { 'x-forwarded-for': `198.51.100.${10 * round + i}` },
          }).then((res) => [res.status, res.headers.get('retry-after')] as const),
        );
        const answers = await Promise.all(clicks);
        statuses.push(...answers.map(([status]) => status));
        for (const [status, retryAfter] of answers) if (status === 429) expect(Number(retryAfter)).toBeGreaterThan(0);
      }
      expect(statuses.filter((s) => s === 302)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(30);
      // What Cyclr saw: ten sign-in tokens for the link, whichever gateway the clicks reached.
      expect((await signInTokens()) - before).toBe(10);
    } finally {
      await second.app.close();
    }
  });

  test('a callback state names the link it started from, and dies with it when the link is re-issued', async () => {
    const { workflowId, link } = await awaitingConsent();
    const lid = claimsOf(tokenOf(link)).lid!;
    // The state the worker puts in Cyclr's redirect (targetOrigin) names the very link that was clicked.
    const click = await from('203.0.113.50', new URL(link).pathname);
    expect(click.status).toBe(302);
    const callbackUrl = new URL(new URL(click.headers.get('location')!).searchParams.get('targetOrigin')!);
    const state = callbackUrl.searchParams.get('state')!;
    expect(claimsOf(state)).toMatchObject({ wf: workflowId, lid });

    const reissued = await stack.call(`/provisionings/${encodeURIComponent(workflowId)}/consent-link`, {
      method: 'POST',
    });
    expect(reissued.status).toBe(200);
    const replay = await from('203.0.113.50', `/oauth/callback?state=${encodeURIComponent(state)}`);
    expect(replay.status).toBe(410);
    expect(replay.headers.get('location')).toBeNull();
    expect(await replay.text()).toMatch(/replaced by a newer one/);
    // A state naming no link at all (forged from an old format) is not honoured either.
    const noLink = signToken('callback', { wf: workflowId, exp: Date.now() + 60_000 }, keys);
    expect((await from('203.0.113.50', `/oauth/callback?state=${encodeURIComponent(noLink)}`)).status).toBe(403);

    // Nothing was signalled: the provisioning never went to check with Cyclr.
    await new Promise((r) => setTimeout(r, 1500));
    const status: ProvisioningStatus = await stack.client.status(workflowId);
    expect(status.stage).toBe('awaiting-consent');
    expect(status.history.map((h) => h.stage)).not.toContain('verifying');
    expect(status.lastError).toBeUndefined();

    // A state naming the current link is honoured (proof the refusal above was about the link).
    const current = signToken(
      'callback',
      {
        wf: workflowId,
        lid: claimsOf(tokenOf(((await reissued.json()) as { url: string }).url)).lid,
        exp: Date.now() + 60_000,
      },
      keys,
    );
    const honoured = await from('203.0.113.50', `/oauth/callback?state=${encodeURIComponent(current)}`);
    expect([honoured.status, honoured.headers.get('location')]).toEqual([302, RETURN_URL]);
    await eventually(async () => {
      const s = await stack.client.status(workflowId);
      return s.lastError?.type === 'ConsentNotConfirmed' ? s : undefined;
    });
    await stack.call(`/provisionings/${encodeURIComponent(workflowId)}/cancel`, { method: 'POST' });
  });

  test('GATEWAY_CONSENT_CLICK_LIMIT is "<clicks>/<duration>"; anything else is one line saying so', () => {
    expect(loadConfig('gateway', { NODE_ENV: 'development' }).consentClickLimit).toEqual({
      max: 10,
      windowMs: 600_000,
    });
    expect(
      loadConfig('gateway', { NODE_ENV: 'development', GATEWAY_CONSENT_CLICK_LIMIT: '3/1h' }).consentClickLimit,
    ).toEqual({
      max: 3,
      windowMs: 3_600_000,
    });
    for (const bad of ['10', '0/10m', '10/soon', '10/10ms']) {
      expect(() => loadConfig('gateway', { NODE_ENV: 'development', GATEWAY_CONSENT_CLICK_LIMIT: bad })).toThrow(
        /GATEWAY_CONSENT_CLICK_LIMIT: must be "<clicks>\/<duration>", e.g. "10\/10m"/,
      );
    }
  });
});
