import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createReceiver, createRouter, generateSecret, nodeHandler } from '../src/index.js';
import { adapterSuite, type StartServer } from './adapter-suite.js';
import { close, listen } from './helpers.js';

const startNode: StartServer = async (receiver) => {
  const server = createServer(nodeHandler(receiver));
  // Dual-stack, so IPv4 clients arrive as ::ffff:127.0.0.1 as they do in many deployments.
  const url = await listen(server, '::');
  return { url: `${url.replace('[::]', '127.0.0.1')}/hooks`, close: () => close(server) };
};

adapterSuite('node:http', startNode);

describe('node:http adapter specifics', () => {
  it('answers 405 to anything but POST', async () => {
    const receiver = createReceiver({ secrets: generateSecret(), router: createRouter() });
    const server = await startNode(receiver);
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    } finally {
      await server.close();
    }
  });

  it('serves IPv6 clients (::1)', async () => {
    const receiver = createReceiver({ secrets: generateSecret(), router: createRouter(), allowlist: ['::1'] });
    const server = await startNode(receiver);
    try {
      // Unsigned, so 400 means it got past the allowlist and reached verification.
      const res = await fetch(server.url.replace('127.0.0.1', '[::1]'), { method: 'POST', body: '{}' });
      expect(res.status).toBe(400);
    } finally {
      await server.close();
    }
  });
});
