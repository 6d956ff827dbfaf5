/** The AES-256-GCM keys of the payload codec and the batch store, from PAYLOAD_ENCRYPTION_KEY. */
import { createHash } from 'node:crypto';
import type { Key } from '../config.js';

/** Keys by id; a secret of any length is stretched to 256 bits with SHA-256. */
export function aesKeysById(keys: readonly Key[]): Map<string, Buffer> {
  return new Map(keys.map((k) => [k.id, createHash('sha256').update(k.secret).digest()]));
}
