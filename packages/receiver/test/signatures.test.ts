// Every case of the shared signature vectors (copied to ./vectors), at the vector's own clock.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sign, verify, type VerificationFailureReason } from '../src/index.js';
import { reasonOf } from './helpers.js';

interface Positive {
  secret: string;
  id: string;
  timestamp: number;
  body: string;
  signature: string;
}
interface Negative {
  case: string;
  from: number;
  id?: string;
  body?: string;
  signature?: string;
  verifyAt?: number;
  reason: string | null;
  expect?: 'accept';
}
const vectors: { positive: Positive[]; negative: Negative[] } = JSON.parse(readFileSync(new URL('./vectors/signatures.json', import.meta.url), 'utf8'));

// The vectors name reasons in prose; these are our stable codes for them.
const REASONS: Record<string, VerificationFailureReason> = {
  'no matching signature': 'no_matching_signature',
  'timestamp too old': 'timestamp_too_old',
  'timestamp too new': 'timestamp_too_new',
  'missing signature': 'missing_headers',
};

function headersFor(id: string, timestamp: number, signature: string): Record<string, string> {
  return { 'svix-id': id, 'svix-timestamp': String(timestamp), 'svix-signature': signature };
}

describe('positive signature vectors', () => {
  it('has vectors', () => expect(vectors.positive.length).toBeGreaterThanOrEqual(3));

  for (const v of vectors.positive) {
    it(`${v.id}: verify accepts at its own timestamp`, () => {
      const payload = verify(v.body, headersFor(v.id, v.timestamp, v.signature), v.secret, {
        now: () => v.timestamp * 1000,
      });
      expect(payload).toEqual(JSON.parse(v.body));
    });

    it(`${v.id}: sign reproduces the signature`, () => {
      expect(sign({ id: v.id, timestamp: v.timestamp, body: v.body, secrets: v.secret })).toBe(v.signature);
    });
  }
});

describe('negative signature vectors', () => {
  for (const n of vectors.negative) {
    it(n.case, () => {
      const base = vectors.positive[n.from];
      const id = n.id ?? base.id;
      const body = n.body ?? base.body;
      const signature = n.signature ?? base.signature;
      const at = n.verifyAt ?? base.timestamp;
      const outcome = reasonOf(() => verify(body, headersFor(id, base.timestamp, signature), base.secret, { now: () => at * 1000 }));
      if (n.expect === 'accept') {
        expect(outcome).toBe('accepted');
      } else {
        expect(REASONS[n.reason as string], `unmapped reason ${n.reason}`).toBeDefined();
        expect(outcome).toBe(REASONS[n.reason as string]);
      }
    });
  }

  it('accepts exactly at the ±300 s edges', () => {
    const v = vectors.positive[0];
    for (const at of [v.timestamp - 300, v.timestamp + 300]) {
      expect(reasonOf(() => verify(v.body, headersFor(v.id, v.timestamp, v.signature), v.secret, { now: () => at * 1000 }))).toBe('accepted');
    }
  });
});
