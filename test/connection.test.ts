/**
 * Temporal Cloud (or any TLS cluster) from configuration alone: an API key, or a client certificate and key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { connectionOptions } from '../src/temporal/connection.js';

const cloud = { TEMPORAL_ADDRESS: 'acme-prod.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'acme-prod.a1b2c' };

test('an API key turns on TLS and sends the key and the namespace header', () => {
  const options = connectionOptions(
    loadConfig('client', { NODE_ENV: 'development', ...cloud, TEMPORAL_API_KEY: 'cloud-api-key-value' }),
  );
  expect(options).toEqual({
    address: 'acme-prod.a1b2c.tmprl.cloud:7233',
    tls: true,
    apiKey: 'cloud-api-key-value',
    metadata: { 'temporal-namespace': 'acme-prod.a1b2c' },
  });
});

test('a client certificate and key give mutual TLS with the files read at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  writeFileSync(join(dir, 'client.pem'), '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'client.key'), '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
  const options = connectionOptions(
    loadConfig('client', {
      NODE_ENV: 'development',
      ...cloud,
      TEMPORAL_TLS_CERT_PATH: join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY_PATH: join(dir, 'client.key'),
    }),
  );
  expect(options.address).toBe(cloud.TEMPORAL_ADDRESS);
  expect(options.apiKey).toBeUndefined();
  const tls = options.tls as { clientCertPair: { crt: Buffer; key: Buffer } };
  expect(tls.clientCertPair.crt.toString()).toContain('BEGIN CERTIFICATE');
  expect(tls.clientCertPair.key.toString()).toContain('BEGIN PRIVATE KEY');
});

test('a local server needs neither: plain connection', () => {
  expect(connectionOptions(loadConfig('client', { NODE_ENV: 'development' }))).toEqual({
    address: 'localhost:7233',
    tls: undefined,
    apiKey: undefined,
    metadata: undefined,
  });
});
