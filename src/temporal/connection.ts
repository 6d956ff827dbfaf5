/** One place that turns configuration into Temporal connections and the data converter every process shares. */
import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from '../codec/encryption-codec.js';
import type { Config } from '../config.js';

export function dataConverter(config: Pick<Config, 'payloadKeys'>): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(config.payloadKeys)] };
}

/** Address, TLS (mutual or server-only) and API key: enough for a self-hosted cluster or Temporal Cloud. */
/** The options both the client's Connection and the worker's NativeConnection accept. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export function connectionOptions(config: Pick<Config, 'temporal'>): TemporalConnectionOptions {
  const t = config.temporal;
  const clientCert =
    t.tlsCertPath && t.tlsKeyPath ? { crt: readFileSync(t.tlsCertPath), key: readFileSync(t.tlsKeyPath) } : undefined;
  return {
    address: t.address,
    tls: t.tls ? (clientCert ? { clientCertPair: clientCert } : true) : undefined,
    apiKey: t.apiKey,
    metadata: t.apiKey ? { 'temporal-namespace': t.namespace } : undefined,
  };
}

/** Lazy: a gateway or CLI starts even while Temporal is down, and each call reports the outage itself. */
export async function connectClient(config: Pick<Config, 'temporal' | 'payloadKeys'>): Promise<Client> {
  const connection = Connection.lazy(connectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) });
}
