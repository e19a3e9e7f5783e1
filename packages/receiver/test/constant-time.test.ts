// verify compares HMAC signatures in constant time. Timing itself is not asserted (no timing
// assertions in tests, and a shared machine would make them flaky); instead node:crypto's
// timingSafeEqual is wrapped in a spy that still does the real comparison, and the test proves
// every candidate v1 signature goes through it, a near miss included. Replacing it with `===`,
// Buffer#equals or an early-exit loop fails this test.
import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { reasonOf } from './helpers.js';

const spy = vi.hoisted(() => ({ calls: [] as [Buffer, Buffer][] }));

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      spy.calls.push([Buffer.from(a as Uint8Array), Buffer.from(b as Uint8Array)]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const { generateSecret, sign, verify } = await import('../src/index.js');

const T = 1_700_000_000;
const BODY = '{"eventId":"e1","eventType":"contact.deleted","isEncrypted":false,"payload":{"contactId":"c1"},"tenant":"acme"}';
const opts = { now: () => T * 1000 };

function digest(secret: string, id: string): Buffer {
  return createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${T}.${BODY}`)
    .digest();
}

describe('constant-time signature comparison', () => {
  beforeEach(() => {
    spy.calls.length = 0;
  });

  it('a matching v1 signature is found through timingSafeEqual', () => {
    const secret = generateSecret();
    const signature = sign({ id: 'msg_1', timestamp: T, body: BODY, secrets: secret });
    const headers = { 'svix-id': 'msg_1', 'svix-timestamp': String(T), 'svix-signature': signature };
    expect(reasonOf(() => verify(BODY, headers, secret, opts))).toBe('accepted');
    expect(spy.calls).toHaveLength(1);
    const [given, expected] = spy.calls[0];
    expect(given.equals(digest(secret, 'msg_1'))).toBe(true);
    expect(expected.equals(digest(secret, 'msg_1'))).toBe(true);
  });

  it('a near miss (last bit flipped) is compared in constant time too, and refused', () => {
    const secret = generateSecret();
    const good = digest(secret, 'msg_2');
    const near = Buffer.from(good);
    near[near.length - 1] ^= 1;
    const headers = { 'svix-id': 'msg_2', 'svix-timestamp': String(T), 'svix-signature': `v1,${near.toString('base64')}` };
    expect(reasonOf(() => verify(BODY, headers, secret, opts))).toBe('no_matching_signature');
    expect(spy.calls).toHaveLength(1);
    expect(spy.calls[0][0].equals(near)).toBe(true);
  });

  it('every v1 entry is compared against every HMAC secret through timingSafeEqual when none match', () => {
    const secrets = [generateSecret(), generateSecret()];
    const wrong = [generateSecret(), generateSecret(), generateSecret()].map((s) => `v1,${digest(s, 'msg_3').toString('base64')}`);
    const headers = { 'svix-id': 'msg_3', 'svix-timestamp': String(T), 'svix-signature': wrong.join(' ') };
    expect(reasonOf(() => verify(BODY, headers, secrets, opts))).toBe('no_matching_signature');
    expect(spy.calls).toHaveLength(secrets.length * wrong.length);
  });
});
