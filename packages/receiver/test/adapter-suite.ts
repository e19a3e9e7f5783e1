// One behavioural suite run against every adapter over real loopback HTTP, so node:http, Express,
// Fastify and Hono are held to the same contract.
import { encryptEnvelope, generateEncryptionKey } from '@herald/engage';
import { describe, expect, it } from 'vitest';
import {
  createReceiver,
  createRouter,
  generateSecret,
  HANDLER_FAILED_DETAIL,
  type ReceiverError,
  type EngageEvent,
  type Receiver,
  type ReceiverOptions,
  type UnknownEngageEnvelope,
} from '../src/index.js';
import { msgId, nowSeconds, signedHeaders } from './helpers.js';

export interface RunningServer {
  /** Full URL of the webhook route. */
  url: string;
  close(): Promise<void>;
}

export type StartServer = (receiver: Receiver) => Promise<RunningServer>;

const SECRET = generateSecret();
const KEY = generateEncryptionKey();

export const balance: EngageEvent<'point.balance.updated'> = {
  eventId: '31e61713-dd4d-4c3f-a470-990ef50b47c0',
  eventType: 'point.balance.updated',
  isEncrypted: false,
  payload: { accountId: 999, balance: 2500.75, balanceExpires: '2024-12-31T23:59:59.999+01:00', contactId: 'c-123', definitionId: 1 },
  tenant: 'acme',
};

interface Harness {
  seen: { event: UnknownEngageEnvelope; webhookId: string }[];
  fail: { next: boolean };
  receiver: Receiver;
}

function harness(options: Partial<ReceiverOptions> = {}): Harness {
  const seen: Harness['seen'] = [];
  const fail = { next: false };
  const router = createRouter().onAny((event, ctx) => {
    if (fail.next) {
      fail.next = false;
      throw new Error('downstream unavailable');
    }
    seen.push({ event, webhookId: ctx.webhookId });
  });
  const receiver = createReceiver({ secrets: SECRET, router, encryptionKey: KEY, ...options });
  return { seen, fail, receiver };
}

async function withServer<T>(start: StartServer, h: Harness, fn: (url: string) => Promise<T>): Promise<T> {
  const server = await start(h.receiver);
  try {
    return await fn(server.url);
  } finally {
    await server.close();
  }
}

/** A request body streamed in pieces, so it goes out chunked with no content-length. */
function chunks(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.subarray(i, i + size));
      controller.close();
    },
  });
}

async function post(url: string, body: string | Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string>) {
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', body, headers };
  if (body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export function adapterSuite(name: string, start: StartServer): void {
  describe(`${name} adapter`, () => {
    it('accepts a signed event and routes it with its typed payload', async () => {
      const h = harness();
      const body = JSON.stringify(balance);
      const headers = signedHeaders(body, SECRET);
      await withServer(start, h, async (url) => {
        expect(await post(url, body, headers)).toEqual({ status: 200, body: { ok: true } });
      });
      expect(h.seen).toEqual([{ event: balance, webhookId: headers['svix-id'] }]);
    });

    it('verifies the raw bytes: odd whitespace, unicode, any content type (webhook-* headers)', async () => {
      const h = harness();
      const body = `{ "eventId":"e2" ,\n "eventType":"contact.deleted","isEncrypted":false,\t"payload":{"contactId":"Åsa ✓"},"tenant":"t" }`;
      await withServer(start, h, async (url) => {
        for (const type of ['text/plain', 'application/octet-stream', 'application/json; charset=utf-8']) {
          const headers = { ...signedHeaders(body, SECRET, { prefix: 'webhook' }), 'content-type': type };
          expect((await post(url, Buffer.from(body), headers)).status, type).toBe(200);
        }
      });
      expect(h.seen.map((s) => s.event.payload)).toEqual(Array(3).fill({ contactId: 'Åsa ✓' }));
    });

    it('decrypts an encrypted payload before routing', async () => {
      const h = harness();
      const body = JSON.stringify(encryptEnvelope(balance, KEY));
      await withServer(start, h, async (url) => {
        expect((await post(url, body, signedHeaders(body, SECRET))).status).toBe(200);
      });
      expect(h.seen[0].event).toEqual({ ...balance, isEncrypted: true });
    });

    it.each([
      ['missing headers', 400, 'missing_headers', (_body: string, id: string) => ({ 'content-type': 'application/json', 'svix-id': id })],
      ['a bad signature', 401, 'no_matching_signature', (body: string, id: string) => signedHeaders(body, generateSecret(), { id })],
      ['a stale signature', 401, 'timestamp_too_old', (body: string, id: string) => signedHeaders(body, SECRET, { id, timestamp: nowSeconds() - 600 })],
    ])('refuses %s with %i %s, routes nothing and does not burn the id', async (_label, status, code, headersFor) => {
      const h = harness();
      const body = JSON.stringify(balance);
      const id = msgId();
      await withServer(start, h, async (url) => {
        const res = await post(url, body, headersFor(body, id));
        expect(res.status).toBe(status);
        expect(res.body.code).toBe(code);
        expect(res.body.detail).toEqual(expect.any(String));
        expect(h.seen).toEqual([]);
        // A refused request leaves no trace in the dedupe store: the genuine delivery of that id is
        // processed, not answered as a duplicate.
        expect(await post(url, body, signedHeaders(body, SECRET, { id }))).toEqual({ status: 200, body: { ok: true } });
      });
      expect(h.seen).toEqual([{ event: balance, webhookId: id }]);
    });

    it('refuses unreadable ciphertext with 400 invalid_ciphertext', async () => {
      const h = harness();
      const body = JSON.stringify({ ...balance, isEncrypted: true, payload: 'bm90IGNpcGhlcnRleHQgYXQgYWxs' });
      await withServer(start, h, async (url) => {
        const res = await post(url, body, signedHeaders(body, SECRET));
        expect([res.status, res.body.code]).toEqual([400, 'invalid_ciphertext']);
      });
      expect(h.seen).toEqual([]);
    });

    it('refuses a source outside the allowlist with 403', async () => {
      const h = harness({ allowlist: ['52.215.16.239'] });
      const body = JSON.stringify(balance);
      await withServer(start, h, async (url) => {
        const res = await post(url, body, signedHeaders(body, SECRET));
        expect([res.status, res.body.code]).toEqual([403, 'ip_not_allowed']);
      });
      expect(h.seen).toEqual([]);
    });

    it('allows loopback by CIDR, including the IPv4-mapped form dual-stack sockets report', async () => {
      const h = harness({ allowlist: ['127.0.0.0/8', '::1/128'] });
      const body = JSON.stringify(balance);
      await withServer(start, h, async (url) => {
        expect((await post(url, body, signedHeaders(body, SECRET))).status).toBe(200);
      });
    });

    it('believes X-Forwarded-For only from a trusted proxy, walking from the right', async () => {
      const body = JSON.stringify(balance);
      const trusted = harness({ allowlist: ['52.215.16.239'], trustedProxies: ['127.0.0.1', '::1'] });
      await withServer(start, trusted, async (url) => {
        const ok = await post(url, body, { ...signedHeaders(body, SECRET), 'x-forwarded-for': '52.215.16.239' });
        expect(ok.status).toBe(200);
        const spoof = await post(url, body, { ...signedHeaders(body, SECRET), 'x-forwarded-for': '52.215.16.239, 6.6.6.6' });
        expect([spoof.status, spoof.body.code]).toEqual([403, 'ip_not_allowed']);
      });
      const untrusted = harness({ allowlist: ['52.215.16.239'] });
      await withServer(start, untrusted, async (url) => {
        const spoof = await post(url, body, { ...signedHeaders(body, SECRET), 'x-forwarded-for': '52.215.16.239' });
        expect(spoof.status).toBe(403);
      });
      expect(trusted.seen).toHaveLength(1);
      expect(untrusted.seen).toHaveLength(0);
    });

    it('refuses an oversized body with 413 and routes nothing', async () => {
      const h = harness({ maxBodyBytes: 1024 });
      const body = JSON.stringify({ ...balance, tenant: 'x'.repeat(2000) });
      await withServer(start, h, async (url) => {
        const res = await post(url, body, signedHeaders(body, SECRET));
        expect([res.status, res.body.code]).toEqual([413, 'payload_too_large']);
        // Sent chunked, with no content-length to refuse up front: the limit holds while reading.
        const chunked = await post(url, chunks(Buffer.from(body), 256), signedHeaders(body, SECRET));
        expect([chunked.status, chunked.body.code]).toEqual([413, 'payload_too_large']);
        // The limit is on the body, not the connection: a normal delivery still works afterwards.
        const small = JSON.stringify(balance);
        expect((await post(url, small, signedHeaders(small, SECRET))).status).toBe(200);
      });
      expect(h.seen).toHaveLength(1);
    });

    it('handles a repeated webhook id once and acknowledges the repeat', async () => {
      const h = harness();
      const body = JSON.stringify(balance);
      const id = msgId();
      await withServer(start, h, async (url) => {
        expect((await post(url, body, signedHeaders(body, SECRET, { id }))).body).toEqual({ ok: true });
        // A retry is re-signed with a new timestamp but keeps the id.
        const again = await post(url, body, signedHeaders(body, SECRET, { id, timestamp: nowSeconds() + 1 }));
        expect(again).toEqual({ status: 200, body: { ok: true, duplicate: true } });
      });
      expect(h.seen).toHaveLength(1);
    });

    it('answers 500 when a handler fails, and processes the retry of that id', async () => {
      const h = harness();
      const body = JSON.stringify(balance);
      const id = msgId();
      h.fail.next = true;
      await withServer(start, h, async (url) => {
        const failed = await post(url, body, signedHeaders(body, SECRET, { id }));
        expect([failed.status, failed.body.code]).toEqual([500, 'handler_failed']);
        expect((await post(url, body, signedHeaders(body, SECRET, { id }))).body).toEqual({ ok: true });
      });
      expect(h.seen).toHaveLength(1);
    });

    it('never echoes a handler error to the sender: a generic detail goes out, the error goes to onError', async () => {
      const leak = 'connect ECONNREFUSED postgres://crm:hunter2@10.1.2.3:5432/crm';
      const errors: ReceiverError[] = [];
      const router = createRouter().onAny(() => {
        throw new Error(leak);
      });
      const h: Harness = { seen: [], fail: { next: false }, receiver: createReceiver({ secrets: SECRET, router, onError: (e) => errors.push(e) }) };
      const body = JSON.stringify(balance);
      const res = await withServer(start, h, (url) => post(url, body, signedHeaders(body, SECRET)));
      expect(res).toEqual({ status: 500, body: { code: 'handler_failed', detail: HANDLER_FAILED_DETAIL } });
      expect(JSON.stringify(res.body)).not.toMatch(/hunter2|ECONNREFUSED|10\.1\.2\.3/);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'handler_failed', status: 500 });
      expect(errors[0].message).toContain(leak);
      expect((errors[0].cause as Error).message).toBe(leak);
    });
  });
}
