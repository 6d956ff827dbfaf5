/**
 * What the gateway refuses before asking Temporal anything (issue 19). The client here points at a closed port, so a
 * request that got past the check would answer 503, not 4xx.
 *
 * A connect token must name its link (so a newer link revokes it). One signed with the gateway's own key but without a
 * link id, as someone holding a leaked key would forge, is refused.
 */
import { Client, Connection } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { MAX_CONSENT, parseProvisioningRequest } from '../src/contract/request.js';
import { buildApp } from '../src/gateway/app.js';
import { signToken } from '../src/signing/signed-token.js';

const LINK_KEY = 'k1:gateway-link-token-test-key-0123456789';
const WRITE = 'fail-closed-write-token-0123456789';
let app: FastifyInstance;
const keys = () =>
  loadConfig('gateway', { LINK_SIGNING_KEY: LINK_KEY, PAYLOAD_ENCRYPTION_KEY: 'p1:payload-key-0123456789abcdef' })
    .linkSigningKeys;

beforeAll(async () => {
  const config = {
    ...loadConfig('gateway', { LINK_SIGNING_KEY: LINK_KEY, PAYLOAD_ENCRYPTION_KEY: 'p1:payload-key-0123456789abcdef' }),
    gatewayTokens: { write: [WRITE], read: [] },
  };
  const client = new ProvisioningClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), 'q');
  app = await buildApp({ client, config });
  await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => app.close());

const url = (path: string) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${path}`;
const get = (path: string) => fetch(url(path), { redirect: 'manual' });

test('a connect token without a link id is refused on /connect and its status route', async () => {
  const exp = Date.now() + 60_000;
  const forged = signToken('connect', { wf: 'provision:acct:HubSpot', exp }, keys());
  const emptyLid = signToken('connect', { wf: 'provision:acct:HubSpot', lid: '', exp }, keys());
  for (const token of [forged, emptyLid]) {
    const page = await get(`/connect/${token}`);
    expect(page.status).toBe(404);
    expect(page.headers.get('location')).toBeNull();
    const status = await get(`/connect/${token}/status`);
    expect(status.status).toBe(404);
    expect(await status.json()).toMatchObject({ error: 'LinkNotFound' });
  }
  // The same claims with a link id pass the check and reach the (unreachable) cluster: the 404 above was the check's.
  const named = signToken('connect', { wf: 'provision:acct:HubSpot', lid: 'link-1', exp }, keys());
  expect((await get(`/connect/${named}/status`)).status).toBe(503);
}, 30_000);

test(`timeouts.consent above ${MAX_CONSENT} is a 400 naming the field; ${MAX_CONSENT} itself is accepted`, async () => {
  const start = (consent: string) =>
    fetch(url('/provisionings'), {
      method: 'POST',
      headers: { authorization: `Bearer ${WRITE}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        accountId: 'acct-1',
        connector: { name: 'HubSpot' },
        oauth: { username: 'jo@example.test', returnUrl: 'https://app.example.test/done' },
        timeouts: { consent },
      }),
    });
  for (const consent of ['91d', '100y']) {
    const refused = await start(consent);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { message: string };
    expect(body.message).toMatch(/timeouts\.consent: consent must be at most 90d/);
  }
  // At the cap the request is valid and goes on to the (unreachable) cluster.
  expect((await start(MAX_CONSENT)).status).toBe(503);
  // Every entry point shares the check; a run begun before the cap keeps its request (the workflow's uncapped parse).
  const long = { accountId: 'a', connector: { id: 1 }, timeouts: { consent: '365d' } };
  expect(parseProvisioningRequest(long)).toMatchObject({ ok: false, errors: [{ path: 'timeouts.consent' }] });
  expect(parseProvisioningRequest(long, { consentCap: false })).toMatchObject({ ok: true });
}, 30_000);
