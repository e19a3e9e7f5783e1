import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createReceiver, createRouter, fastifyPlugin, generateSecret } from '../src/index.js';
import { adapterSuite, balance, type StartServer } from './adapter-suite.js';
import { signedHeaders } from './helpers.js';

async function build(receiver: Parameters<StartServer>[0]) {
  const app = Fastify();
  await app.register(fastifyPlugin, { receiver, path: '/hooks' });
  // An ordinary JSON route in the same app: the plugin's raw parser must not leak out of its scope.
  app.post('/echo', async (request) => ({ got: request.body }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base };
}

const startFastify: StartServer = async (receiver) => {
  const { app, base } = await build(receiver);
  return { url: `${base}/hooks`, close: () => app.close() };
};

adapterSuite('Fastify', startFastify);

describe('Fastify adapter specifics', () => {
  it('keeps JSON parsing for the app’s other routes', async () => {
    const receiver = createReceiver({ secrets: generateSecret(), router: createRouter() });
    const { app, base } = await build(receiver);
    try {
      const res = await fetch(`${base}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      expect(await res.json()).toEqual({ got: { a: 1 } });
    } finally {
      await app.close();
    }
  });

  it('accepts a delivery with no content-type at all', async () => {
    const secret = generateSecret();
    const seen: unknown[] = [];
    const receiver = createReceiver({ secrets: secret, router: createRouter().onAny((e) => void seen.push(e.eventId)) });
    const { app, base } = await build(receiver);
    const body = JSON.stringify(balance);
    const headers = signedHeaders(body, secret);
    delete headers['content-type'];
    try {
      const res = await fetch(`${base}/hooks`, { method: 'POST', body: Buffer.from(body), headers });
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
    expect(seen).toEqual([balance.eventId]);
  });
});
