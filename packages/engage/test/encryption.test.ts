import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decryptPayload, decryptPayloadJson, EngageError, encryptPayload, generateEncryptionKey, parseEncryptionKey } from '../src/index.js';

interface EncryptionVector {
  key: string;
  ivHex: string;
  plaintext: string;
  ciphertext: string;
}
const vectors: EncryptionVector[] = JSON.parse(readFileSync(new URL('./vectors/engage-encryption.json', import.meta.url), 'utf8')).engageEncryption;

function toStandardBase64(b64url: string): string {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  return b64.padEnd(Math.ceil(b64.length / 4) * 4, '=');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngageError) return err.code;
    throw err;
  }
  return undefined;
}

describe('Engage payload encryption vectors', () => {
  it('has vectors to check', () => {
    expect(vectors.length).toBeGreaterThan(0);
  });

  for (const [i, v] of vectors.entries()) {
    it(`vector ${i}: decrypts base64url to the plaintext byte for byte`, () => {
      expect(decryptPayload(v.ciphertext, v.key)).toBe(v.plaintext);
    });

    it(`vector ${i}: decrypts the standard base64 form too`, () => {
      const standard = toStandardBase64(v.ciphertext);
      expect(standard).not.toBe(v.ciphertext);
      expect(decryptPayload(standard, v.key)).toBe(v.plaintext);
    });

    it(`vector ${i}: encrypting with the vector IV gives the vector ciphertext`, () => {
      expect(encryptPayload(v.plaintext, v.key, Buffer.from(v.ivHex, 'hex'))).toBe(v.ciphertext);
    });

    it(`vector ${i}: a parsed key object works the same as the string`, () => {
      const key = parseEncryptionKey(v.key);
      expect(decryptPayload(v.ciphertext, key)).toBe(v.plaintext);
      expect(decryptPayloadJson(v.ciphertext, key)).toEqual(JSON.parse(v.plaintext));
    });
  }
});

describe('encryptPayload', () => {
  const key = generateEncryptionKey();

  it('uses a fresh IV per message and round-trips unicode', () => {
    const text = JSON.stringify({ name: 'Åsa Ölund', emoji: '🎉' });
    const a = encryptPayload(text, key);
    const b = encryptPayload(text, key);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
    expect(decryptPayload(a, key)).toBe(text);
    expect(decryptPayload(b, key)).toBe(text);
  });

  it('refuses an IV that is not 16 bytes', () => {
    expect(() => encryptPayload('{}', key, new Uint8Array(8))).toThrow(RangeError);
  });
});

describe('keys', () => {
  it('generates 32-character alphanumeric keys', () => {
    const keys = new Set(Array.from({ length: 50 }, generateEncryptionKey));
    expect(keys.size).toBe(50);
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it.each([
    ['too short', 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp'],
    ['too long', 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp22'],
    ['special character', 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBC+2'],
    ['empty', ''],
  ])('refuses a key that is %s', (_label, bad) => {
    expect(codeOf(() => parseEncryptionKey(bad))).toBe('invalid_key');
    expect(codeOf(() => decryptPayload(vectors[0].ciphertext, bad))).toBe('invalid_key');
  });
});

describe('decryptPayload refuses unreadable input', () => {
  const v = vectors[0];

  it('with the wrong key', () => {
    // A wrong key passes PKCS#7 by chance about 1 time in 256; fixed keys keep this deterministic.
    expect(codeOf(() => decryptPayload(v.ciphertext, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'))).toBe('invalid_ciphertext');
  });

  it.each([
    ['characters outside base64', `${v.ciphertext.slice(0, 40)}!${v.ciphertext.slice(41)}`],
    ['whitespace inside', `${v.ciphertext.slice(0, 40)} ${v.ciphertext.slice(40)}`],
    ['truncated to a partial block', v.ciphertext.slice(0, v.ciphertext.length - 4)],
    ['only an IV', Buffer.alloc(16).toString('base64url')],
    ['empty', ''],
    ['an impossible base64 length', 'AAAAA'],
  ])('%s', (_label, bad) => {
    expect(codeOf(() => decryptPayload(bad, v.key))).toBe('invalid_ciphertext');
  });

  it('reports non-JSON plaintext separately', () => {
    const notJson = encryptPayload('not json', v.key);
    expect(decryptPayload(notJson, v.key)).toBe('not json');
    expect(codeOf(() => decryptPayloadJson(notJson, v.key))).toBe('invalid_payload_json');
  });
});
