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
      expect(() =>
        new StandardWebhook(secret).verify(BODY, { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': header }),
      ).not.toThrow();
    }
  });

  it('a byte body signs the same as the string the libraries see', () => {
    const secret = generateSecret();
    const body = JSON.stringify({ name: 'Åsa Ölund' });
    const headers = signatureHeaders({ id: msgId(), timestamp: new Date(), body: Buffer.from(body), secrets: secret, prefix: 'webhook' });
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });
});
