/**
 * The logger (pino) the worker, gateway and CLI share: one JSON line per event, levels filtered, secrets masked
 * wherever they appear; pretty lines on a terminal.
 */
import Fastify from 'fastify';
import { ApplicationFailure } from '@temporalio/common';
import { loadConfig } from '../src/config.js';
import { createLogger, parseLogLevel, pinoLineStream, withCancelsAsInfo } from '../src/observability/logger.js';
import { redactString } from '../src/observability/redact.js';

function capture(level = 'DEBUG') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level,
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
    now: () => new Date('2026-01-02T03:04:05.000Z'),
  });
  return { logger, lines };
}

test('one JSON object per event with ts, level, msg and the workflow fields the SDK passes', () => {
  const { logger, lines } = capture();
  logger.info('Activity completed', {
    workflowId: 'provision:acme-1:HubSpot',
    workflowRunId: 'run-1',
    activityType: 'installConnector',
    attempt: 2,
    taskToken: new Uint8Array([1, 2, 3]),
  });
  expect(lines).toEqual([
    {
      ts: '2026-01-02T03:04:05.000Z',
      level: 'info',
      msg: 'Activity completed',
      service: 'test',
      workflowId: 'provision:acme-1:HubSpot',
      runId: 'run-1',
      activityType: 'installConnector',
      attempt: 2,
    },
  ]);
});

test('secrets are masked under secret-looking keys, at any depth and in any case', () => {
  const { logger, lines } = capture();
  logger.warn('install', {
    request: { authValue: 'api-key-123', AuthValue: 'base64userpass', properties: [{ name: 'region', value: 'eu' }] },
    cyclrClientSecret: 'cs-1',
    headers: { Authorization: 'Bearer abc.def', cookie: 'sid=1' },
    access_token: 'at-1',
    password: 'pw',
    linkSigningKey: 'k1:secret',
    note: 'kept',
  });
  const text = JSON.stringify(lines[0]);
  for (const secret of ['api-key-123', 'base64userpass', 'cs-1', 'abc.def', 'sid=1', 'at-1', '"pw"', 'k1:secret']) {
    expect(text).not.toContain(secret);
  }
  expect(lines[0]).toMatchObject({ note: 'kept', request: { properties: [{ name: 'region', value: 'eu' }] } });
});

test('credentials inside URLs and messages are masked, the rest of the URL kept', () => {
  expect(
    redactString(
      'GET https://yourco-h.cyclr.com/connectorauth/updateaccountconnectoroauth?id=5&token=abc123&targetOrigin=x',
    ),
  ).toBe(
    'GET https://yourco-h.cyclr.com/connectorauth/updateaccountconnectoroauth?id=5&token=[redacted]&targetOrigin=x',
  );
  expect(redactString('postgres://user:hunter2@db:5432/x')).toBe('postgres://[redacted]@db:5432/x');
  expect(redactString('callback /oauth/callback?state=eyJhbGciOi.sig')).toBe(
    'callback /oauth/callback?state=[redacted]',
  );
  expect(redactString('link https://gw.example/connect/eyJ3IjoicHJvdmlzaW9uIn0.c2lnbmF0dXJl')).toBe(
    'link https://gw.example/connect/[redacted]',
  );
  expect(redactString('sent Authorization: Bearer tok_live_123')).toBe('sent Authorization: Bearer [redacted]');
  const { logger, lines } = capture();
  logger.error('failed GET https://api.cyclr.com/x?access_token=zzz', {
    error: new Error('boom at https://a/b?code=123'),
  });
  expect(JSON.stringify(lines[0])).not.toMatch(/zzz|code=123/);
});

test('LOG_LEVEL filters, and a bad level is a clear error', () => {
  const { logger, lines } = capture('WARN');
  logger.info('quiet');
  logger.debug('quieter');
  logger.warn('loud');
  expect(lines.map((l) => l.msg)).toEqual(['loud']);
  expect(() => parseLogLevel('verbose')).toThrow(
    'LOG_LEVEL: "verbose" is not a level; use one of TRACE, DEBUG, INFO, WARN, ERROR',
  );
  expect(parseLogLevel('debug')).toBe('DEBUG');
});

test("a child logger's fields appear on every line, masked like any other field", () => {
  const { logger, lines } = capture();
  const child = logger.child({ workflowId: 'provision:a:B', notifyToken: 'nt-secret' });
  child.info('one');
  child.child({ stage: 'installing' }).info('two');
  expect(lines).toEqual([
    expect.objectContaining({ msg: 'one', workflowId: 'provision:a:B', notifyToken: '[redacted]' }),
    expect.objectContaining({ msg: 'two', workflowId: 'provision:a:B', stage: 'installing' }),
  ]);
  expect(JSON.stringify(lines)).not.toContain('nt-secret');
});

test("a field the logger carries and the call passes too (the SDK's taskQueue) is written once per line", () => {
  const raw: string[] = [];
  const logger = createLogger({ service: 'worker', base: { taskQueue: 'q1' }, write: (l) => raw.push(l) });
  logger.info('Workflow bundle created', { sdkComponent: 'worker', taskQueue: 'q1' });
  logger.child({ workflowId: 'w1' }).info('Activity completed', { taskQueue: 'q1', workflowId: 'w1' });
  logger.info('worker ready');
  // JSON.parse keeps the last of two equal keys, so count them in the text itself.
  for (const line of raw) expect([line, line.match(/"taskQueue"/g)?.length]).toEqual([line, 1]);
  expect(raw[1]!.match(/"workflowId"/g)).toHaveLength(1);
  expect(raw.map((l) => (JSON.parse(l) as { taskQueue: string }).taskQueue)).toEqual(['q1', 'q1', 'q1']);
});

test('a workflow cancelled on request ends in one INFO line with the reason; other failures stay WARNs with the error', () => {
  const { logger, lines } = capture();
  const sdk = withCancelsAsInfo(logger);
  // As the worker's thread receives them: the stage line with its error's type, then the SDK's line, whose error
  // crossed from the workflow thread as a plain Error.
  const asReceived = (e: Error) => ({ name: 'Error', message: e.message, stack: e.stack });
  const cancelled = ApplicationFailure.create({ type: 'Cancelled', message: 'customer left', nonRetryable: true });
  sdk.info('stage cancelled', {
    runId: 'r1',
    stage: 'cancelled',
    error: { type: 'Cancelled', message: 'customer left' },
  });
  sdk.warn('Workflow failed', { runId: 'r1', workflowId: 'provision:a:B', error: asReceived(cancelled) });
  const expired = ApplicationFailure.create({ type: 'ConsentExpired', message: 'no consent', nonRetryable: true });
  sdk.info('stage expired', {
    runId: 'r2',
    stage: 'expired',
    error: { type: 'ConsentExpired', message: 'no consent' },
  });
  sdk.warn('Workflow failed', { runId: 'r2', error: asReceived(expired) });
  expect(lines.map((l) => [l.level, l.msg])).toEqual([
    ['info', 'stage cancelled'],
    ['info', 'Workflow ended: cancelled on request'],
    ['info', 'stage expired'],
    ['warn', 'Workflow failed'],
  ]);
  expect(lines[1]).toMatchObject({ runId: 'r1', workflowId: 'provision:a:B', reason: 'customer left' });
  expect(lines[1]).not.toHaveProperty('error');
  expect(lines[3]).toHaveProperty('error.stack');
});

test('pretty lines (a terminal, or LOG_FORMAT=pretty) are readable text with the same masking', () => {
  const out: string[] = [];
  const logger = createLogger({ service: 'stack', level: 'INFO', pretty: true, write: (l) => out.push(l) });
  logger.warn('consent link https://gw.example/connect/eyJ3IjoicHJvdmlzaW9uIn0.c2lnbmF0dXJl', { authValue: 'k-9' });
  const text = out.join('');
  expect(text).toMatch(/WARN.*consent link https:\/\/gw\.example\/connect\/\[redacted\]/);
  expect(text).not.toMatch(/eyJ3Ijoi|k-9/);
  expect(() => JSON.parse(text)).toThrow();
  // Each process's configuration reads LOG_FORMAT (and LOG_LEVEL) and passes them to createLogger.
  const log = (env: NodeJS.ProcessEnv) => loadConfig('codec', { NODE_ENV: 'development', ...env }).log;
  expect(log({ LOG_FORMAT: 'pretty' }).pretty).toBe(true);
  expect(log({ LOG_FORMAT: 'json' }).pretty).toBe(false);
  expect(log({}).pretty).toBeUndefined();
  expect(() => log({ LOG_FORMAT: 'colour' })).toThrow('LOG_FORMAT: "colour" is not a format; use json or pretty');
  expect(log({ LOG_LEVEL: 'debug' }).level).toBe('DEBUG');
  expect(() => log({ LOG_LEVEL: 'verbose' })).toThrow(
    'LOG_LEVEL: "verbose" is not a level; use one of TRACE, DEBUG, INFO, WARN, ERROR',
  );
});

test("fastify's request logs, through pinoLineStream, come out in our format with the same masking", async () => {
  const lines: Record<string, unknown>[] = [];
  const stream = pinoLineStream({
    service: 'gateway',
    level: 'INFO',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
    now: () => new Date('2026-01-02T03:04:05.000Z'),
  });
  const app = Fastify({ logger: { level: 'info', stream } });
  app.get('/x', async (request) => {
    request.log.warn({ authValue: 'k-secret' }, 'saw https://a.example/cb?state=s3cret');
    return {};
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  await fetch(`${url}/x`);
  await app.close();
  const warn = lines.find((l) => l.level === 'warn');
  expect(warn).toMatchObject({
    ts: '2026-01-02T03:04:05.000Z',
    service: 'gateway',
    msg: 'saw https://a.example/cb?state=[redacted]',
    authValue: '[redacted]',
  });
  expect(warn).not.toHaveProperty('pid');
  expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
  expect(JSON.stringify(lines)).not.toMatch(/k-secret|s3cret/);
});
