// The sealer (secrets at rest): AES-256-GCM under the master key, a fresh nonce per value.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sealer } from '../src/security/sealer.js';

describe('sealer', () => {
  it('gives every sealed value its own nonce, across refills of the nonce pool, and opens each one', () => {
    const sealer = new Sealer(randomBytes(32));
    const nonces = new Set<string>();
    // 2,000 seals span several refills of the pool (341 nonces each).
    for (let i = 0; i < 2000; i++) {
      const sealed = sealer.seal(`secret ${i}`);
      const raw = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64');
      nonces.add(raw.subarray(0, 12).toString('hex'));
      expect(sealer.unseal(sealed)).toBe(`secret ${i}`);
    }
    expect(nonces.size).toBe(2000);
    // The same plaintext twice seals to two different values.
    expect(sealer.seal('same')).not.toBe(sealer.seal('same'));
  });

  it('refuses a value whose ciphertext was changed', () => {
    const sealer = new Sealer(randomBytes(32));
    const sealed = sealer.seal('whsec_abc');
    const at = sealed.lastIndexOf(':') + 1;
    const raw = Buffer.from(sealed.slice(at), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => sealer.unseal(sealed.slice(0, at) + raw.toString('base64'))).toThrow();
  });
});
