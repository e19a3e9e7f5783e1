import { createServer, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  createVerifier,
  generateKeyPair,
  generateSecret,
  parseSecret,
  sign,
  verify,
  verifyWebhook,
  WebhookVerificationError,
  type VerificationFailureReason,
} from '../src/index.js';
import { close, listen, reasonOf } from './helpers.js';

const T = 1_700_000_000;
const at = (seconds: number) => () => seconds * 1000;
const BODY = '{"eventId":"e1","eventType":"contact.deleted","isEncrypted":false,"payload":{"contactId":"c1"},"tenant":"acme"}';

function headers(secrets: Parameters<typeof sign>[0]['secrets'], opts: { id?: string; ts?: number; body?: string } = {}) {
  const id = opts.id ?? 'msg_1';
  const ts = opts.ts ?? T;
  return { 'svix-id': id, 'svix-timestamp': String(ts), 'svix-signature': sign({ id, timestamp: ts, body: opts.body ?? BODY, secrets }) };
}

describe('verify: headers', () => {
  const secret = generateSecret();
  const h = headers(secret);

  it('reads svix-* headers and returns the parsed payload', () => {
    expect(verify(BODY, h, secret, { now: at(T) })).toEqual(JSON.parse(BODY));
  });

  it('reads webhook-* headers', () => {
    const wh = { 'webhook-id': h['svix-id'], 'webhook-timestamp': h['svix-timestamp'], 'webhook-signature': h['svix-signature'] };
    expect(verify(BODY, wh, secret, { now: at(T) })).toEqual(JSON.parse(BODY));
  });

  it('matches header names in any case', () => {
    const mixed = { 'Svix-Id': h['svix-id'], 'SVIX-TIMESTAMP': h['svix-timestamp'], 'svix-Signature': h['svix-signature'] };
    expect(reasonOf(() => verify(BODY, mixed, secret, { now: at(T) }))).toBe('accepted');
  });

  it('accepts a fetch Headers instance', () => {
    expect(reasonOf(() => verify(BODY, new Headers(h), secret, { now: at(T) }))).toBe('accepted');
  });

  it('accepts node IncomingHttpHeaders from a real request', async () => {
    let seen: IncomingHttpHeaders | undefined;
    const server = createServer((req, res) => {
      seen = req.headers;
      res.end();
    });
    const url = await listen(server);
    try {
      await fetch(url, {
        method: 'POST',
        headers: { 'Svix-Id': h['svix-id'], 'Svix-Timestamp': h['svix-timestamp'], 'Svix-Signature': h['svix-signature'] },
        body: BODY,
      });
    } finally {
      await close(server);
    }
    expect(reasonOf(() => verify(BODY, seen!, secret, { now: at(T) }))).toBe('accepted');
  });

  it.each([
    ['no id', { 'svix-timestamp': String(T), 'svix-signature': h['svix-signature'] }],
    ['no timestamp', { 'svix-id': 'msg_1', 'svix-signature': h['svix-signature'] }],
    ['no signature', { 'svix-id': 'msg_1', 'svix-timestamp': String(T) }],
    ['an empty id', { ...h, 'svix-id': '' }],
    ['a blank signature', { ...h, 'svix-signature': '   ' }],
    ['no headers at all', {}],
  ])('refuses %s as missing_headers', (_label, bad) => {
    expect(reasonOf(() => verify(BODY, bad, secret, { now: at(T) }))).toBe('missing_headers');
  });

  it('does not mix header families', () => {
    const mixed = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(T), 'svix-signature': h['svix-signature'] };
    expect(reasonOf(() => verify(BODY, mixed, secret, { now: at(T) }))).toBe('missing_headers');
  });
});

describe('verify: timestamp', () => {
  const secret = generateSecret();

  it.each(['abc', '1.7e9', '-5', '', ' 1700000000', '17000000000000000'])('refuses timestamp %j', (ts) => {
    const h = { ...headers(secret), 'svix-timestamp': ts };
    const reason = reasonOf(() => verify(BODY, h, secret, { now: at(T) }));
    expect(reason).toBe(ts === '' ? 'missing_headers' : 'invalid_timestamp');
  });

  it('uses a configurable tolerance', () => {
    const h = headers(secret);
    expect(reasonOf(() => verify(BODY, h, secret, { now: at(T + 301) }))).toBe('timestamp_too_old');
    expect(reasonOf(() => verify(BODY, h, secret, { now: at(T + 301), toleranceSeconds: 600 }))).toBe('accepted');
    expect(reasonOf(() => verify(BODY, h, secret, { now: at(T - 61), toleranceSeconds: 60 }))).toBe('timestamp_too_new');
  });

  it('signs the header timestamp: changing it breaks the signature', () => {
    const h = { ...headers(secret), 'svix-timestamp': String(T + 1) };
    expect(reasonOf(() => verify(BODY, h, secret, { now: at(T) }))).toBe('no_matching_signature');
  });
});

describe('verify: signatures and secrets', () => {
  it('accepts any matching entry among several, and any of several secrets (rotation)', () => {
    const current = generateSecret();
    const previous = generateSecret();
    const signedWithPrevious = headers(previous);
    expect(reasonOf(() => verify(BODY, signedWithPrevious, [current, previous], { now: at(T) }))).toBe('accepted');
    expect(reasonOf(() => verify(BODY, signedWithPrevious, [current], { now: at(T) }))).toBe('no_matching_signature');
    const both = headers([current, previous]);
    expect(both['svix-signature'].split(' ')).toHaveLength(2);
    expect(reasonOf(() => verify(BODY, both, previous, { now: at(T) }))).toBe('accepted');
  });

  it('verifies v1a ed25519 with the whpk_ public key (and the whsk_ key)', () => {
    const pair = generateKeyPair();
    const h = headers(pair.secretKey);
    expect(h['svix-signature']).toMatch(/^v1a,/);
    expect(reasonOf(() => verify(BODY, h, pair.publicKey, { now: at(T) }))).toBe('accepted');
    expect(reasonOf(() => verify(BODY, h, pair.secretKey, { now: at(T) }))).toBe('accepted');
    expect(reasonOf(() => verify(BODY, h, generateKeyPair().publicKey, { now: at(T) }))).toBe('no_matching_signature');
    const tampered = headers(pair.secretKey, { body: BODY.replace('c1', 'c2') });
    expect(reasonOf(() => verify(BODY, tampered, pair.publicKey, { now: at(T) }))).toBe('no_matching_signature');
  });

  it('accepts a header mixing v1 and v1a entries with mixed secrets', () => {
    const hmac = generateSecret();
    const pair = generateKeyPair();
    const h = headers([hmac, pair.secretKey]);
    expect(h['svix-signature']).toMatch(/^v1,\S+ v1a,\S+$/);
    expect(reasonOf(() => verify(BODY, h, pair.publicKey, { now: at(T) }))).toBe('accepted');
    expect(reasonOf(() => verify(BODY, h, hmac, { now: at(T) }))).toBe('accepted');
  });

  it('does not accept an HMAC signature presented as v1a, or ed25519 as v1', () => {
    const hmac = generateSecret();
    const pair = generateKeyPair();
    const v1 = headers(hmac)['svix-signature'].slice(3);
    const v1a = headers(pair.secretKey)['svix-signature'].slice(4);
    const swapped = { ...headers(hmac), 'svix-signature': `v1a,${v1} v1,${v1a}` };
    expect(reasonOf(() => verify(BODY, swapped, [hmac, pair.publicKey], { now: at(T) }))).toBe('no_matching_signature');
  });

  it('ignores unknown versions and malformed entries but still finds a good one', () => {
    const secret = generateSecret();
    const good = headers(secret)['svix-signature'];
    const h = { ...headers(secret), 'svix-signature': `v2,abc garbage v1,short ${good}` };
    expect(reasonOf(() => verify(BODY, h, secret, { now: at(T) }))).toBe('accepted');
  });

  it('accepts secrets without the whsec_ prefix, as raw bytes, or pre-parsed', () => {
    const secret = generateSecret();
    const h = headers(secret);
    const bare = secret.slice('whsec_'.length);
    for (const s of [bare, Buffer.from(bare, 'base64'), parseSecret(secret)]) {
      expect(reasonOf(() => verify(BODY, h, s, { now: at(T) }))).toBe('accepted');
    }
  });

  it('refuses a secret that is not base64 as invalid_secret', () => {
    expect(reasonOf(() => verify(BODY, headers(generateSecret()), 'whsec_not*base64!', { now: at(T) }))).toBe('invalid_secret');
    expect(reasonOf(() => verify(BODY, headers(generateSecret()), [], { now: at(T) }))).toBe('invalid_secret');
  });
});

describe('verify: body', () => {
  const secret = generateSecret();
  const h = headers(secret);

  it('accepts the body as a Buffer or a Uint8Array view into a larger buffer', () => {
    expect(reasonOf(() => verify(Buffer.from(BODY), h, secret, { now: at(T) }))).toBe('accepted');
    const big = new Uint8Array(BODY.length + 10);
    big.set(Buffer.from(BODY), 5);
    expect(verify(big.subarray(5, 5 + BODY.length), h, secret, { now: at(T) })).toEqual(JSON.parse(BODY));
  });

  it('refuses re-serialised JSON: the raw bytes are what is signed', () => {
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 1);
    expect(reasonOf(() => verify(reserialised, h, secret, { now: at(T) }))).toBe('no_matching_signature');
  });

  it('refuses a parsed object as raw_body_unavailable: a JSON parser ran first', () => {
    expect(reasonOf(() => verify(JSON.parse(BODY), h, secret, { now: at(T) }))).toBe('raw_body_unavailable');
  });

  it('refuses a verified body that is not JSON as invalid_payload', () => {
    const hb = headers(secret, { body: 'not json' });
    expect(reasonOf(() => verify('not json', hb, secret, { now: at(T) }))).toBe('invalid_payload');
  });

  it('verifyWebhook and createVerifier return id and timestamp too', () => {
    expect(verifyWebhook(BODY, h, secret, { now: at(T) })).toEqual({ id: 'msg_1', timestamp: T, payload: JSON.parse(BODY) });
    const verifier = createVerifier([generateSecret(), secret], { now: at(T) });
    expect(verifier(BODY, h).id).toBe('msg_1');
  });
});

describe('verify: one error type', () => {
  const secret = generateSecret();
  const h = headers(secret);
  // Plain-JS callers can hand over anything; every refusal must still be the one error type with a
  // reason code, so `catch (e) { if (e instanceof WebhookVerificationError) … }` covers them all.
  const misuse: [string, () => unknown, VerificationFailureReason][] = [
    ['a parsed object body', () => verify(JSON.parse(BODY), h, secret), 'raw_body_unavailable'],
    ['a null body', () => verify(null as never, h, secret), 'raw_body_unavailable'],
    ['a number body', () => verify(42 as never, h, secret), 'raw_body_unavailable'],
    ['null headers', () => verify(BODY, null as never, secret), 'missing_headers'],
    ['undefined headers', () => verify(BODY, undefined as never, secret), 'missing_headers'],
    ['a null secret', () => verify(BODY, h, null as never), 'invalid_secret'],
    ['a null among the secrets', () => verify(BODY, h, [secret, null] as never), 'invalid_secret'],
    ['an object that is not a parsed secret', () => verify(BODY, h, { key: 'x' } as never), 'invalid_secret'],
    ['a number secret', () => verify(BODY, h, 7 as never), 'invalid_secret'],
  ];

  it.each(misuse)('%s throws WebhookVerificationError(%s)', (_label, fn, reason) => {
    let thrown: unknown;
    try {
      fn();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WebhookVerificationError);
    expect((thrown as WebhookVerificationError).reason).toBe(reason);
    expect((thrown as Error).message).not.toBe('');
  });

  it('every reason the verifier can give is a WebhookVerificationError carrying a stable code', () => {
    const cases: [unknown, Record<string, string>][] = [
      [BODY, {}],
      [BODY, { ...h, 'svix-timestamp': 'x' }],
      [BODY, h],
      ['not json', headers(secret, { body: 'not json' })],
      [BODY.replace('c1', 'c2'), h],
    ];
    const reasons = new Set<VerificationFailureReason>();
    for (const [body, hdrs] of cases) {
      for (const nowAt of [T, T + 10_000, T - 10_000]) {
        try {
          verify(body as string, hdrs, secret, { now: at(nowAt) });
        } catch (err) {
          expect(err).toBeInstanceOf(WebhookVerificationError);
          reasons.add((err as WebhookVerificationError).reason);
        }
      }
    }
    expect([...reasons].sort()).toEqual(
      ['invalid_payload', 'invalid_timestamp', 'missing_headers', 'no_matching_signature', 'timestamp_too_new', 'timestamp_too_old'].sort(),
    );
  });
});
