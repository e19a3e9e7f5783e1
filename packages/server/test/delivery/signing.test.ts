// Signing and the delivered request: exact body bytes, Svix and Standard Webhooks headers, the
// user-agent, custom headers, the same id on every attempt, verification with the `svix` and
// `standardwebhooks` npm verifiers and @herald/receiver, secret rotation, header families, and the
// shared signature vectors. Real Herald in-process, real loopback receiver, real SQLite.

import { readFileSync } from 'node:fs';
import { verify as heraldVerify } from '@herald/receiver';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, describe, expect, it } from 'vitest';
import { parsedSecret, Sender } from '../../src/delivery/send.js';
import { SsrfGuard } from '../../src/security/ssrf.js';
import { VERSION } from '../../src/version.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';
import { attemptsOf, createApp, createEndpoint, deliverySuite, getSecret, sendMessage, settled } from './harness.js';

const SIG_ENTRY = /^v1,[A-Za-z0-9+/]{43}=$/;

/** The request's headers as a flat string record, for the npm verifiers. */
function flat(r: ReceivedRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Verify with all three verifiers; returns the parsed payload from @herald/receiver. */
function verifyAll(r: ReceivedRequest, secret: string, verifyOpts?: { now: () => number }): unknown {
  const headers = flat(r);
  // standardwebhooks reads only webhook-*; svix reads svix-* first, then webhook-*.
  if (headers['webhook-id'] !== undefined) expect(new StandardWebhook(secret).verify(r.text, headers)).toEqual(JSON.parse(r.text));
  new SvixWebhook(secret).verify(r.text, headers);
  return heraldVerify(r.body, headers, secret, verifyOpts);
}

/** Does the request verify with `secret`, by @herald/receiver (any family) and svix (throws on failure)? */
function verifiesWith(r: ReceivedRequest, secret: string, verifyOpts?: { now: () => number }): boolean {
  try {
    heraldVerify(r.body, flat(r), secret, verifyOpts);
  } catch {
    return false;
  }
  return true;
}

/** Another random whsec_ secret (24 bytes). */
const otherSecret = () => `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`;

describe('the delivered request (default header families)', () => {
  const s = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: '100ms,100ms,100ms' } });

  it('carries the accepted payload bytes, content-type, svix-* and webhook-* headers, user-agent and custom headers; all verifiers accept it', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/basic', { headers: { 'X-Tenant-Name': 'acme', 'x-trace': 'trace-123' } });
    const secret = await getSecret(s.h, app.id, ep.id);
    expect(secret).toMatch(/^whsec_/);

    // Sent raw: odd spacing, key order, an integer past 2^53 and non-ASCII text must all survive.
    const payloadText = '{"zeta" : 1,  "big": 123456789012345678901234567890, "alpha":"é ü \\u2028 ☃", "list":[1, 2 ,3]}';
    const raw = `{"eventType":"contact.created","payload": ${payloadText} }`;
    const sent = await s.h.inject('POST', `/api/v1/app/${app.id}/msg`, { raw, headers: { 'content-type': 'application/json' } });
    expect(sent.status).toBe(202);
    const msgId = sent.json.id as string;

    const [r] = await s.rx.waitForCount(1, { path: '/basic' });
    expect(r!.method).toBe('POST');
    expect(r!.text).toBe(payloadText);
    expect(r!.headers['content-type']).toBe('application/json');
    expect(r!.headers['svix-id']).toBe(msgId);
    expect(r!.headers['webhook-id']).toBe(msgId);
    const ts = Number(r!.headers['svix-timestamp']);
    expect(String(ts)).toBe(r!.headers['svix-timestamp']);
    expect(Math.abs(ts - Math.floor(r!.at / 1000))).toBeLessThanOrEqual(5);
    expect(r!.headers['webhook-timestamp']).toBe(r!.headers['svix-timestamp']);
    expect(r!.headers['svix-signature']).toMatch(SIG_ENTRY);
    expect(r!.headers['webhook-signature']).toBe(r!.headers['svix-signature']);
    expect(r!.headers['user-agent']).toMatch(/herald/i);
    expect(r!.headers['user-agent']).toContain(VERSION);
    expect(r!.headers['x-tenant-name']).toBe('acme');
    expect(r!.headers['x-trace']).toBe('trace-123');

    const payload = verifyAll(r!, secret) as Record<string, unknown>;
    expect(payload.alpha).toBe('é ü \u2028 ☃');

    // A test that cannot fail is worthless: a different secret, or one changed byte, must not verify.
    expect(verifiesWith(r!, otherSecret())).toBe(false);
    expect(() => new StandardWebhook(otherSecret()).verify(r!.text, flat(r!))).toThrow();
    expect(() => new SvixWebhook(otherSecret()).verify(r!.text, flat(r!))).toThrow();
    const tampered = { ...r!, body: Buffer.from(r!.text.replace('"zeta" : 1', '"zeta" : 2')) };
    expect(verifiesWith(tampered, secret)).toBe(false);
  });

  it('keeps the case of custom header names as configured (svix.md §3)', async () => {
    const app = await createApp(s.h);
    await createEndpoint(s.h, app.id, s.rx, '/case', { headers: { 'X-Tenant-Name': 'acme' } });
    await sendMessage(s.h, app.id);
    const [r] = await s.rx.waitForCount(1, { path: '/case' });
    const names = r!.rawHeaders.filter((_, i) => i % 2 === 0);
    expect(names).toContain('X-Tenant-Name');
  });

  it('sends the same svix-id and webhook-id on every attempt, each freshly signed and verifiable', async () => {
    const app = await createApp(s.h);
    s.rx.on('/retry-id', Receiver.sequence({ status: 500 }, { status: 503 }, { status: 200 }));
    const ep = await createEndpoint(s.h, app.id, s.rx, '/retry-id');
    const secret = await getSecret(s.h, app.id, ep.id);
    const msg = await sendMessage(s.h, app.id, { payload: { n: 1 } });
    const reqs = await s.rx.waitForCount(3, { path: '/retry-id' });
    for (const r of reqs) {
      expect(r.headers['svix-id']).toBe(msg.id);
      expect(r.headers['webhook-id']).toBe(msg.id);
      verifyAll(r, secret);
    }
    const t = await settled(s.h, msg.id, ep.id);
    expect(t.status).toBe(0);
    expect((await attemptsOf(s.h, app.id, msg.id)).map((a) => a.responseStatusCode)).toEqual([500, 503, 200]);
  });

  it('after a rotation signs with the new and the old secret (two v1 entries), each verifying with its own secret', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/rotate');
    const oldSecret = await getSecret(s.h, app.id, ep.id);

    await sendMessage(s.h, app.id, { payload: { before: true } });
    const [before] = await s.rx.waitForCount(1, { path: '/rotate' });
    expect(before!.headers['svix-signature']).toMatch(SIG_ENTRY);
    verifyAll(before!, oldSecret);

    await s.h.call('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`, 204, {});
    const newSecret = await getSecret(s.h, app.id, ep.id);
    expect(newSecret).not.toBe(oldSecret);

    await sendMessage(s.h, app.id, { payload: { after: true } });
    const [, after] = await s.rx.waitForCount(2, { path: '/rotate' });
    const entries = String(after!.headers['svix-signature']).split(' ');
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e).toMatch(SIG_ENTRY);
    expect(after!.headers['webhook-signature']).toBe(after!.headers['svix-signature']);

    // Each entry alone verifies with exactly one of the two secrets, and they differ.
    const alone = (sig: string): ReceivedRequest => ({
      ...after!,
      headers: { ...after!.headers, 'svix-signature': sig, 'webhook-signature': sig },
    });
    const byNew = entries.filter((e) => verifiesWith(alone(e), newSecret));
    const byOld = entries.filter((e) => verifiesWith(alone(e), oldSecret));
    expect(byNew).toHaveLength(1);
    expect(byOld).toHaveLength(1);
    expect(byNew[0]).not.toBe(byOld[0]);
    // And the whole header verifies with either secret in every verifier.
    verifyAll(after!, newSecret);
    verifyAll(after!, oldSecret);
  });

  it('signs with a rotated-in key of the caller’s choosing, and with gracePeriodSeconds 0 drops the old one at once', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/rotate-now');
    const oldSecret = await getSecret(s.h, app.id, ep.id);
    const chosen = otherSecret();
    await s.h.call('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`, 204, { key: chosen, gracePeriodSeconds: 0 });
    expect(await getSecret(s.h, app.id, ep.id)).toBe(chosen);
    await sendMessage(s.h, app.id);
    const [r] = await s.rx.waitForCount(1, { path: '/rotate-now' });
    expect(r!.headers['svix-signature']).toMatch(SIG_ENTRY);
    verifyAll(r!, chosen);
    expect(verifiesWith(r!, oldSecret)).toBe(false);
  });
});

describe('rotation grace period (injected clock)', () => {
  let skew = 0;
  const now = () => Date.now() + skew;
  const s = deliverySuite({ now });

  it('stops signing with the old secret once its grace period has passed', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/grace');
    const oldSecret = await getSecret(s.h, app.id, ep.id);
    await s.h.call('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`, 204, { gracePeriodSeconds: 60 });
    const newSecret = await getSecret(s.h, app.id, ep.id);

    await sendMessage(s.h, app.id);
    const [inGrace] = await s.rx.waitForCount(1, { path: '/grace' });
    expect(String(inGrace!.headers['svix-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(inGrace!, oldSecret, { now })).toBe(true);

    skew += 61_000;
    await sendMessage(s.h, app.id);
    const [, late] = await s.rx.waitForCount(2, { path: '/grace' });
    expect(late!.headers['svix-signature']).toMatch(SIG_ENTRY);
    expect(verifiesWith(late!, newSecret, { now })).toBe(true);
    expect(verifiesWith(late!, oldSecret, { now })).toBe(false);
  });

  it('keeps the old secret signing for 24 hours by default', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/grace-default');
    const oldSecret = await getSecret(s.h, app.id, ep.id);
    await s.h.call('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`, 204, {});
    const newSecret = await getSecret(s.h, app.id, ep.id);

    skew += 24 * 3600_000 - 60_000; // a minute before the grace period ends
    await sendMessage(s.h, app.id);
    const [before] = await s.rx.waitForCount(1, { path: '/grace-default' });
    expect(String(before!.headers['svix-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(before!, oldSecret, { now })).toBe(true);
    expect(verifiesWith(before!, newSecret, { now })).toBe(true);

    skew += 2 * 60_000; // a minute after
    await sendMessage(s.h, app.id);
    const [, after] = await s.rx.waitForCount(2, { path: '/grace-default' });
    expect(after!.headers['svix-signature']).toMatch(SIG_ENTRY);
    expect(verifiesWith(after!, newSecret, { now })).toBe(true);
    expect(verifiesWith(after!, oldSecret, { now })).toBe(false);
  });
});

describe('HERALD_SIGNATURE_HEADERS', () => {
  for (const family of ['webhook', 'svix'] as const) {
    describe(`= ${family}`, () => {
      const s = deliverySuite({ env: { HERALD_SIGNATURE_HEADERS: family } });

      it(`sends only the ${family}-* headers, and they verify`, async () => {
        const app = await createApp(s.h);
        const ep = await createEndpoint(s.h, app.id, s.rx, '/family');
        const secret = await getSecret(s.h, app.id, ep.id);
        const msg = await sendMessage(s.h, app.id);
        const [r] = await s.rx.waitForCount(1, { path: '/family' });
        const other = family === 'svix' ? 'webhook' : 'svix';
        for (const s of ['id', 'timestamp', 'signature']) {
          expect(r!.headers[`${family}-${s}`], `${family}-${s}`).toBeDefined();
          expect(r!.headers[`${other}-${s}`], `${other}-${s}`).toBeUndefined();
        }
        expect(r!.headers[`${family}-id`]).toBe(msg.id);
        if (family === 'webhook') new StandardWebhook(secret).verify(r!.text, flat(r!));
        new SvixWebhook(secret).verify(r!.text, flat(r!));
        heraldVerify(r!.body, flat(r!), secret);
      });
    });
  }
});

describe('ed25519 endpoint secrets (whsk_)', () => {
  // The key pair from Svix's README (svix.md §3).
  const WHSK = 'whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==';
  const WHPK = 'whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=';
  const s = deliverySuite();

  it('signs with v1a and the secret read returns the whpk_ public key', async () => {
    const app = await createApp(s.h);
    const created = await s.h.inject('POST', `/api/v1/app/${app.id}/endpoint`, { body: { url: s.rx.url('/ed'), secret: WHSK } });
    expect(created.status, created.text).toBe(201);
    expect(await getSecret(s.h, app.id, created.json.id)).toBe(WHPK);
    await sendMessage(s.h, app.id, { payload: { signed: 'ed25519' } });
    const [r] = await s.rx.waitForCount(1, { path: '/ed' });
    expect(String(r!.headers['svix-signature'])).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(heraldVerify(r!.body, flat(r!), WHPK)).toEqual({ signed: 'ed25519' });
  });
});

describe('signature vectors (shared/vectors/signatures.json, copied into packages/receiver/test/vectors)', () => {
  const vectors = JSON.parse(readFileSync(new URL('../../../receiver/test/vectors/signatures.json', import.meta.url), 'utf8')) as {
    positive: { secret: string; id: string; timestamp: number; body: string; signature: string }[];
  };
  const sender = new Sender({ timeoutMs: 1000, headerPrefixes: ['svix', 'webhook'], userAgent: 'test', guard: new SsrfGuard(['127.0.0.0/8']) });
  afterAll(() => sender.close());

  it.each(vectors.positive.map((v, i) => [i, v] as const))('the sender reproduces positive vector %i', (_i, v) => {
    const h = sender.headersFor({
      url: 'http://127.0.0.1:1/',
      msgId: v.id,
      body: v.body,
      secrets: [parsedSecret(v.secret)],
      headers: {},
      timestampSeconds: v.timestamp,
    });
    expect(h['svix-signature']).toBe(v.signature);
    expect(h['webhook-signature']).toBe(v.signature);
    expect(h['svix-id']).toBe(v.id);
    expect(h['svix-timestamp']).toBe(String(v.timestamp));
  });
});
