/**
 * The console's sign-in, session and CSRF rules, over HTTP to an in-process gateway. Nothing here reaches Temporal:
 * the client's connection is lazy and never used by these pages.
 */
import { sign } from '@fastify/cookie';
import { Client, Connection } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ProvisioningClient } from '../src/client.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/gateway/app.js';
import { sessionKeys, tokenFingerprint } from '../src/gateway/console/session.js';
import { shown } from '../src/gateway/console/views/components.js';
import { cookiesOf, csrfOf } from './support/console-session.js';

const WRITE = 'unit-write-token-0123456789';
const READ = 'unit-read-token-0123456789';
const SESSION_KEY = 'console-unit-session-key-0123456789abcdef';

const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

async function consoleApp(env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const config = {
    ...loadConfig('gateway', { NODE_ENV: 'development', CONSOLE_SESSION_KEY: SESSION_KEY, ...env }),
    gatewayTokens: { write: [WRITE], read: [READ] },
  };
  const client = new ProvisioningClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), 'q');
  return listening(await buildApp({ client, config }));
}

async function consoleAppWith(gatewayTokens: { write: string[]; read: string[] }): Promise<Served> {
  const config = {
    ...loadConfig('gateway', { NODE_ENV: 'development', CONSOLE_SESSION_KEY: SESSION_KEY }),
    gatewayTokens,
  };
  const client = new ProvisioningClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), 'q');
  return listening(await buildApp({ client, config }));
}

interface Served {
  url: string;
  get(path: string, cookie?: string): Promise<Response>;
  post(path: string, form: Record<string, string>, cookie?: string): Promise<Response>;
}

async function listening(app: FastifyInstance): Promise<Served> {
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    get: (path, cookie) => fetch(url + path, { redirect: 'manual', headers: cookie ? { cookie } : {} }),
    post: (path, form, cookie) =>
      fetch(url + path, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
        body: new URLSearchParams(form).toString(),
      }),
  };
}

function sessionCookie(res: Response): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith('console_session='));
}

async function signIn(app: Served, token: string) {
  const form = await app.get('/console');
  const cookie = cookiesOf(form);
  const res = await app.post('/console/sign-in', { token, _csrf: csrfOf(await form.text()) }, cookie);
  return { res, body: await res.text() };
}

test('sign-in with a write token sets a signed, httpOnly, SameSite=Strict, expiring cookie and lands on the list', async () => {
  const app = await consoleApp();
  const { res } = await signIn(app, WRITE);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/console');
  const session = sessionCookie(res)!;
  expect(session).toMatch(/HttpOnly/);
  expect(session).toMatch(/SameSite=Strict/);
  expect(session).toMatch(/Max-Age=28800/);
  expect(session).toMatch(/Path=\/console/);
  expect(session).not.toMatch(/Secure/);
  expect(session).not.toContain(WRITE);
});

test('behind https the session cookie is Secure and the pages send HSTS', async () => {
  const app = await consoleApp({ PUBLIC_BASE_URL: 'https://provisioning.example.test' });
  const { res } = await signIn(app, READ);
  expect(sessionCookie(res)).toMatch(/; Secure/);
  expect((await app.get('/console')).headers.get('strict-transport-security')).toContain('max-age=31536000');
});

test("a sign-in without the form's CSRF token is refused, and sets no session", async () => {
  const app = await consoleApp();
  const res = await app.post('/console/sign-in', { token: WRITE });
  expect(res.status).toBe(403);
  expect(res.headers.get('content-type')).toContain('text/html');
  expect(await res.text()).toContain('This form has expired or did not come from this console');
  expect(sessionCookie(res)).toBeUndefined();
});

test('an empty or unknown token gets the sign-in page again with a message that says what to do', async () => {
  const app = await consoleApp();
  const bad = await signIn(app, 'definitely-not-a-token');
  expect(bad.res.status).toBe(401);
  expect(bad.body).toContain('That token is not a gateway token; check it and try again.');
  expect(sessionCookie(bad.res)).toBeUndefined();
  const empty = await signIn(app, '');
  expect(empty.body).toContain('Token: enter a gateway token.');
});

test('with no gateway tokens configured, sign-in says which variables to set', async () => {
  const client = new ProvisioningClient(new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), 'q');
  const app = await listening(await buildApp({ client, config: loadConfig('gateway', { NODE_ENV: 'development' }) }));
  const { body } = await signIn(app, WRITE);
  expect(body).toContain('No gateway tokens are configured: set GATEWAY_API_TOKENS');
});

test('an expired or forged session cookie is no session: the sign-in page is shown', async () => {
  const app = await consoleApp();
  const secret = sessionKeys(SESSION_KEY).cookie;
  const expired = sign(`write.${Date.now() - 1000}.abc`, secret);
  const res = await app.get('/console', `console_session=${encodeURIComponent(expired)}`);
  expect(await res.text()).toContain('<label for="token">Gateway token</label>');
  const forged = sign(`write.${Date.now() + 60_000}.abc`, 'some-other-key-of-the-same-length-000');
  const again = await app.get('/console', `console_session=${encodeURIComponent(forged)}`);
  expect(await again.text()).toContain('<label for="token">Gateway token</label>');
  // A valid one, signed with the same key, is a session: the same check tells them apart.
  const fingerprint = tokenFingerprint(sessionKeys(SESSION_KEY).fingerprint, READ);
  const valid = sign(`read.${Date.now() + 60_000}.abc.${fingerprint}`, secret);
  expect(await (await app.get('/console/nowhere', `console_session=${encodeURIComponent(valid)}`)).text()).toContain(
    'Signed in: read only',
  );
  // Pages other than the list send a signed-out browser to sign in.
  const batches = await app.get('/console/batches');
  expect(batches.status).toBe(303);
});

test('a session dies with its token: once the token that opened it is removed, its cookie is no session', async () => {
  const app = await consoleApp();
  const { res } = await signIn(app, WRITE);
  expect(res.status).toBe(303);
  const cookie = cookiesOf(res);
  const key = sessionKeys(SESSION_KEY).fingerprint;
  const name = `write token ${Buffer.from(tokenFingerprint(key, WRITE), 'base64url').subarray(0, 4).toString('hex')}`;
  // The console says which token is acting (its name, never the token).
  const signedIn = await (await app.get('/console/nowhere', cookie)).text();
  expect(signedIn).toContain(`(${name})`);
  expect(signedIn).not.toContain(WRITE);

  // The same session key, the write token rotated out: the cookie (signed, unexpired) no longer opens anything.
  const rotated = await consoleAppWith({ write: ['a-new-write-token-0123456789'], read: [READ] });
  const after = await rotated.get('/console/nowhere', cookie);
  expect(await after.text()).not.toContain('Signed in');
  expect((await rotated.get('/console/batches', cookie)).status).toBe(303);
  // The token demoted to read only: a write session it opened is refused too (no scope is kept beyond the token's).
  const demoted = await consoleAppWith({ write: [], read: [WRITE] });
  expect(await (await demoted.get('/console/nowhere', cookie)).text()).not.toContain('Signed in');
  // The token still configured: the same cookie is a session (proof the refusals above were about the token).
  const same = await consoleAppWith({ write: [WRITE], read: [READ] });
  expect(await (await same.get('/console/nowhere', cookie)).text()).toContain('Signed in: read and write');
  // A cookie in the old form (no fingerprint), even correctly signed, is no session.
  const old = sign(`write.${Date.now() + 60_000}.abc`, sessionKeys(SESSION_KEY).cookie);
  expect(await (await same.get('/console/nowhere', `console_session=${encodeURIComponent(old)}`)).text()).not.toContain(
    'Signed in',
  );
});

test('console pages carry a strict CSP, no-store, nosniff and no-referrer; assets come from this origin', async () => {
  const app = await consoleApp();
  const res = await app.get('/console');
  const csp = String(res.headers.get('content-security-policy'));
  for (const d of [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ]) {
    expect(csp).toContain(d);
  }
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(await res.text()).not.toMatch(/<script>|<style>| on\w+="/);
  const chart = await app.get('/console/assets/chart.umd.min.js');
  expect(chart.status).toBe(200);
  expect(chart.headers.get('content-type')).toContain('javascript');
  expect(await chart.text()).toContain('Chart');
  expect((await app.get('/console/assets/..%2F..%2Fpackage.json')).status).toBe(404);
});

test('error text on a page keeps ordinary URLs but never a sign-in link or token', () => {
  expect(
    shown(
      'Cyclr said: see https://yourco-h.cyclr.com/connectorauth/updateaccountconnectoroauth?id=1&token=abc123 and ' +
        'https://api.example.test/cb?code=xyz, docs at https://docs.cyclr.com/api',
    ),
  ).toBe(
    'Cyclr said: see [a sign-in link, not shown] and [a sign-in link, not shown], docs at https://docs.cyclr.com/api',
  );
});
