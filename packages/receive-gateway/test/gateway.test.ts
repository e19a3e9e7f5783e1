// The gateway in-process, over loopback HTTP, with a real SQLite inbox and a real HTTP destination.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { encryptEnvelope, generateEncryptionKey } from '@herald/engage';
import { generateSecret, signatureHeaders, verifyWebhook } from '@herald/receiver';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config.js';
import { startGateway, type Gateway } from '../src/gateway.js';
import { envelope, postSigned, startSink, tempDir, uniqueName, waitFor, type PostResult, type Sink } from './helpers.js';

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
    const stranger = await postSigned(
      gateway.url,
      JSON.stringify(encryptEnvelope(envelope('point.balance.updated') as never, generateEncryptionKey())),
      secret,
    );
    expect(stranger.status).toBe(400);
    await waitFor('both forwards', () => sink.received.length === 2);
    expect(sink.received.every((r) => (r.body as { isEncrypted: boolean }).isEncrypted === false)).toBe(true);
  });

  it('takes the envelope with id in place of eventId, as two of Voyado’s examples write it, and forwards eventId', async () => {
    const { gateway, sink } = await setup();
    const { eventId, ...rest } = envelope('point.balance.updated');
    const res = await postSigned(gateway.url, JSON.stringify({ id: eventId, ...rest }), secret);
    expect(res).toEqual({ status: 200, body: { ok: true } });
    await waitFor('the forward', () => sink.received.length === 1);
    expect(sink.received[0].body).toEqual({ eventId, ...rest, isEncrypted: false });
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

  it('keeps a token in a destination URL’s query out of the logs and the stored error', async () => {
    const sink = await startSink();
    sink.answer = () => 503;
    const entries: Record<string, unknown>[] = [];
    const gateway = await startGateway(
      validateConfig({
        host: '127.0.0.1',
        port: 0,
        secrets: [secret],
        inboxPath: join(dir, `${uniqueName('inbox')}.db`),
        retry: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 2 },
        destinations: { main: { type: 'http', url: `${sink.url}?token=t0k3n-s3cret` } },
        routes: [{ events: ['*'], to: ['main'] }],
      }),
      { log: (e) => entries.push(e) },
    );
    open.push({ gateway, sinks: [sink] });
    await postSigned(gateway.url, JSON.stringify(envelope()), secret);
    await waitFor('failed for good', () => gateway.inbox.deliveries()[0]?.status === 'failed');
    // The token did reach the destination (it is part of the URL), but nowhere else.
    expect(sink.received).toHaveLength(2);
    const row = gateway.inbox.deliveries()[0];
    expect(row.lastError).toMatch(/\/events\?… answered 503$/);
    expect(entries.some((e) => e.msg === 'forward failed for good')).toBe(true);
    expect(JSON.stringify(entries) + row.lastError).not.toContain('t0k3n');
  });

  it('honours a configured timestamp tolerance', async () => {
    const { gateway, sink } = await setup({ toleranceSeconds: 30 });
    const body = JSON.stringify(envelope());
    const minuteOld = Math.floor(Date.now() / 1000) - 60;
    expect(await postSigned(gateway.url, body, secret, { timestamp: minuteOld })).toMatchObject({ status: 401, body: { code: 'timestamp_too_old' } });
    const { gateway: lenient } = await setup({ toleranceSeconds: 120 });
    expect((await postSigned(lenient.url, body, secret, { timestamp: minuteOld })).status).toBe(200);
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
    const key = generateEncryptionKey();
    const now = () => Math.floor(Date.now() / 1000);
    /** Rows in the inbox file itself, read on a connection of its own, not through the gateway's API. */
    const storedEvents = (path: string): { webhook_id: string }[] => {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        return db.prepare('SELECT webhook_id FROM events').all() as { webhook_id: string }[];
      } finally {
        db.close();
      }
    };
    // contact.deleted routes to both sinks: a bad request that slipped through would show at either.
    const bad = () => envelope('contact.deleted');
    const cases: [string, number, string, (url: string, id: string) => Promise<PostResult>][] = [
      [
        'missing headers',
        400,
        'missing_headers',
        async (url) => {
          const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad()) });
          return { status: r.status, body: (await r.json()) as Record<string, unknown> };
        },
      ],
      [
        'a missing signature header (webhook-*)',
        400,
        'missing_headers',
        async (url, id) => {
          const r = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(now()) },
            body: JSON.stringify(bad()),
          });
          return { status: r.status, body: (await r.json()) as Record<string, unknown> };
        },
      ],
      ['a bad signature', 401, 'no_matching_signature', (url, id) => postSigned(url, JSON.stringify(bad()), generateSecret(), { id })],
      ['a stale signature', 401, 'timestamp_too_old', (url, id) => postSigned(url, JSON.stringify(bad()), secret, { id, timestamp: now() - 3600 })],
      ['a signature from the future', 401, 'timestamp_too_new', (url, id) => postSigned(url, JSON.stringify(bad()), secret, { id, timestamp: now() + 3600 })],
      [
        'unreadable ciphertext',
        400,
        'invalid_ciphertext',
        (url, id) => postSigned(url, JSON.stringify({ ...bad(), isEncrypted: true, payload: 'bm90IGNpcGhlcnRleHQ' }), secret, { id }),
      ],
      [
        'ciphertext under another key',
        400,
        'invalid_ciphertext',
        (url, id) => postSigned(url, JSON.stringify(encryptEnvelope(bad() as never, generateEncryptionKey())), secret, { id }),
      ],
      ['a source IP outside the allowlist', 403, 'ip_not_allowed', (url, id) => postSigned(url, JSON.stringify(bad()), secret, { id })],
      ['an oversized body', 413, 'payload_too_large', (url, id) => postSigned(url, JSON.stringify({ ...bad(), pad: 'x'.repeat(5000) }), secret, { id })],
      [
        'an oversized body sent chunked, with no content-length',
        413,
        'payload_too_large',
        async (url, id) => {
          const body = JSON.stringify({ ...bad(), pad: 'x'.repeat(5000) });
          const headers = { 'content-type': 'application/json', ...signatureHeaders({ id, timestamp: now(), body, secrets: secret }) };
          const bytes = Buffer.from(body);
          const stream = new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.subarray(i, i + 1000));
              controller.close();
            },
          });
          const r = await fetch(url, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
          return { status: r.status, body: (await r.json()) as Record<string, unknown> };
        },
      ],
      ['a body that is not an envelope', 400, 'invalid_envelope', (url, id) => postSigned(url, '{"hello":"world"}', secret, { id })],
    ];

    it.each(cases)('%s: %i %s', async (what, status, code, send) => {
      const inboxPath = join(dir, `${uniqueName('inbox')}.db`);
      const { gateway, sink, other } = await setup({
        inboxPath,
        encryptionKey: key,
        maxBodyBytes: 4096,
        ...(what.includes('allowlist') ? { allowlist: ['198.51.100.0/24'], trustedProxies: ['127.0.0.1'] } : {}),
      });
      const badId = uniqueName('bad');
      const res = await send(gateway.url, badId);
      expect(res).toMatchObject({ status, body: { code } });
      expect(res.body.detail).toEqual(expect.any(String));
      expect(res.body.detail).not.toBe('');
      // Nothing stored: no event row at all (not only no delivery rows).
      expect(storedEvents(inboxPath)).toEqual([]);
      expect(gateway.inbox.has(badId)).toBe(false);

      // Nothing forwarded: the genuine delivery of the same id, sent afterwards, is accepted as new
      // (the refusal left no trace to dedupe against), and it is the only thing either sink ever
      // sees and the only row in the inbox. (For the allowlist case it comes through the trusted
      // proxy with an allowed client address.)
      const goodId = badId;
      const viaProxy: Record<string, string> = what.includes('allowlist') ? { 'x-forwarded-for': '198.51.100.7' } : {};
      const good = await postSigned(gateway.url, JSON.stringify(envelope('contact.deleted')), secret, { id: goodId, headers: viaProxy });
      expect(good).toEqual({ status: 200, body: { ok: true } });
      await waitFor('the good event at both sinks', () => sink.received.length > 0 && other.received.length > 0);
      await waitFor('its deliveries done', () => gateway.inbox.deliveries().every((d) => d.status === 'done'));
      expect(storedEvents(inboxPath)).toEqual([{ webhook_id: goodId }]);
      expect(sink.received.map((r) => r.webhookId)).toEqual([goodId]);
      expect(other.received.map((r) => r.webhookId)).toEqual([goodId]);
    });
  });

  it('reports pending and failed-for-good deliveries per destination on /healthz, not ok while any failed for good', async () => {
    const { gateway, sink, other } = await setup();
    const base = gateway.url.replace('/webhooks', '');
    const health = async () => {
      const r = await fetch(`${base}/healthz`);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    expect(await health()).toEqual({
      status: 200,
      body: { ok: true, pendingDeliveries: 0, failedDeliveries: 0, destinations: { main: { pending: 0, failed: 0 }, other: { pending: 0, failed: 0 } } },
    });
    sink.answer = () => 'hold';
    other.answer = () => 500;
    await postSigned(gateway.url, JSON.stringify(envelope('contact.deleted')), secret);
    await waitFor('failed for good at other', () => gateway.inbox.deliveries().some((d) => d.destination === 'other' && d.status === 'failed'));
    expect(await health()).toEqual({
      status: 503,
      body: { ok: false, pendingDeliveries: 1, failedDeliveries: 1, destinations: { main: { pending: 1, failed: 0 }, other: { pending: 0, failed: 1 } } },
    });
    // Liveness, for load balancers, stays up: forwarding trouble must not stop the gateway accepting.
    expect(await (await fetch(`${base}/livez`)).json()).toEqual({ ok: true });
    // Requeued, the failed delivery is pending again, and health is ok again.
    expect(gateway.inbox.requeueFailed('other')).toBe(1);
    other.answer = () => 200;
    await waitFor('done at other', () => gateway.inbox.deliveries().find((d) => d.destination === 'other')?.status === 'done');
    expect(await health()).toMatchObject({ status: 200, body: { ok: true, failedDeliveries: 0 } });
  });

  it('serves Prometheus metrics: webhooks by outcome, attempts by destination, pending and failed deliveries', async () => {
    const { gateway, sink } = await setup();
    sink.answer = (_r, n) => (n === 1 ? 503 : 200);
    const id = uniqueName('msg');
    const body = JSON.stringify(envelope());
    await postSigned(gateway.url, body, secret, { id });
    await postSigned(gateway.url, body, secret, { id });
    await postSigned(gateway.url, body, generateSecret());
    await waitFor('done', () => gateway.inbox.deliveries()[0]?.status === 'done');
    const r = await fetch(gateway.url.replace('/webhooks', '/metrics'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    for (const line of [
      'herald_receive_webhooks_total{outcome="stored"} 1',
      'herald_receive_webhooks_total{outcome="duplicate"} 1',
      'herald_receive_webhooks_total{outcome="no_matching_signature"} 1',
      'herald_receive_forward_attempts_total{destination="main",result="error"} 1',
      'herald_receive_forward_attempts_total{destination="main",result="ok"} 1',
      'herald_receive_deliveries_pending{destination="main"} 0',
      'herald_receive_deliveries_failed{destination="other"} 0',
    ]) {
      expect(text.split('\n'), line).toContain(line);
    }
  });

  it('signs HTTP forwards with the gateway key (Standard Webhooks), so the next hop verifies them with the receiver kit', async () => {
    const forwardKey = generateSecret();
    const { gateway, sink } = await setup({ signingSecret: forwardKey });
    const id = uniqueName('msg');
    await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id });
    await waitFor('the forward', () => sink.raw.length === 1);
    const { headers, body } = sink.raw[0];
    const verified = verifyWebhook(body, headers as Record<string, string>, forwardKey);
    expect(verified.id).toBe(id);
    expect(verified.payload).toMatchObject({ eventType: 'point.balance.updated', isEncrypted: false });
    // Under another key it does not verify: the signature is the gateway's own.
    expect(() => verifyWebhook(body, headers as Record<string, string>, secret)).toThrow(/no signature matches/);
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
