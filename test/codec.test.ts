/**
 * The payload codec: what reaches Temporal is AES-256-GCM ciphertext tagged with its key id, old keys still decrypt
 * after rotation, plaintext from other tools passes through, and tampering or a missing key is a clear error.
 */
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { EncryptionCodec } from '../src/codec/encryption-codec.js';
import { loadConfig } from '../src/config.js';
import { dataConverter } from '../src/temporal/connection.js';

const k1 = { id: 'k1', secret: 'first-payload-key-0123456789' };
const k2 = { id: 'k2', secret: 'second-payload-key-0123456789' };
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const SECRET_REQUEST = { accountId: 'acme', authValue: 'sk_live_very-secret-api-key' };

function payloadOf(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value)!;
}

test('a round trip returns the original payload, and the stored form is ciphertext naming its key', async () => {
  const codec = new EncryptionCodec([k1]);
  const original = payloadOf(SECRET_REQUEST);
  const [encoded] = await codec.encode([original]);
  expect(text(encoded!.metadata![METADATA_ENCODING_KEY])).toBe('binary/encrypted');
  expect(text(encoded!.metadata!['encryption-key-id'])).toBe('k1');
  expect(Buffer.from(encoded!.data!).toString('latin1')).not.toContain('sk_live_very-secret-api-key');
  expect(Buffer.from(encoded!.data!).toString('latin1')).not.toContain('json/plain');

  const [decoded] = await codec.decode([encoded!]);
  expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(SECRET_REQUEST);
});

test('the same value encrypts differently each time (a fresh IV per payload)', async () => {
  const codec = new EncryptionCodec([k1]);
  const [a, b] = await codec.encode([payloadOf('same'), payloadOf('same')]);
  expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
});

test('after rotation ("k2,k1") old payloads still decrypt and new ones are written with k2', async () => {
  const before = new EncryptionCodec([k1]);
  const [old] = await before.encode([payloadOf(SECRET_REQUEST)]);

  const rotated = new EncryptionCodec([k2, k1]);
  const [fromOld] = await rotated.decode([old!]);
  expect(defaultPayloadConverter.fromPayload(fromOld!)).toEqual(SECRET_REQUEST);

  const [fresh] = await rotated.encode([payloadOf('new')]);
  expect(text(fresh!.metadata!['encryption-key-id'])).toBe('k2');
  // A process still on the old key alone cannot read it, and says which key it lacks.
  await expect(before.decode([fresh!])).rejects.toThrow(/key "k2".*PAYLOAD_ENCRYPTION_KEY does not hold/);
});

test('rotation through the environment: PAYLOAD_ENCRYPTION_KEY="k2:...,k1:..." encrypts with k2 and reads k1', async () => {
  const env = { PAYLOAD_ENCRYPTION_KEY: `k2:${k2.secret},k1:${k1.secret}` };
  const codec = dataConverter(loadConfig('client', env)).payloadCodecs![0]!;
  const [old] = await new EncryptionCodec([k1]).encode([payloadOf(42)]);
  expect(defaultPayloadConverter.fromPayload((await codec.decode([old!]))[0]!)).toBe(42);
  const [fresh] = await codec.encode([payloadOf(43)]);
  expect(text(fresh!.metadata!['encryption-key-id'])).toBe('k2');
});

test('payloads that arrive unencrypted (e.g. from the plain Temporal CLI) pass through untouched', async () => {
  const codec = new EncryptionCodec([k1]);
  const plain = payloadOf({ accountId: 'from-cli' });
  const binaryNull = defaultPayloadConverter.toPayload(undefined)!;
  const [a, b] = await codec.decode([plain, binaryNull]);
  expect(a).toBe(plain);
  expect(defaultPayloadConverter.fromPayload(a!)).toEqual({ accountId: 'from-cli' });
  expect(b).toBe(binaryNull);
});

test('tampered ciphertext is refused with a message naming the cause, never decoded to garbage', async () => {
  const codec = new EncryptionCodec([k1]);
  const [encoded] = await codec.encode([payloadOf(SECRET_REQUEST)]);
  const data = Buffer.from(encoded!.data!);
  data[20] ^= 0x01; // one flipped bit in the ciphertext
  await expect(codec.decode([{ ...encoded!, data }])).rejects.toThrow(/key "k1" failed authentication: it was altered/);

  const truncated = Buffer.from(encoded!.data!).subarray(0, 10);
  await expect(codec.decode([{ ...encoded!, data: truncated }])).rejects.toThrow(/truncated/);
});

test('a key id the process does not hold gives a clear error that says what to configure', async () => {
  const [encoded] = await new EncryptionCodec([k1]).encode([payloadOf(SECRET_REQUEST)]);
  const err = await new EncryptionCodec([k2]).decode([encoded!]).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err?.message).toMatch(/encrypted with key "k1", which PAYLOAD_ENCRYPTION_KEY does not hold/);
  expect(err?.message).toMatch(/keep retired keys after the current one/);
  // The error never carries key material.
  expect(err?.message).not.toContain(k1.secret);
  expect(err?.message).not.toContain(k2.secret);
});

test('the same key id with a different secret is refused, not silently misread', async () => {
  const [encoded] = await new EncryptionCodec([k1]).encode([payloadOf(SECRET_REQUEST)]);
  const impostor = new EncryptionCodec([{ id: 'k1', secret: 'not-the-first-key-but-same-id' }]);
  await expect(impostor.decode([encoded!])).rejects.toThrow(/key "k1" in PAYLOAD_ENCRYPTION_KEY is not the secret/);
});
