// Interop with the official verifiers/signers: `svix` and `standardwebhooks` (devDependencies).
// Both check against the real clock, so messages are signed "now".
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { generateSecret, sign, signatureHeaders, verify, verifyWebhook } from '../src/index.js';
import { msgId } from './helpers.js';

const BODY = JSON.stringify({ eventId: 'e', eventType: 'point.balance.updated', isEncrypted: false, payload: { balance: 1.5 }, tenant: 't' });

describe('what the official libraries sign, verify accepts', () => {
  it('svix Webhook.sign', () => {
    const secret = generateSecret();
    const id = msgId();
    const now = new Date();
    const signature = new SvixWebhook(secret).sign(id, now, BODY);
    const headers = { 'svix-id': id, 'svix-timestamp': String(Math.floor(now.getTime() / 1000)), 'svix-signature': signature };
    expect(verify(BODY, headers, secret)).toEqual(JSON.parse(BODY));
  });

  it('standardwebhooks Webhook.sign, with webhook-* headers', () => {
    const secret = generateSecret();
    const id = msgId();
    const now = new Date();
    const signature = new StandardWebhook(secret).sign(id, now, BODY);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature };
    expect(verifyWebhook(BODY, headers, secret).id).toBe(id);
  });
});

describe('what sign produces, the official libraries verify', () => {
  it('svix Webhook.verify (svix-* headers)', () => {
    const secret = generateSecret();
    const headers = signatureHeaders({ id: msgId(), timestamp: new Date(), body: BODY, secrets: secret });
    expect(() => new SvixWebhook(secret).verify(BODY, headers)).not.toThrow();
    // And it really checks: a wrong secret is refused.
    expect(() => new SvixWebhook(generateSecret()).verify(BODY, headers)).toThrow();
  });

  it('standardwebhooks Webhook.verify (webhook-* headers)', () => {
    const secret = generateSecret();
    const headers = signatureHeaders({ id: msgId(), timestamp: new Date(), body: BODY, secrets: secret, prefix: 'webhook' });
    expect(new StandardWebhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(() => new StandardWebhook(generateSecret()).verify(BODY, headers)).toThrow();
  });

  it('a rotation header (two secrets) is accepted by both with either secret', () => {
    const current = generateSecret();
    const previous = generateSecret();
    const id = msgId();
    const timestamp = new Date();
    const header = sign({ id, timestamp, body: BODY, secrets: [current, previous] });
    const ts = String(Math.floor(timestamp.getTime() / 1000));
    for (const secret of [current, previous]) {
      expect(() => new SvixWebhook(secret).verify(BODY, { 'svix-id': id, 'svix-timestamp': ts, 'svix-signature': header })).not.toThrow();
      expect(() => new StandardWebhook(secret).verify(BODY, { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': header })).not.toThrow();
    }
  });

  it('a byte body signs the same as the string the libraries see', () => {
    const secret = generateSecret();
    const body = JSON.stringify({ name: 'Åsa Ölund' });
    const headers = signatureHeaders({ id: msgId(), timestamp: new Date(), body: Buffer.from(body), secrets: secret, prefix: 'webhook' });
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });
});

describe('signature encodings: exactly as strict as standardwebhooks', () => {
  it('accepts only the canonical padded standard base64 form; variants of the same bytes are refused by both', () => {
    const secret = generateSecret();
    const id = msgId();
    const now = new Date();
    const ts = String(Math.floor(now.getTime() / 1000));
    // Find a signature with padding and a +/ character, so every variant below really differs.
    let body = BODY;
    let b64 = '';
    for (let i = 0; ; i++) {
      body = JSON.stringify({ ...JSON.parse(BODY), n: i });
      b64 = sign({ id, timestamp: now, body, secrets: secret }).slice(3);
      if (/[+/]/.test(b64)) break;
    }
    expect(b64.endsWith('=')).toBe(true);
    const canonical = `v1,${b64}`;
    const variants = {
      unpadded: `v1,${b64.replace(/=+$/, '')}`,
      'URL-safe': `v1,${b64.replace(/\+/g, '-').replace(/\//g, '_')}`,
      'junk inserted': `v1,${b64.slice(0, 10)}!*${b64.slice(10)}`,
      'whitespace inserted': `v1,${b64.slice(0, 10)}\t${b64.slice(10)}`,
      'extra padding': `v1,${b64}==`,
    };
    const headers = (signature: string) => ({ 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signature });
    expect(verifyWebhook(body, headers(canonical), secret).id).toBe(id);
    expect(() => new StandardWebhook(secret).verify(body, headers(canonical))).not.toThrow();
    for (const [what, signature] of Object.entries(variants)) {
      expect(() => verifyWebhook(body, headers(signature), secret), what).toThrow(/no signature matches/);
      expect(() => new StandardWebhook(secret).verify(body, headers(signature)), what).toThrow();
    }
  });
});
