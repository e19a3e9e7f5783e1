import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
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
