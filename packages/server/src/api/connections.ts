// What a connection may cost the server. A request is read only while it keeps its bounds:
// `requestTimeout` bounds receiving a whole request (headers and body), `idleTimeout` closes a
// connection that sends nothing, or sits idle between keep-alive requests, and errors the HTTP
// parser raises below Fastify (a malformed request, headers too large, a timeout) answer Herald's
// `{code, detail}`. A connection waiting for its answer is never cut for being quiet: the idle
// timer only runs while no request is in flight on it.
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';

export interface ConnectionLimits {
  /** Longest a whole request may take to arrive (HERALD_REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  /** Longest a connection may sit without sending anything outside a request (HERALD_IDLE_TIMEOUT). */
  idleTimeoutMs: number;
}

/** How often Node checks requests against their timeouts: often enough to hold the bound closely. */
const CHECK_INTERVAL_MS = 1000;

/** Fastify's server options for these limits. */
export function connectionOptions(l: ConnectionLimits): Partial<FastifyServerOptions> {
  const headersTimeout = Math.min(l.requestTimeoutMs, Math.max(l.idleTimeoutMs, 1000));
  return {
    connectionTimeout: l.idleTimeoutMs,
    keepAliveTimeout: l.idleTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    http: { connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, l.requestTimeoutMs), headersTimeout, requestTimeout: l.requestTimeoutMs },
    clientErrorHandler,
  } as Partial<FastifyServerOptions>;
}

const inFlight = new WeakMap<Socket, number>();
const open = new WeakMap<Server, Set<Socket>>();
const draining = new WeakSet<Server>();

/**
 * Idle sockets close; a socket with a request in flight stays (its handler may legitimately take
 * a while, say a store that is slow to answer). Call once, before listening.
 */
export function watchConnections(server: Server): void {
  const sockets = new Set<Socket>();
  open.set(server, sockets);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('request', (req, res: ServerResponse) => {
    const s = req.socket;
    inFlight.set(s, (inFlight.get(s) ?? 0) + 1);
    res.once('close', () => {
      const left = Math.max(0, (inFlight.get(s) ?? 1) - 1);
      inFlight.set(s, left);
      // Shutting down: a connection is done once its last answer is out.
      if (left === 0 && draining.has(server)) s.end();
    });
  });
  // With a listener here Node leaves the decision to us instead of destroying the socket.
  server.on('timeout', (socket: Socket) => {
    if ((inFlight.get(socket) ?? 0) > 0) return;
    socket.destroy();
  });
}

/**
 * Shutting down: close every connection with no request in flight now (idle keep-alive ones, and
 * those that never sent a byte), and each of the others once its answer is out.
 */
export function drainConnections(server: Server): void {
  draining.add(server);
  for (const s of open.get(server) ?? []) if ((inFlight.get(s) ?? 0) === 0) s.destroy();
}

/** The shutdown grace is over: cut every connection still open. */
export function cutConnections(server: Server): void {
  server.closeAllConnections();
  for (const s of open.get(server) ?? []) s.destroy();
}

/** The HTTP parser's errors, in Herald's error shape (Fastify's default answers its own). */
function clientErrorHandler(err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let body: { code: string; detail: string } = { code: 'bad_request', detail: 'The request is not valid HTTP/1.1 and was not read' };
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = { code: 'request_timeout', detail: 'The request did not arrive in time (HERALD_REQUEST_TIMEOUT bounds a whole request)' };
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    body = { code: 'request_header_fields_too_large', detail: 'The request headers are larger than the server accepts (16 KiB in all)' };
  } else if (err.code === 'HPE_URI_TOO_LONG' || err.code === 'HPE_URL_TOO_LONG') {
    status = 414;
    body = { code: 'uri_too_long', detail: 'The request URL is longer than the server accepts' };
  }
  if (socket.writable) {
    const text = JSON.stringify(body);
    const reason = { 400: 'Bad Request', 408: 'Request Timeout', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' }[status];
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}
