// The delivery timeout is a deadline for the whole attempt, not only for each wait: a receiver that
// answers its headers at once and then drips its body forever is cut off when the timeout runs out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSecret } from '@herald/receiver';
import { parsedSecret, Sender } from '../../src/delivery/send.js';
import { SsrfGuard } from '../../src/security/ssrf.js';

describe('delivery timeout', () => {
  let server: Server;
  let base: string;
  const drips = new Set<NodeJS.Timeout>();
  /** Drips whose connection the client closed. */
  let dripsCut = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      if (req.url === '/drip') {
        // Headers now, then a byte every 50 ms: no single wait is long, the whole never ends.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const t = setInterval(() => res.write('.'), 50);
        drips.add(t);
        res.on('close', () => {
          clearInterval(t);
          if (!res.writableEnded) dripsCut++;
        });
        return;
      }
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const t of drips) clearInterval(t);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const secret = parsedSecret(generateSecret());
  const request = (url: string) => ({ url, msgId: 'msg_timeout', body: '{}', secrets: [secret], headers: {}, timestampSeconds: Math.floor(Date.now() / 1000) });

  it('cuts off a body that drips for longer than the timeout, as a failed attempt with status 0 and a reason', async () => {
    const sender = new Sender({ timeoutMs: 400, headerPrefixes: ['webhook'], userAgent: 'test', guard: new SsrfGuard(['127.0.0.0/8']) });
    try {
      // The body never ends, so an answer at all means the attempt was cut off; the reason says by
      // the timeout, and the receiver sees its connection closed mid-body.
      const r = await sender.send(request(`${base}/drip`), Date.now);
      expect(r.statusCode).toBe(0);
      expect(r.outcome.kind).toBe('retry');
      expect(r.response).toBe('Timed out after 400 ms');
      await vi.waitFor(() => expect(dripsCut).toBe(1));
    } finally {
      await sender.close();
    }
  });
});
