// The gateway in-process, over loopback HTTP, with a real SQLite inbox and a real HTTP destination.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { encryptEnvelope, generateEncryptionKey } from '@herald/engage';
import { generateSecret } from '@herald/receiver';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config.js';
import { startGateway, type Gateway } from '../src/gateway.js';
import { envelope, postSigned, startSink, tempDir, uniqueName, waitFor, type Sink } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secret = generateSecret();
let open: { gateway: Gateway; sinks: Sink[] }[] = [];
afterEach(async () => {
  for (const { gateway, sinks } of open) {
    // Sinks first: an attempt held open by a sink would otherwise keep close() waiting for its timeout.
    for (const s of sinks) await s.close();
    await gateway.close();
  }
  open = [];
});

async function setup(extra: Record<string, unknown> = {}, routes?: unknown[]) {
  const sink = await startSink();
  const other = await startSink();
  const config = validateConfig({
    host: '127.0.0.1',
    port: 0,
    path: '/webhooks',
    secrets: [secret],
    inboxPath: join(dir, `${uniqueName('inbox')}.db`),
    retry: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 3 },
    destinations: { main: { type: 'http', url: sink.url }, other: { type: 'http', url: other.url } },
    routes: routes ?? [
      { events: ['point.*'], to: ['main'] },
      { events: ['contact.deleted'], to: ['main', 'other'] },
    ],
    ...extra,
  });
  const gateway = await startGateway(config);
  open.push({ gateway, sinks: [sink, other] });
  return { gateway, sink, other };
}

describe('herald-receive gateway', () => {
  it('stores, answers 200 and forwards the decrypted event by its type', async () => {
    const key = generateEncryptionKey();
    const { gateway, sink, other } = await setup({ encryptionKey: key });
    const plain = envelope('contact.deleted');
    const encrypted = encryptEnvelope(plain as never, key);
    const id = uniqueName('msg');
    const res = await postSigned(gateway.url, JSON.stringify(encrypted), secret, { id });
    expect(res).toEqual({ status: 200, body: { ok: true } });
    // Committed before the answer: the row is there as soon as the 200 is.
    expect(gateway.inbox.deliveries().map((d) => d.destination)).toEqual(['main', 'other']);
    await waitFor('both destinations', () => sink.received.length === 1 && other.received.length === 1);
    expect(sink.received[0]).toEqual({ webhookId: id, eventType: 'contact.deleted', body: { ...plain, isEncrypted: false } });
    await waitFor('done rows', () => gateway.inbox.deliveries().every((d) => d.status === 'done'));
  });

  it('during an Engage key rotation, opens events under the new and the old key, newest first', async () => {
    const [oldKey, newKey] = [generateEncryptionKey(), generateEncryptionKey()];
    const { gateway, sink } = await setup({ encryptionKey: [newKey, oldKey] });
    for (const key of [oldKey, newKey]) {
      const plain = envelope('point.balance.updated');
      const res = await postSigned(gateway.url, JSON.stringify(encryptEnvelope(plain as never, key)), secret);
      expect(res).toEqual({ status: 200, body: { ok: true } });
    }
    const stranger = await postSigned(gateway.url, JSON.stringify(encryptEnvelope(envelope('point.balance.updated') as never, generateEncryptionKey())), secret);
    expect(stranger.status).toBe(400);
    await waitFor('both forwards', () => sink.received.length === 2);
    expect(sink.received.every((r) => (r.body as { isEncrypted: boolean }).isEncrypted === false)).toBe(true);
  });

  it('stores and forwards a repeated webhook id once', async () => {
    const { gateway, sink } = await setup();
    const id = uniqueName('msg');
    const body = JSON.stringify(envelope());
    expect((await postSigned(gateway.url, body, secret, { id })).body).toEqual({ ok: true });
    expect((await postSigned(gateway.url, body, secret, { id })).body).toEqual({ ok: true, duplicate: true });
    // Concurrent repeats too.
    const again = await Promise.all([1, 2, 3].map(() => postSigned(gateway.url, body, secret, { id })));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
    await waitFor('the forward', () => gateway.inbox.deliveries().every((d) => d.status === 'done'));
    // A second event proves the sink is live; the first id still arrived only once.
    await postSigned(gateway.url, JSON.stringify(envelope()), secret);
    await waitFor('the second forward', () => sink.received.length === 2);
    expect(sink.received.filter((r) => r.webhookId === id)).toHaveLength(1);
    expect(gateway.inbox.deliveries()).toHaveLength(2);
  });

  it('retries a failing destination with backoff and records each attempt', async () => {
    const { gateway, sink } = await setup();
    sink.answer = (_r, n) => (n < 3 ? 503 : 200);
    await postSigned(gateway.url, JSON.stringify(envelope()), secret);
    await waitFor('success on the third attempt', () => gateway.inbox.deliveries()[0]?.status === 'done');
    expect(sink.received).toHaveLength(3);
    expect(gateway.inbox.deliveries()[0]).toMatchObject({ attempts: 3, lastError: null });
  });

  it('gives up after maxAttempts and keeps the event as failed with the last error', async () => {
    const { gateway, sink } = await setup();
    sink.answer = () => 500;
    await postSigned(gateway.url, JSON.stringify(envelope()), secret);
    await waitFor('failed', () => gateway.inbox.deliveries()[0]?.status === 'failed');
    expect(gateway.inbox.deliveries()[0]).toMatchObject({ attempts: 3 });
    expect(gateway.inbox.deliveries()[0].lastError).toMatch(/answered 500/);
    expect(sink.received).toHaveLength(3);
  });

  it('stores an event no route matches, with nothing to forward', async () => {
    const { gateway, sink } = await setup();
    const id = uniqueName('msg');
    expect((await postSigned(gateway.url, JSON.stringify(envelope('reward.voucher.created')), secret, { id })).status).toBe(200);
    expect(gateway.inbox.has(id)).toBe(true);
    expect(gateway.inbox.deliveries()).toEqual([]);
    expect(sink.received).toEqual([]);
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    const { gateway } = await setup({ allowlist: ['203.0.113.0/24'], trustedProxies: ['127.0.0.1'] });
    const body = JSON.stringify(envelope());
    expect((await postSigned(gateway.url, body, secret, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(200);
    const { gateway: strict } = await setup({ allowlist: ['203.0.113.0/24'] });
    const spoofed = await postSigned(strict.url, body, secret, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(spoofed).toMatchObject({ status: 403, body: { code: 'ip_not_allowed' } });
    expect(strict.inbox.deliveries()).toEqual([]);
  });

  describe('bad input gets a 4xx naming the reason; nothing is stored or forwarded', () => {
    it.each([
      ['missing headers', 400, 'missing_headers'],
      ['a bad signature', 401, 'no_matching_signature'],
      ['a stale signature', 401, 'timestamp_too_old'],
      ['unreadable ciphertext', 400, 'invalid_ciphertext'],
      ['a source IP outside the allowlist', 403, 'ip_not_allowed'],
      ['an oversized body', 413, 'payload_too_large'],
      ['a body that is not an envelope', 400, 'invalid_envelope'],
    ])('%s', async (what, status, code) => {
      const key = generateEncryptionKey();
      const { gateway, sink } = await setup({
        encryptionKey: key,
        maxBodyBytes: 4096,
        ...(what.includes('allowlist') ? { allowlist: ['198.51.100.0/24'] } : {}),
      });
      let body = JSON.stringify(envelope());
      let res: { status: number; body: Record<string, unknown> };
      if (what === 'missing headers') {
        const r = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        res = { status: r.status, body: (await r.json()) as Record<string, unknown> };
      } else if (what === 'a bad signature') {
        res = await postSigned(gateway.url, body, generateSecret());
      } else if (what === 'a stale signature') {
        res = await postSigned(gateway.url, body, secret, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
      } else if (what === 'unreadable ciphertext') {
        body = JSON.stringify({ ...envelope(), isEncrypted: true, payload: 'bm90IGNpcGhlcnRleHQ' });
        res = await postSigned(gateway.url, body, secret);
      } else if (what === 'an oversized body') {
        body = JSON.stringify({ ...envelope(), pad: 'x'.repeat(5000) });
        res = await postSigned(gateway.url, body, secret);
      } else if (what === 'a body that is not an envelope') {
        res = await postSigned(gateway.url, '{"hello":"world"}', secret);
      } else {
        res = await postSigned(gateway.url, body, secret);
      }
      expect(res).toMatchObject({ status, body: { code } });
      expect(typeof res.body.detail).toBe('string');
      expect(gateway.inbox.deliveries()).toEqual([]);
      // Let the forwarder run once more; still nothing.
      await postSigned(gateway.url, JSON.stringify(envelope()), secret).catch(() => undefined);
      expect(sink.received.every((r) => r.eventType === 'point.balance.updated')).toBe(true);
    });
  });

  it('reports health with the number of pending deliveries on GET /healthz', async () => {
    const { gateway, sink } = await setup();
    const health = gateway.url.replace('/webhooks', '/healthz');
    expect(await (await fetch(health)).json()).toEqual({ ok: true, pendingDeliveries: 0 });
    sink.answer = () => 'hold';
    await postSigned(gateway.url, JSON.stringify(envelope('contact.deleted')), secret);
    expect(await (await fetch(health)).json()).toEqual({ ok: true, pendingDeliveries: 2 });
  });

  it('answers 404 off the webhook path and 405 for other methods', async () => {
    const { gateway } = await setup();
    const base = gateway.url.replace('/webhooks', '');
    expect((await fetch(`${base}/other`, { method: 'POST' })).status).toBe(404);
    const get = await fetch(gateway.url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});
