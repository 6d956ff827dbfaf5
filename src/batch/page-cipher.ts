/**
 * AES-256-GCM for batch pages at rest: rows carry secrets (authValue), so the store never holds them in plain
 * text. Same keys as the payload codec (PAYLOAD_ENCRYPTION_KEY): the first encrypts, every key decrypts. The page's
 * identity is bound in as additional data, so a page cannot be swapped for another batch's or another page's.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { aesKeysById } from '../codec/aes-keys.js';
import type { Key } from '../config.js';

const IV_BYTES = 12;

export interface SealedPage {
  v: 1;
  keyId: string;
  iv: string;
  data: string;
  tag: string;
}

export class PageCipher {
  private readonly keys: Map<string, Buffer>;
  private readonly current: string;

  constructor(keys: readonly Key[]) {
    if (!keys.length) throw new Error('the batch store needs PAYLOAD_ENCRYPTION_KEY');
    this.keys = aesKeysById(keys);
    this.current = keys[0]!.id;
  }

  seal(plain: string, aad: string): SealedPage {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.current)!, iv);
    cipher.setAAD(Buffer.from(aad));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return {
      v: 1,
      keyId: this.current,
      iv: iv.toString('base64'),
      data: data.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  }

  open(sealed: SealedPage, aad: string): string {
    const key = this.keys.get(sealed.keyId);
    if (!key)
      throw new Error(`batch page encrypted with key "${sealed.keyId}", which PAYLOAD_ENCRYPTION_KEY does not hold`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  }
}
