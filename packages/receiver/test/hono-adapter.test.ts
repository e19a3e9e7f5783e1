import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { createReceiver, createRouter, generateSecret, honoHandler } from '../src/index.js';
import { adapterSuite, balance, type StartServer } from './adapter-suite.js';
import { signedHeaders } from './helpers.js';

async function start(app: Hono) {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve, reject) => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    });
  return { base, close };
}

const startHono: StartServer = async (receiver) => {
  const app = new Hono();
  app.post('/hooks', honoHandler(receiver));
  const { base, close } = await start(app);
  return { url: `${base}/hooks`, close };
};

adapterSuite('Hono', startHono);

describe('Hono adapter specifics', () => {
  it('uses a custom remote-address function when given one', async () => {
    const secret = generateSecret();
    const receiver = createReceiver({ secrets: secret, router: createRouter(), allowlist: ['52.215.16.239'] });
    const app = new Hono();
    app.post('/hooks', honoHandler(receiver, { remoteAddress: () => '52.215.16.239' }));
    const { base, close } = await start(app);
    const body = JSON.stringify(balance);
    try {
      expect((await fetch(`${base}/hooks`, { method: 'POST', body, headers: signedHeaders(body, secret) })).status).toBe(200);
    } finally {
      await close();
    }
  });
});

describe('Hono adapter: a middleware read the body first', () => {
  const secret = generateSecret();
  // Odd spacing, so a re-serialised body could not pass for the signed one.
  const body = JSON.stringify(balance).replace('{', '{ ').replace(',', ' ,');

  async function deliver(read: (c: Context) => Promise<unknown>, maxBodyBytes?: number, chunked = false) {
    const seen: unknown[] = [];
    const receiver = createReceiver({ secrets: secret, maxBodyBytes, router: createRouter().onAny((e) => void seen.push(e.payload)) });
    const app = new Hono();
    app.use('*', async (c, next) => {
      await read(c);
      await next();
    });
    app.post('/hooks', honoHandler(receiver));
    const { base, close } = await start(app);
    try {
      // Chunked, there is no content-length to refuse on before a middleware reads the body.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(Buffer.from(body));
          controller.close();
        },
      });
      const init = chunked ? { body: stream, duplex: 'half' } : { body };
      const res = await fetch(`${base}/hooks`, { method: 'POST', ...init, headers: signedHeaders(body, secret) } as RequestInit);
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, seen };
    } finally {
      await close();
    }
  }

  it.each([
    ['c.req.json()', (c: Context) => c.req.json()],
    ['c.req.text()', (c: Context) => c.req.text()],
    ['c.req.arrayBuffer()', (c: Context) => c.req.arrayBuffer()],
    ['c.req.blob()', (c: Context) => c.req.blob()],
  ])('after %s, verifies the exact bytes Hono kept', async (_label, read) => {
    const res = await deliver(read);
    expect([res.status, res.body]).toEqual([200, { ok: true }]);
    expect(res.seen).toEqual([balance.payload]);
  });

  it('still applies the body limit to a body read earlier', async () => {
    const res = await deliver((c) => c.req.text(), 64, true);
    expect([res.status, res.body.code]).toEqual([413, 'payload_too_large']);
    expect(res.seen).toEqual([]);
  });

  it('says raw_body_unavailable when only a parsed form is left, instead of crashing', async () => {
    const res = await deliver((c) => c.req.formData().catch(() => undefined));
    expect([res.status, res.body.code]).toEqual([500, 'raw_body_unavailable']);
    expect(res.seen).toEqual([]);
  });
});
