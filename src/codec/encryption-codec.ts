/**
 * AES-256-GCM payload codec: workflow inputs, results, and messages are encrypted before they reach Temporal, so
 * AuthValues and sign-in URLs are never stored in plain text. The key id travels in the metadata so payloads
 * written under an old key still decrypt after rotation. Payloads that arrive unencrypted (e.g. from the plain
 * Temporal CLI) pass through untouched, except in a production worker (`refusePlaintext`): there a payload without
 * the key, which anyone with access to Temporal could write, is refused rather than acted on.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Key } from '../config.js';
import { aesKeysById } from './aes-keys.js';

const { temporal } = proto; // a CommonJS module: named imports do not work under ESM
const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly current: { id: string; key: Buffer };

  /** `keys[0]` encrypts; every key decrypts. A secret of any length is stretched to 256 bits with SHA-256. */
  constructor(
    keys: readonly Key[],
    private readonly options: { refusePlaintext?: boolean } = {},
  ) {
    if (!keys.length) throw new Error('EncryptionCodec needs at least one key');
    this.keys = aesKeysById(keys);
    this.current = { id: keys[0]!.id, key: this.keys.get(keys[0]!.id)! };
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCODING), [KEY_ID]: encoder.encode(this.current.id) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCODING) {
        if (!this.options.refusePlaintext) return payload;
        throw new Error(
          'payload is not encrypted: a production worker takes only payloads encrypted with PAYLOAD_ENCRYPTION_KEY; ' +
            'start and signal provisionings with the provisioner CLI, the gateway or the client package',
        );
      }
      const keyIdBytes = payload.metadata?.[KEY_ID];
      const keyId = keyIdBytes ? decoder.decode(keyIdBytes) : '';
      const key = this.keys.get(keyId);
      if (!key) {
        throw new Error(
          `payload encrypted with key "${keyId}", which PAYLOAD_ENCRYPTION_KEY does not hold; keep retired keys after the current one ("new:secret,${keyId || 'old'}:secret")`,
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const iv = data.subarray(0, IV_BYTES);
      const tag = data.subarray(data.length - TAG_BYTES);
      if (data.length < IV_BYTES + TAG_BYTES) {
        throw new Error(
          `payload encrypted with key "${keyId}" is truncated (${data.length} bytes); it was altered in storage or transit`,
        );
      }
      let plain: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAuthTag(tag);
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        // GCM's own message ("unable to authenticate data") names neither the cause nor the key.
        throw new Error(
          `payload encrypted with key "${keyId}" failed authentication: it was altered, or key "${keyId}" in PAYLOAD_ENCRYPTION_KEY is not the secret it was encrypted with`,
        );
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
