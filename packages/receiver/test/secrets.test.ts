import { verify as edVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, generateSecret, parseSecret, publicKeyOf, sign, signatureHeaders, signedContent, WebhookVerificationError } from '../src/index.js';
import { reasonOf } from './helpers.js';

// The key pair printed in the svix-server README (reference/svix.md §3).
const SVIX_README_SECRET_KEY = 'whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==';
const SVIX_README_PUBLIC_KEY = 'whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=';

describe('secrets', () => {
  it('derives the Svix README public key from its secret key', () => {
    expect(publicKeyOf(SVIX_README_SECRET_KEY)).toBe(SVIX_README_PUBLIC_KEY);
    expect(publicKeyOf(SVIX_README_PUBLIC_KEY)).toBe(SVIX_README_PUBLIC_KEY);
  });

  it('accepts a 32-byte seed alone as a whsk_ key', () => {
    const seedOnly = `whsk_${Buffer.from(SVIX_README_SECRET_KEY.slice(5), 'base64').subarray(0, 32).toString('base64')}`;
    expect(publicKeyOf(seedOnly)).toBe(SVIX_README_PUBLIC_KEY);
  });

  it('refuses a whsk_ key whose public half does not match its seed', () => {
    const bytes = Buffer.from(SVIX_README_SECRET_KEY.slice(5), 'base64');
    bytes[40] ^= 1;
    expect(reasonOf(() => parseSecret(`whsk_${bytes.toString('base64')}`))).toBe('invalid_secret');
  });

  it.each([
    ['whsec_ with junk', 'whsec_abc$def'],
    ['empty whsec_', 'whsec_'],
    ['whpk_ of the wrong length', `whpk_${Buffer.alloc(31, 1).toString('base64')}`],
    ['whsk_ of the wrong length', `whsk_${Buffer.alloc(40, 1).toString('base64')}`],
  ])('refuses %s', (_label, secret) => {
    expect(reasonOf(() => parseSecret(secret))).toBe('invalid_secret');
  });

  it('generates Svix-shaped secrets and key pairs', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    const pair = generateKeyPair();
    expect(Buffer.from(pair.secretKey.slice(5), 'base64')).toHaveLength(64);
    expect(publicKeyOf(pair.secretKey)).toBe(pair.publicKey);
  });

  it('refuses to sign with a public key', () => {
    expect(reasonOf(() => sign({ id: 'msg_1', timestamp: 1, body: '{}', secrets: SVIX_README_PUBLIC_KEY }))).toBe('invalid_secret');
    expect(() => publicKeyOf(generateSecret() as never)).toThrow(WebhookVerificationError);
  });
});

describe('sign', () => {
  it('signs v1a as ed25519 over id.timestamp.body, checkable with the public key alone', () => {
    const header = sign({ id: 'msg_x', timestamp: 1731705121, body: '{"a":1}', secrets: SVIX_README_SECRET_KEY });
    expect(header).toMatch(/^v1a,/);
    const pub = parseSecret(SVIX_README_PUBLIC_KEY);
    if (pub.kind !== 'ed25519-public') throw new Error('expected a public key');
    const sig = Buffer.from(header.slice(4), 'base64');
    expect(edVerify(null, Buffer.from('msg_x.1731705121.{"a":1}'), pub.publicKey, sig)).toBe(true);
    expect(signedContent('msg_x', 1731705121, '{"a":1}').toString()).toBe('msg_x.1731705121.{"a":1}');
  });

  it('takes a Date, rounding down to the second', () => {
    const secret = generateSecret();
    const a = sign({ id: 'm', timestamp: new Date(1_700_000_000_999), body: '{}', secrets: secret });
    expect(a).toBe(sign({ id: 'm', timestamp: 1_700_000_000, body: '{}', secrets: secret }));
  });

  it('refuses fractional or negative timestamps and an empty secret list', () => {
    const secret = generateSecret();
    expect(() => sign({ id: 'm', timestamp: 1.5, body: '{}', secrets: secret })).toThrow(RangeError);
    expect(() => sign({ id: 'm', timestamp: -1, body: '{}', secrets: secret })).toThrow(RangeError);
    expect(reasonOf(() => sign({ id: 'm', timestamp: 1, body: '{}', secrets: [] }))).toBe('invalid_secret');
  });

  it('signs a string body and its bytes identically', () => {
    const secret = generateSecret();
    const body = '{"name":"Åsa"}';
    expect(sign({ id: 'm', timestamp: 5, body, secrets: secret })).toBe(sign({ id: 'm', timestamp: 5, body: Buffer.from(body), secrets: secret }));
  });

  it('builds svix-* headers by default and webhook-* on request', () => {
    const secret = generateSecret();
    expect(Object.keys(signatureHeaders({ id: 'm', timestamp: 5, body: '{}', secrets: secret }))).toEqual(['svix-id', 'svix-timestamp', 'svix-signature']);
    expect(signatureHeaders({ id: 'm', timestamp: 5, body: '{}', secrets: secret, prefix: 'webhook' })['webhook-timestamp']).toBe('5');
  });
});
