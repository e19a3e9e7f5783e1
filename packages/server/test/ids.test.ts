// Ids: a prefix plus a 27-digit base62 KSUID (domain/ids.ts). The encoder works on 32-bit limbs for
// speed; these tests hold it to a plain BigInt encoding of the same 20 bytes, at the edges of the
// value range and for many random values, and check the ordering the cursors rely on.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { endIdFor, IdGenerator, idTimeMs, isIdOf, startIdFor } from '../src/domain/ids.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const EPOCH_S = 1_400_000_000;

/** The reference: the 20 bytes as one big-endian integer, in 27 base62 digits. */
function reference(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 27; i++) {
    out = ALPHABET[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out;
}

/** The bytes an id minted at `ms` with `payload` (15 bytes, top bit cleared by the generator) has. */
function bytesOf(ms: number, payload: Uint8Array): Uint8Array {
  const secs = Math.floor(ms / 1000) - EPOCH_S;
  const b = new Uint8Array(20);
  new DataView(b.buffer).setUint32(0, secs);
  b[4] = Math.floor(((ms % 1000) * 256) / 1000);
  b.set(payload, 5);
  b[5]! &= 0x7f;
  return b;
}

describe('ids', () => {
  it('encode as the BigInt reference does, at the edges and for random values', () => {
    const payloads = [new Uint8Array(15), new Uint8Array(15).fill(0xff), new Uint8Array(15).fill(0x01)];
    for (let i = 0; i < 2000; i++) payloads.push(new Uint8Array(randomBytes(15)));
    const instants = [EPOCH_S * 1000, EPOCH_S * 1000 + 999, Date.parse('2026-11-28T04:00:00.123Z'), (EPOCH_S + 0xffffffff) * 1000 + 999];
    for (const ms of instants) {
      for (const p of payloads) {
        // A fresh generator takes a fresh payload from its random source for its first id.
        const id = new IdGenerator(() => p).next('message', ms);
        expect(id).toBe(`msg_${reference(bytesOf(ms, p))}`);
        expect(isIdOf('message', id)).toBe(true);
        expect(idTimeMs('message', id)).toBe(ms - (ms % 1000) + Math.floor((Math.floor(((ms % 1000) * 256) / 1000) * 1000) / 256));
      }
    }
  });

  it('are strictly increasing within a millisecond slot and across slots, as strings', () => {
    const g = new IdGenerator((n) => new Uint8Array(n).fill(0xff));
    let prev = '';
    const t0 = Date.parse('2026-11-28T04:00:00Z');
    for (let i = 0; i < 5000; i++) {
      const id = g.ksuid(t0 + Math.floor(i / 100));
      expect(id > prev, `${id} after ${prev}`).toBe(true);
      prev = id;
    }
  });

  it('time bounds enclose every id minted in that millisecond', () => {
    const ms = Date.parse('2026-11-28T04:00:00.500Z');
    const ids = [new Uint8Array(15), new Uint8Array(15).fill(0xff)].map((p) => new IdGenerator(() => p).next('message', ms));
    for (const id of ids) {
      expect(id >= startIdFor('message', ms)).toBe(true);
      expect(id <= endIdFor('message', ms)).toBe(true);
    }
    expect(startIdFor('message', ms)).toBe(`msg_${reference(bytesOf(ms, new Uint8Array(15)))}`);
  });
});
