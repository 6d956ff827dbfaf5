/**
 * A connect token must name its link (so a newer link revokes it). One signed with the gateway's own key but without a
 * link id, as someone holding a leaked key would forge, is refused before Temporal is asked anything: the client here
 * points at a closed port, so reaching it would answer 503, not 404.
 */
import { Client, Connection } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/gateway/app.js';
import { signToken } from '../src/signing/signed-token.js';

const LINK_KEY = 'k1:gateway-link-token-test-key-0123456789';
let app: FastifyInstance;
const keys = () =>
  loadConfig({ LINK_SIGNING_KEY: LINK_KEY, PAYLOAD_ENCRYPTION_KEY: 'p1:payload-key-0123456789abcdef' }).linkSigningKeys;

beforeAll(async () => {
  const config = loadConfig({ LINK_SIGNING_KEY: LINK_KEY, PAYLOAD_ENCRYPTION_KEY: 'p1:payload-key-0123456789abcdef' });
  const client = new ProvisioningClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), 'q');
  app = await buildApp({ client, config });
  await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => app.close());

const get = (path: string) =>
  fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}${path}`, { redirect: 'manual' });

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
