/** One place that turns configuration into Temporal connections and the data converter every process shares. */
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { fileURLToPath } from 'node:url';
import type { DataConverter, LoadedDataConverter, Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { EncryptionCodec } from '../codec/encryption-codec.js';
import type { Config } from '../config.js';

/**
 * Failures' messages and stack traces encoded as a payload, so the codec encrypts them too (failure-converter.cjs).
 * Every client and worker loads it by this path, and the workflow bundle is built with it (workflow-bundle.ts).
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** `refusePlaintext`: a production worker's, which refuses a payload that is not encrypted rather than act on it. */
export function dataConverter(
  config: Pick<Config, 'payloadKeys'>,
  options: { refusePlaintext?: boolean } = {},
): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(config.payloadKeys, options)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

type RawFailure = temporal.api.failure.v1.IFailure;

/**
 * A failure as Temporal stores it (read raw, e.g. a pending activity's last failure in a describe), with its messages
 * decrypted down its causes; the SDK does this itself for the failures it hands over as errors.
 */
export async function decodedFailure(converter: LoadedDataConverter, failure: RawFailure): Promise<RawFailure> {
  let message = failure.message;
  if (failure.encodedAttributes) {
    let payloads = [failure.encodedAttributes as Payload];
    for (const codec of [...converter.payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    message = converter.payloadConverter.fromPayload<{ message?: string }>(payloads[0]!).message ?? message;
  }
  return { ...failure, message, cause: failure.cause ? await decodedFailure(converter, failure.cause) : failure.cause };
}

/** The options both the client's Connection and the worker's NativeConnection accept. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** Address, TLS (server CA, server name, client certificate) and API key: a self-hosted cluster or Temporal Cloud. */
export function connectionOptions(config: Pick<Config, 'temporal'>): TemporalConnectionOptions {
  const { address, tls, apiKey, metadata } = config.temporal;
  return { address, tls, apiKey, metadata };
}

/** Lazy: a gateway or CLI starts even while Temporal is down, and each call reports the outage itself. */
export async function connectClient(config: Pick<Config, 'temporal' | 'payloadKeys'>): Promise<Client> {
  const connection = Connection.lazy(connectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) });
}
