/**
 * Engage payload encryption, as Voyado documents it for Soft identification and reuses for
 * webhooks: payload = base64url(IV[16] ‖ AES-256-CBC/PKCS#7(UTF-8 JSON)), key = the 32 ASCII
 * bytes of a 32-character alphanumeric shared key.
 *
 * CBC has no integrity of its own: receivers must verify the webhook signature before decrypting,
 * which also keeps padding-oracle probing out of reach.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EngageError } from './errors.js';

const KEY_PATTERN = /^[A-Za-z0-9]{32}$/;
// Either alphabet (Voyado says URL-safe; be lenient with standard base64), optional padding.
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]*={0,2}$/;
const IV_BYTES = 16;
const BLOCK_BYTES = 16;

const keyBrand: unique symbol = Symbol('EngageKey');

/** A validated shared key, parsed once and reusable across calls. */
export interface EngageKey {
  readonly [keyBrand]: Buffer;
}

export type EngageKeyInput = string | EngageKey;

/** Validates a shared key (32 characters, a-z A-Z 0-9) and returns a reusable key object. */
export function parseEncryptionKey(key: string): EngageKey {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new EngageError('invalid_key', 'the Engage encryption key must be 32 characters of a-z, A-Z, 0-9');
  }
  return { [keyBrand]: Buffer.from(key, 'ascii') };
}

function keyBytes(key: EngageKeyInput): Buffer {
  return typeof key === 'string' ? parseEncryptionKey(key)[keyBrand] : key[keyBrand];
}

/** Random 32-character alphanumeric key, for tests and for tenants setting up encryption. */
export function generateEncryptionKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  // Rejection sampling keeps the distribution uniform (256 is not a multiple of 62).
  while (out.length < 32) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && out.length < 32) out += alphabet[byte % 62];
    }
  }
  return out;
}

/** Encrypts a plaintext (normally JSON text) to base64url(IV ‖ ciphertext). A fresh random IV unless one is given. */
export function encryptPayload(plaintext: string, key: EngageKeyInput, iv?: Uint8Array): string {
  const ivBytes = iv ?? randomBytes(IV_BYTES);
  if (ivBytes.length !== IV_BYTES) {
    throw new RangeError(`the IV must be ${IV_BYTES} bytes`);
  }
  const cipher = createCipheriv('aes-256-cbc', keyBytes(key), ivBytes);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([ivBytes, body]).toString('base64url');
}

function decodeBase64(data: string): Buffer {
  // Buffer.from(…, 'base64') silently skips bad characters; check first so garbage is refused.
  const unpadded = data.replace(/=+$/, '');
  if (!BASE64_PATTERN.test(data) || unpadded.length % 4 === 1) {
    throw new EngageError('invalid_ciphertext', 'the encrypted payload is not base64url or base64');
  }
  return Buffer.from(unpadded, 'base64');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decrypts base64url (or standard base64) IV ‖ ciphertext back to the plaintext string. */
export function decryptPayload(data: string, key: EngageKeyInput): string {
  const k = keyBytes(key);
  if (typeof data !== 'string') {
    throw new EngageError('invalid_ciphertext', 'the encrypted payload must be a string');
  }
  const raw = decodeBase64(data);
  if (raw.length < IV_BYTES + BLOCK_BYTES || (raw.length - IV_BYTES) % BLOCK_BYTES !== 0) {
    throw new EngageError('invalid_ciphertext', 'the encrypted payload has the wrong length for IV ‖ AES-CBC');
  }
  try {
    const decipher = createDecipheriv('aes-256-cbc', k, raw.subarray(0, IV_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES)), decipher.final()]);
    return utf8.decode(plain);
  } catch (cause) {
    // Bad padding or invalid UTF-8: almost always the wrong key.
    throw new EngageError('invalid_ciphertext', 'the encrypted payload could not be decrypted (wrong key?)', { cause });
  }
}

/** Decrypts and parses the JSON payload. */
export function decryptPayloadJson(data: string, key: EngageKeyInput): unknown {
  const text = decryptPayload(data, key);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new EngageError('invalid_payload_json', 'the decrypted payload is not JSON', { cause });
  }
}
