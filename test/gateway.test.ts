/**
 * The HTTP gateway against a real Temporal dev server, a real worker process and the Cyclr simulator: the JSON API,
 * the consent link (/connect) and the OAuth callback, including everything they must refuse.
 */
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig, type Key } from '../src/config.js';
import { FIXTURE_CONNECTORS } from '../dev/simulator/catalog.js';
import { signToken } from '../src/signing/signed-token.js';
import type { ProvisioningStatus } from '../src/contract/messages.js';
import { startGateway, startGatewayStack, withToken, type GatewayStack } from './support/gateway-stack.js';
import { eventually, testEnv } from './support/harness.js';
import { approveSilently, requestTotal, simulatorStats } from './support/simulator-admin.js';

let stack: GatewayStack;
let keys: Key[];

beforeAll(async () => {
  stack = await startGatewayStack('gateway');
  keys = loadConfig('gateway', testEnv(stack.options)).linkSigningKeys;
});

afterAll(async () => {
  await stack?.close();
});

const RETURN_URL = 'https://app.example.test/connected';

function oauthRequest(accountId: string, extra: Record<string, unknown> = {}) {
  return {
    accountId,
    connector: { name: FIXTURE_CONNECTORS.oauth.name },
    oauth: { username: 'jo@example.test', returnUrl: RETURN_URL },
    ...extra,
  };
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.gatewayUrl}${path}`, {
    method,
    redirect: 'manual',
    headers: withToken(body === undefined ? headers : { 'content-type': 'application/json', ...headers }),
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> };
}

const idPath = (workflowId: string) => `/provisionings/${encodeURIComponent(workflowId)}`;

async function statusOf(workflowId: string): Promise<ProvisioningStatus> {
  const res = await api('GET', idPath(workflowId));
  expect(res.status).toBe(200);
  return res.json.status as ProvisioningStatus;
}

/** Starts an OAuth provisioning over HTTP and waits until it hands out a consent link. */
async function awaitingConsent(
  extra: Record<string, unknown> = {},
): Promise<{ workflowId: string; link: string; status: ProvisioningStatus }> {
  const accountId = await stack.newAccount();
  const started = await api('POST', '/provisionings', oauthRequest(accountId, extra));
  expect(started.status).toBe(202);
  const workflowId = started.json.workflowId as string;
  const status = await eventually(
    async () => {
      const s = await statusOf(workflowId);
      return s.stage === 'awaiting-consent' ? s : undefined;
    },
    30_000,
    'awaiting-consent',
  );
  return { workflowId, link: status.consentLink!, status };
}

/** The link id a consent link's token names (a callback state names the same one). */
const linkIdOf = (link: string) =>
  (JSON.parse(Buffer.from(link.split('/').pop()!.split('.')[0]!, 'base64url').toString()) as { lid: string }).lid;

const signInTokensMinted = async () => requestTotal(await simulatorStats(stack.simulator.url), /signintoken/);
const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;

describe('JSON API', () => {
  test('POST /provisionings starts one (202); a repeat returns the same one (200) with its status', async () => {
    const accountId = await stack.newAccount();
    const first = await api('POST', '/provisionings', oauthRequest(accountId));
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({
      workflowId: `provision:${accountId}:${FIXTURE_CONNECTORS.oauth.name}`,
      status: { stage: 'resolving-connector', accountId },
    });
    expect(first.headers.get('location')).toBe(idPath(first.json.workflowId as string));

    const again = await api('POST', '/provisionings', oauthRequest(accountId));
    expect(again.status).toBe(200);
    expect(again.json.workflowId).toBe(first.json.workflowId);
    expect((again.json.status as ProvisioningStatus).accountId).toBe(accountId);
    await api('POST', `${idPath(first.json.workflowId as string)}/cancel`, { reason: 'test done' });
  });

  test('a bad body is a 400 that names each field and the fix', async () => {
    const res = await api('POST', '/provisionings', {
      accountId: 'has space',
      connector: { id: 'seven' },
      colour: 'blue',
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('InvalidRequest');
    const fields = res.json.fields as { path: string; message: string }[];
    expect(fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'accountId', message: expect.stringMatching(/spaces/) }),
        expect.objectContaining({ path: 'connector.id', message: expect.stringMatching(/number/) }),
        expect.objectContaining({ message: expect.stringMatching(/unknown field "colour"/) }),
      ]),
    );
    expect(res.json.message).toMatch(/connector\.id/);

    const notJson = await api('POST', '/provisionings', '{"accountId": ');
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ error: 'InvalidRequest', message: expect.stringMatching(/JSON/) });

    const empty = await api('POST', '/provisionings', '');
    expect(empty.status).toBe(400);
    expect(empty.json.fields).toEqual([{ path: '(request)', message: 'must be a JSON object' }]);
  });

  test('unknown provisionings are 404 ProvisioningNotFound', async () => {
    const res = await api('GET', idPath('provision:nobody:nothing'));
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: 'ProvisioningNotFound', message: expect.stringMatching(/nobody/) });
    expect((await api('POST', `${idPath('provision:nobody:nothing')}/cancel`)).status).toBe(404);
    expect((await api('GET', idPath('batch:not-a-provisioning'))).status).toBe(404);
  });

  test('cancel: 202, the provisioning ends cancelled with the reason; a second cancel is 409', async () => {
    const { workflowId } = await awaitingConsent();
    const res = await api('POST', `${idPath(workflowId)}/cancel`, { reason: 'customer churned' });
    expect(res.status).toBe(202);
    const status = await eventually(async () => {
      const s = await statusOf(workflowId);
      return s.stage === 'cancelled' ? s : undefined;
    });
    expect(status.lastError).toEqual({ type: 'Cancelled', message: 'customer churned' });
    await expect(stack.client.result(workflowId)).rejects.toMatchObject({ type: 'Cancelled' });
    // Who cancelled is recorded with the signal (Temporal's identity): the token's name, never the token.
    const history = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const signalled = history.events!.map((e) => e.workflowExecutionSignaledEventAttributes).find(Boolean);
    expect(signalled).toMatchObject({ signalName: 'cancel' });
    expect(signalled!.identity).toMatch(/^write token [0-9a-f]{8} via the API \(\d+@.+\)$/);
    const again = await api('POST', `${idPath(workflowId)}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json.error).toBe('ProvisioningFinished');
    const badReason = await api('POST', `${idPath(workflowId)}/cancel`, { reason: 5 });
    expect(badReason.status).toBe(400);
    expect(badReason.json.fields).toEqual([{ path: 'reason', message: expect.stringMatching(/string/) }]);
  });

  test('openapi.json is OpenAPI 3.1 and documents every route the gateway serves, with the request schema', async () => {
    const res = await api('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.json as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    for (const route of [
      'POST /provisionings',
      'GET /provisionings/:id',
      'POST /provisionings/:id/cancel',
      'POST /provisionings/:id/consent-link',
      'GET /connect/:token',
      'HEAD /connect/:token',
      'GET /oauth/callback',
      'GET /healthz',
      'GET /readyz',
      'GET /openapi.json',
    ]) {
      expect(documented).toContain(route);
    }
    // Every route fastify actually serves is documented (fastify adds HEAD for GET routes by itself).
    const actual = routeList(stack.gateway.printRoutes({ commonPrefix: false }));
    expect(actual).toContain('POST /provisionings/:id/consent-link');
    for (const route of actual.filter((r) => !r.startsWith('HEAD ') || r.includes('/connect/'))) {
      expect(documented).toContain(route);
    }
    const request = doc.components.schemas.ProvisioningRequest;
    expect(request.required).toEqual(['accountId', 'connector']);
    expect(Object.keys(request.properties)).toEqual(
      expect.arrayContaining(['oauth', 'notifyUrl', 'timeouts', 'installName']),
    );
    expect(request).toMatchObject({ additionalProperties: false });
  });

  test('openapi.json is generated from the schemas the routes validate with: bodies, query and path parameters', async () => {
    type Schema = { $ref?: string; type?: string; required?: string[]; properties?: Record<string, Schema> };
    type Operation = {
      requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
      parameters?: { name: string; in: string; required: boolean }[];
    };
    const doc = (await api('GET', '/openapi.json')).json as {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, Schema> };
    };
    const start = doc.paths['/provisionings']!.post!;
    expect(start.requestBody!.content['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/ProvisioningRequest',
    });
    const request = doc.components.schemas.ProvisioningRequest!;
    expect(request.required).toContain('accountId');
    // Constraints come from the zod schema itself, not from a copy of it.
    expect(request.properties!.accountId).toMatchObject({ type: 'string', maxLength: 200, pattern: '^[^\\s:/?#]+$' });
    expect(start.parameters).toEqual([expect.objectContaining({ name: 'wait', in: 'query', required: false })]);

    const batch = doc.paths['/batches']!.post!;
    const batchBody = batch.requestBody!.content['application/json']!.schema;
    expect(batchBody).toMatchObject({ type: 'object', required: ['rows'], additionalProperties: false });
    expect(batchBody.properties).toMatchObject({
      rows: { type: 'array', minItems: 1, items: { $ref: '#/components/schemas/ProvisioningRequest' } },
      batchId: { type: 'string', pattern: expect.any(String) },
      concurrency: { type: 'integer', minimum: 1, maximum: 1000 },
    });
    expect(Object.keys(batch.requestBody!.content)).toEqual(
      expect.arrayContaining(['application/json', 'text/csv', 'application/x-ndjson']),
    );
    expect(batch.parameters!.map((p) => `${p.in} ${p.name}`).sort()).toEqual(['query batchId', 'query concurrency']);

    // A cancel may come without a body; its path names the provisioning.
    const cancel = doc.paths['/provisionings/{id}/cancel']!.post!;
    expect(cancel.requestBody).toMatchObject({ required: false });
    expect(cancel.requestBody!.content['application/json']!.schema.properties).toHaveProperty('reason');
    expect(cancel.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
  });

  test('healthz and readyz answer; readyz is 503 when Temporal cannot be reached', async () => {
    expect((await api('GET', '/healthz')).json).toEqual({ ok: true });
    expect(await api('GET', '/readyz')).toMatchObject({ status: 200, json: { ok: true } });

    const nowhere = new ProvisioningClient(
      new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }),
      'none',
    );
    const gateway = await startGateway(nowhere, testEnv(stack.options));
    try {
      const res = await fetch(`${gateway.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ok: false, temporal: 'unreachable' });
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    } finally {
      await gateway.app.close();
      await nowhere.temporal.connection.close();
    }
  });
});

/** "METHOD /path" for each route in fastify's printRoutes tree (non-compact form). */
function routeList(tree: string): string[] {
  const out: string[] = [];
  const stack: { depth: number; segment: string }[] = [];
  for (const line of tree.split('\n')) {
    const m = line.match(/^([\s│]*)(?:[└├]──\s)(\S+)(?:\s\(([^)]+)\))?/);
    if (!m) continue;
    const depth = m[1]!.length;
    while (stack.length && stack[stack.length - 1]!.depth >= depth) stack.pop();
    stack.push({ depth, segment: m[2]! });
    if (m[3]) {
      const path = stack.map((s) => s.segment).join('');
      for (const method of m[3].split(', ')) out.push(`${method} ${path}`);
    }
  }
  return out;
}

describe('consent link', () => {
  test('works twice, each time redirecting to Cyclr with a fresh sign-in token, uncached and without a referrer', async () => {
    const { link, status } = await awaitingConsent();
    expect(link.startsWith(`${stack.gatewayUrl}/connect/`)).toBe(true);
    const first = await api('GET', pathOf(link));
    const second = await api('GET', pathOf(link));
    for (const res of [first, second]) {
      expect(res.status).toBe(302);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const target = new URL(res.headers.get('location')!);
      expect(target.origin).toBe(stack.simulator.url);
      expect(target.pathname).toBe('/connectorauth/updateaccountconnectoroauth');
      expect(target.searchParams.get('id')).toBe(String(status.accountConnectorId));
      expect(target.searchParams.get('targetOrigin')).toMatch(
        new RegExp(`^${stack.gatewayUrl}/oauth/callback\\?state=`),
      );
    }
    const tokenOf = (res: { headers: Headers }) => new URL(res.headers.get('location')!).searchParams.get('token');
    expect(tokenOf(first)).toBeTruthy();
    expect(tokenOf(first)).not.toBe(tokenOf(second));
  });

  test('HEAD and prefetches answer 200 and mint no sign-in token; a real click does', async () => {
    const { link } = await awaitingConsent();
    const before = await signInTokensMinted();
    const head = await fetch(`${stack.gatewayUrl}${pathOf(link)}`, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(200);
    const prefetches: Record<string, string>[] = [
      { Purpose: 'prefetch' },
      { 'Sec-Purpose': 'prefetch' },
      { 'Sec-Purpose': 'prefetch;prerender' },
    ];
    for (const headers of prefetches) {
      const res = await api('GET', pathOf(link), undefined, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect(res.text).toMatch(/Open this link in your browser/);
      expect(res.text).not.toContain('connectorauth');
    }
    expect(await signInTokensMinted()).toBe(before);
    expect((await api('GET', pathOf(link))).status).toBe(302);
    expect(await signInTokensMinted()).toBe(before + 1);
  });

  test('tampered, forged, expired and malformed links are refused with a page, never a Cyclr URL', async () => {
    const { workflowId, link } = await awaitingConsent();
    const token = pathOf(link).slice('/connect/'.length);
    const [body, signature] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const before = await signInTokensMinted();

    const otherWorkflow = Buffer.from(JSON.stringify({ ...claims, wf: 'provision:someone-else:HubSpot' })).toString(
      'base64url',
    );
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
    const cases: [string, number, RegExp][] = [
      [`${otherWorkflow}.${signature}`, 403, /altered or was not issued by us/],
      [`${body}.${flipped}`, 403, /altered or was not issued by us/],
      [
        signToken('connect', { wf: workflowId, lid: claims.lid as string, exp: Date.now() + 60_000 }, [
          { id: 'k1', secret: 'an-attacker-guessed-this-secret' },
        ]),
        403,
        /not issued by us/,
      ],
      [
        signToken('connect', { wf: workflowId, lid: claims.lid as string, exp: Date.now() - 1000 }, keys),
        410,
        /expired/,
      ],
      ['not-a-token', 404, /incomplete or mistyped/],
      [`${body}`, 404, /incomplete or mistyped/],
    ];
    for (const [candidate, code, message] of cases) {
      const res = await api('GET', `/connect/${candidate}`);
      expect({ code: res.status, location: res.headers.get('location') }).toEqual({ code, location: null });
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.text).toMatch(message);
      expect(res.text).not.toContain(stack.simulator.url);
    }
    expect(await signInTokensMinted()).toBe(before);
  });

  test('re-sending the link revokes the old one (410 "replaced"); the new one works', async () => {
    const { workflowId, link } = await awaitingConsent();
    const resent = await api('POST', `${idPath(workflowId)}/consent-link`);
    expect(resent.status).toBe(200);
    const newLink = resent.json.url as string;
    expect(newLink).not.toBe(link);
    expect(resent.json.expiresAt).toEqual(expect.any(String));
    expect((await statusOf(workflowId)).consentLink).toBe(newLink);

    const before = await signInTokensMinted();
    const old = await api('GET', pathOf(link));
    expect(old.status).toBe(410);
    expect(old.text).toMatch(/replaced by a newer one/);
    expect(old.headers.get('location')).toBeNull();
    expect(await signInTokensMinted()).toBe(before);
    expect((await api('GET', pathOf(newLink))).status).toBe(302);
  });

  test('after cancellation the link says so, and re-sending is 409', async () => {
    const { workflowId, link } = await awaitingConsent();
    await api('POST', `${idPath(workflowId)}/cancel`, { reason: 'not needed' });
    await eventually(async () => ((await statusOf(workflowId)).stage === 'cancelled' ? true : undefined));
    const res = await api('GET', pathOf(link));
    expect(res.status).toBe(410);
    expect(res.text).toMatch(/cancelled/);
    const resend = await api('POST', `${idPath(workflowId)}/consent-link`);
    expect(resend.status).toBe(409);
  });

  test('links signed with an older key still work after rotation (LINK_SIGNING_KEY "k2:...,k1:...")', async () => {
    const { link } = await awaitingConsent();
    const rotatedEnv = testEnv({
      ...stack.options,
      env: { LINK_SIGNING_KEY: `k2:a-brand-new-link-signing-key-2,${keys[0]!.id}:${keys[0]!.secret}` },
    });
    const onlyNewEnv = testEnv({ ...stack.options, env: { LINK_SIGNING_KEY: 'k2:a-brand-new-link-signing-key-2' } });
    const rotated = await startGateway(stack.client, rotatedEnv);
    const onlyNew = await startGateway(stack.client, onlyNewEnv);
    try {
      const viaRotated = await fetch(`${rotated.url}${pathOf(link)}`, { redirect: 'manual' });
      expect(viaRotated.status).toBe(302);
      expect(viaRotated.headers.get('location')).toMatch(/connectorauth/);
      // Proof the old key did the work: a gateway that no longer holds k1 refuses the same link.
      expect((await fetch(`${onlyNew.url}${pathOf(link)}`, { redirect: 'manual' })).status).toBe(403);
    } finally {
      await rotated.app.close();
      await onlyNew.app.close();
    }
  });
});

describe('OAuth callback', () => {
  const history = (s: ProvisioningStatus) => s.history.map((h) => h.stage);

  test('forged states are refused and signal nothing', async () => {
    const { workflowId, link } = await awaitingConsent();
    const lid = linkIdOf(link);
    const goodState = signToken('callback', { wf: workflowId, lid, exp: Date.now() + 60_000 }, keys);
    const [body] = goodState.split('.');
    const forged = [
      {
        state: signToken('callback', { wf: workflowId, lid, exp: Date.now() + 60_000 }, [
          { id: 'k1', secret: 'not-our-signing-key-at-all' },
        ]),
        code: 403,
      },
      { state: signToken('connect', { wf: workflowId, lid: 'x', exp: Date.now() + 60_000 }, keys), code: 403 },
      { state: `${body}.${'A'.repeat(43)}`, code: 403 },
      { state: signToken('callback', { wf: workflowId, lid, exp: Date.now() - 1 }, keys), code: 403 },
      // A state that names no consent link (as states did before links were named) is not honoured.
      { state: signToken('callback', { wf: workflowId, exp: Date.now() + 60_000 }, keys), code: 403 },
      { state: 'garbage', code: 400 },
    ];
    for (const { state, code } of forged) {
      const res = await api('GET', `/oauth/callback?state=${encodeURIComponent(state)}`);
      expect({ code: res.status, location: res.headers.get('location') }).toEqual({ code, location: null });
      expect(res.text).toMatch(/not valid|expired|state/i);
    }
    expect((await api('GET', '/oauth/callback')).status).toBe(400);

    // Give a wrongly sent signal time to be handled, then check nothing happened.
    await new Promise((r) => setTimeout(r, 1500));
    const status = await statusOf(workflowId);
    expect(status.stage).toBe('awaiting-consent');
    expect(status.lastError).toBeUndefined();
    expect(history(status)).not.toContain('verifying');
    expect(status.attempts).toBe(0);
    await api('POST', `${idPath(workflowId)}/cancel`);
  });

  test('a valid callback before approval signals, redirects to returnUrl, and the workflow keeps waiting', async () => {
    const { workflowId, link } = await awaitingConsent();
    const state = signToken('callback', { wf: workflowId, lid: linkIdOf(link), exp: Date.now() + 60_000 }, keys);
    const res = await api('GET', `/oauth/callback?state=${encodeURIComponent(state)}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(RETURN_URL);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const status = await eventually(async () => {
      const s = await statusOf(workflowId);
      return s.lastError?.type === 'ConsentNotConfirmed' ? s : undefined;
    });
    expect(status.stage).toBe('awaiting-consent');
    expect(status.lastError?.message).toMatch(/callback/);
    await api('POST', `${idPath(workflowId)}/cancel`);
  });

  test('after consent completed, the callback still sends the browser to returnUrl', async () => {
    const { workflowId, status, link } = await awaitingConsent();
    await approveSilently(stack.simulator.url, status.accountConnectorId!);
    const state = signToken('callback', { wf: workflowId, lid: linkIdOf(link), exp: Date.now() + 60_000 }, keys);
    const callback = () => api('GET', `/oauth/callback?state=${encodeURIComponent(state)}`);
    const first = await callback();
    expect([first.status, first.text.slice(0, 400), first.headers.get('location')]).toEqual([302, '', RETURN_URL]);
    await stack.client.result(workflowId);
    const late = await callback();
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe(RETURN_URL);
  });
});

test('request logs never carry consent tokens or callback states', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logged = await startGateway(stack.client, testEnv(stack.options), { stream: sink });
  const token = signToken('connect', { wf: 'provision:a:b', lid: 'l', exp: Date.now() - 1 }, keys);
  const state = signToken('callback', { wf: 'provision:a:b', lid: 'l', exp: Date.now() + 60_000 }, keys);
  try {
    await fetch(`${logged.url}/connect/${token}`);
    await fetch(`${logged.url}/connect/${token}/extra`);
    await fetch(`${logged.url}/oauth/callback?state=${encodeURIComponent(state)}`);
  } finally {
    await logged.app.close();
  }
  const log = lines.join('');
  expect(log).toMatch(/\/connect\/\[redacted\]/);
  expect(log).toMatch(/\/oauth\/callback\?\[redacted\]/);
  for (const secret of [token, state, token.split('.')[1]!, state.split('.')[1]!]) expect(log).not.toContain(secret);
});
