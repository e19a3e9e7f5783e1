import type { Server } from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createReceiver, createRouter, expressHandler, generateSecret, type Receiver } from '../src/index.js';
import { adapterSuite, balance, type StartServer } from './adapter-suite.js';
import { close, signedHeaders } from './helpers.js';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

async function serve(app: express.Express): Promise<{ base: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const startExpress: StartServer = async (receiver) => {
  const app = express();
  // The webhook route comes first, so the app-wide JSON parser never sees its body.
  app.post('/hooks', expressHandler(receiver));
  app.use(express.json());
  const { base, server } = await serve(app);
  return { url: `${base}/hooks`, close: () => close(server) };
};

adapterSuite('Express', startExpress);

describe('Express adapter specifics', () => {
  const secret = generateSecret();
  const seen: unknown[] = [];
  const receiver: Receiver = createReceiver({
    secrets: secret,
    router: createRouter().onAny((e) => void seen.push(e.payload)),
  });
  const body = JSON.stringify(balance);

  it('works behind express.raw(), using the bytes it captured', async () => {
    const app = express();
    app.post('/hooks', express.raw({ type: '*/*' }), expressHandler(receiver));
    const { base, server } = await serve(app);
    try {
      expect((await fetch(`${base}/hooks`, { method: 'POST', body, headers: signedHeaders(body, secret) })).status).toBe(200);
    } finally {
      await close(server);
    }
    expect(seen).toContainEqual(balance.payload);
  });

  it('behind the README\'s express.raw({ type: "application/json", limit: "1mb" }), a 300 kB webhook reaches the receiver', async () => {
    const big = JSON.stringify({ ...balance, payload: { ...balance.payload, note: 'x'.repeat(300_000) } });
    const app = express();
    app.post('/default', express.raw({ type: 'application/json' }), expressHandler(receiver));
    app.post('/hooks', express.raw({ type: 'application/json', limit: '1mb' }), expressHandler(receiver));
    const { base, server } = await serve(app);
    try {
      const headers = { ...signedHeaders(big, secret), 'content-type': 'application/json' };
      // body-parser's own default (100 kB) answers first, with its HTML page: why the tip sets a limit.
      const refused = await fetch(`${base}/default`, { method: 'POST', body: big, headers });
      expect(refused.status).toBe(413);
      expect(refused.headers.get('content-type')).toMatch(/text\/html/);
      expect((await fetch(`${base}/hooks`, { method: 'POST', body: big, headers })).status).toBe(200);
    } finally {
      await close(server);
    }
  });

  it('says so when express.json() consumed the body first, instead of failing the signature', async () => {
    const app = express();
    app.use(express.json());
    app.post('/hooks', expressHandler(receiver));
    const { base, server } = await serve(app);
    try {
      const res = await fetch(`${base}/hooks`, { method: 'POST', body, headers: signedHeaders(body, secret) });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { code: string }).code).toBe('raw_body_unavailable');
    } finally {
      await close(server);
    }
  });

  it('leaves the rest of the app alone: later routes still get parsed JSON', async () => {
    const app = express();
    app.post('/hooks', expressHandler(receiver));
    app.use(express.json());
    app.post('/echo', (req, res) => void res.json({ got: req.body }));
    const { base, server } = await serve(app);
    try {
      const res = await fetch(`${base}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      expect(await res.json()).toEqual({ got: { a: 1 } });
      expect((await fetch(`${base}/hooks`, { method: 'POST', body, headers: signedHeaders(body, secret) })).status).toBe(200);
    } finally {
      await close(server);
    }
  });
});
