import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engageExample, type EngageEventType } from '@herald/engage';
import { signatureHeaders } from '@herald/receiver';

let counter = 0;
/** Unique per call and per process, so runs never collide in streams, queues or inboxes. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'herald-gw-'));
}

export function envelope(eventType: EngageEventType = 'point.balance.updated', eventId = uniqueName('evt')): Record<string, unknown> {
  return { ...engageExample(eventType), eventId } as unknown as Record<string, unknown>;
}

export interface PostResult {
  status: number;
  body: Record<string, unknown>;
}

/** Signs `body` now with `secret` and posts it. */
export async function postSigned(
  url: string,
  body: string,
  secret: string,
  opts: { id?: string; headers?: Record<string, string>; timestamp?: number } = {},
): Promise<PostResult> {
  const headers = {
    'content-type': 'application/json',
    ...signatureHeaders({ id: opts.id ?? uniqueName('msg'), timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000), body, secrets: secret }),
    ...opts.headers,
  };
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export interface Received {
  webhookId: string;
  eventType: string;
  body: Record<string, unknown>;
}

/** A loopback HTTP destination. `answer` decides each status (default 200); `hold` keeps requests open. */
export interface Sink {
  url: string;
  received: Received[];
  /** Every request as it arrived: headers and the exact body text, in the order of `received`. */
  raw: { headers: IncomingHttpHeaders; body: string }[];
  answer: (r: Received, n: number) => number | 'hold';
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const held: IncomingMessage[] = [];
  const sink: Sink = {
    url: '',
    received: [],
    raw: [],
    answer: () => 200,
    async close() {
      for (const req of held) req.socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sink.raw.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const r: Received = {
        webhookId: String(req.headers['herald-webhook-id']),
        eventType: String(req.headers['herald-event-type']),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
      };
      sink.received.push(r);
      const status = sink.answer(r, sink.received.length);
      if (status === 'hold') {
        held.push(req);
        return;
      }
      res.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return sink;
}

/**
 * Polls `check` until it returns true. Bounded: fails after `limitMs` with `what`, so a broken
 * gateway fails the test instead of hanging it. Not a timing assertion: only an upper bound.
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
