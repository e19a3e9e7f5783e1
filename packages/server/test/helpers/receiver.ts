// A scriptable, recording webhook receiver for the delivery tests: a real node:http server on
// 127.0.0.1 (port 0) that records every request (method, path, headers, raw body, arrival time)
// and answers as the test scripts it, per path. Waiting is done against a deadline on the
// recorded requests, never by fixed sleeps.

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  /** Arrival order across the whole receiver, from 0. */
  seq: number;
  method: string;
  /** The path without the query string, e.g. `/hook-a`. */
  path: string;
  /** The request target as sent (path and query). */
  url: string;
  /** Lower-cased header names, as node parses them. */
  headers: IncomingHttpHeaders;
  /** Header names in the case they were sent, alternating name and value. */
  rawHeaders: string[];
  /** The peer's address as the receiver's socket saw it (the delivery's source address). */
  remoteAddress: string;
  /** The body bytes exactly as received. */
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
  /** Epoch ms when the whole body had arrived. */
  at: number;
  /** `performance.now()` when the whole body had arrived (monotonic, sub-millisecond). */
  hr: number;
  /** The status the receiver answered with, once the answer was handed to the socket (undefined while held, or if the client went away first). */
  answeredStatus?: number;
  /** `performance.now()` when the answer was sent. */
  answeredHr?: number;
}

/** What to answer. `hang: true` never answers (the socket stays open until the client gives up). */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering. */
  delayMs?: number;
  hang?: boolean;
}

export type Responder = (req: ReceivedRequest) => Reply | Promise<Reply>;

export interface WaitOptions {
  /** Only requests on this path. */
  path?: string;
  /** Extra filter. */
  where?: (r: ReceivedRequest) => boolean;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
}

export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly responders = new Map<string, Responder>();
  private defaultResponder: Responder = () => ({ status: 200, body: '{"ok":true}' });
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private open = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<Receiver> {
    let self: Receiver | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    self = new Receiver(server, (server.address() as AddressInfo).port);
    server.on('connection', (s: Socket) => {
      self!.sockets.add(s);
      s.once('close', () => self!.sockets.delete(s));
    });
    return self;
  }

  /** `http://127.0.0.1:<port><path>` */
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Script the answers on one path (replaces any earlier script for it). */
  on(path: string, responder: Responder | Reply): this {
    this.responders.set(path, typeof responder === 'function' ? responder : () => responder);
    return this;
  }

  /** Script the answers on every path without its own script. */
  otherwise(responder: Responder | Reply): this {
    this.defaultResponder = typeof responder === 'function' ? responder : () => responder;
    return this;
  }

  /** Answer with each reply in turn, then keep answering with the last one. */
  static sequence(...replies: Reply[]): Responder {
    let i = 0;
    return () => replies[Math.min(i++, replies.length - 1)]!;
  }

  /** Recorded requests, optionally only those on `path` (and matching `where`). */
  received(path?: string, where?: (r: ReceivedRequest) => boolean): ReceivedRequest[] {
    return this.requests.filter((r) => (path === undefined || r.path === path) && (where === undefined || where(r)));
  }

  /** Requests on `path` that carry this message id (svix-id or webhook-id). */
  forMessage(path: string, msgId: string): ReceivedRequest[] {
    return this.received(path, (r) => (r.headers['svix-id'] ?? r.headers['webhook-id']) === msgId);
  }

  /** Resolve with the first `n` matching requests once they have arrived; reject at the deadline. */
  async waitForCount(n: number, opts: WaitOptions = {}): Promise<ReceivedRequest[]> {
    const pick = () => this.received(opts.path, opts.where);
    await this.waitUntil(() => pick().length >= n, {
      timeoutMs: opts.timeoutMs,
      what: () => `${n} request(s)${opts.path ? ` on ${opts.path}` : ''}; got ${pick().length}`,
    });
    return pick().slice(0, n);
  }

  /** Resolve once `pred()` holds (checked on every arrival and every 20 ms); reject at the deadline. */
  waitUntil(pred: () => boolean, opts: { timeoutMs?: number; what?: () => string } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const tick = setInterval(check, 20);
      const deadline = setTimeout(() => {
        cleanup();
        reject(new Error(`receiver: timed out after ${timeoutMs} ms waiting for ${opts.what?.() ?? 'a condition'}`));
      }, timeoutMs);
      const cleanup = () => {
        clearInterval(tick);
        clearTimeout(deadline);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Requests received and not yet answered or abandoned (e.g. held by a delay). */
  get pending(): number {
    return this.open;
  }

  /** Forget what was recorded (scripts stay). */
  clear(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      return; // the client went away mid-body
    }
    const body = Buffer.concat(chunks);
    const target = req.url ?? '/';
    const rec: ReceivedRequest = {
      seq: this.requests.length,
      method: req.method ?? '',
      path: target.split('?')[0]!,
      url: target,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      remoteAddress: req.socket.remoteAddress ?? '',
      body,
      text: body.toString('utf8'),
      at: Date.now(),
      hr: performance.now(),
    };
    this.requests.push(rec);
    this.open++;
    let settledOnce = false;
    const settle = () => {
      if (settledOnce) return;
      settledOnce = true;
      this.open--;
      for (const w of [...this.waiters]) w();
    };
    res.once('close', settle);
    for (const w of [...this.waiters]) w();

    let reply: Reply;
    try {
      reply = await (this.responders.get(rec.path) ?? this.defaultResponder)(rec);
    } catch (e) {
      reply = { status: 500, body: `responder threw: ${(e as Error).message}` };
    }
    if (reply.hang || this.closed) return;
    if (reply.delayMs) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          r();
        }, reply.delayMs);
        this.timers.add(t);
      });
      if (this.closed || res.destroyed) return;
    }
    const status = reply.status ?? 200;
    res.once('finish', () => {
      rec.answeredStatus = status;
      rec.answeredHr = performance.now();
    });
    res.writeHead(status, reply.headers ?? {});
    res.end(reply.body ?? '');
  }
}
