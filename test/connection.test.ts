/**
 * Temporal Cloud (or any TLS cluster) from configuration alone, by Temporal's own setting names: an API key, or a
 * client certificate and key with the server's CA and name.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
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

test('a client certificate, the server CA and the server name give mutual TLS with the files read at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  writeFileSync(join(dir, 'client.pem'), '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'client.key'), '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
  writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
  const options = connectionOptions(
    loadConfig('client', {
      NODE_ENV: 'development',
      ...cloud,
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    }),
  );
  expect(options.address).toBe(cloud.TEMPORAL_ADDRESS);
  expect(options.apiKey).toBeUndefined();
  const tls = options.tls as {
    clientCertPair: { crt: Buffer; key: Buffer };
    serverRootCACertificate: Buffer;
    serverNameOverride: string;
  };
  expect(tls.clientCertPair.crt.toString()).toContain('\ncert\n');
  expect(tls.clientCertPair.key.toString()).toContain('\nkey\n');
  expect(tls.serverRootCACertificate.toString()).toContain('\nca\n');
  expect(tls.serverNameOverride).toBe('temporal.internal');
});

test('a TEMPORAL_CONFIG_FILE profile fills what the environment leaves unset, as for the temporal CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-'));
  const file = join(dir, 'temporal.toml');
  writeFileSync(
    file,
    '[profile.prod]\naddress = "prod.example:7233"\nnamespace = "prod"\n[profile.prod.tls]\nserver_name = "x.example"\n',
  );
  const config = loadConfig('client', {
    NODE_ENV: 'development',
    TEMPORAL_CONFIG_FILE: file,
    TEMPORAL_PROFILE: 'prod',
    TEMPORAL_NAMESPACE: 'other',
  });
  expect(config.temporal.address).toBe('prod.example:7233');
  expect(config.temporal.namespace).toBe('other');
  expect(config.temporal.tls).toMatchObject({ serverNameOverride: 'x.example' });
});

test('a missing file, half a certificate pair or a pre-envconfig name is one clear line naming the setting', () => {
  const problems = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig('client', { NODE_ENV: 'development', ...env });
    } catch (err) {
      return (err as ConfigError).problems;
    }
    throw new Error('expected a config error');
  };
  expect(problems({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nowhere/ca.pem' })).toEqual([
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH: no file at /nowhere/ca.pem',
  ]);
  expect(problems({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/nowhere/client.pem' })).toEqual([
    'TEMPORAL_TLS_CLIENT_KEY_PATH: is required with the other half of the client certificate pair',
    'TEMPORAL_TLS_CLIENT_CERT_PATH: no file at /nowhere/client.pem',
  ]);
  expect(problems({ TEMPORAL_TLS_CERT_PATH: '/x.pem' })).toEqual([
    "TEMPORAL_TLS_CERT_PATH: renamed: set TEMPORAL_TLS_CLIENT_CERT_PATH (Temporal's own name)",
  ]);
  expect(problems({ TEMPORAL_TLS: 'yes' })[0]).toMatch(/^TEMPORAL_TLS: must be "true" or "false"/);
});

test('a local server needs neither: plain connection', () => {
  expect(connectionOptions(loadConfig('client', { NODE_ENV: 'development' }))).toEqual({
    address: 'localhost:7233',
    tls: undefined,
    apiKey: undefined,
    metadata: undefined,
  });
});
