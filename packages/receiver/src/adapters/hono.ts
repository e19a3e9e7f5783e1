/**
 * Hono adapter: `app.post('/webhooks', honoHandler(receiver))`. No runtime import of hono.
 * On @hono/node-server the socket address is read from `c.env.incoming`; on other runtimes pass
 * `remoteAddress` (e.g. from hono's getConnInfo).
 */
import type { Receiver } from '../receiver.js';
import { handleFetchRequest } from './fetch.js';

/** The parts of Hono's context this adapter reads. */
export interface HonoLikeContext {
  req: { raw: Request };
  env?: unknown;
}

export interface HonoHandlerOptions<C extends HonoLikeContext> {
  /** The TCP peer address. Default: @hono/node-server's `c.env.incoming.socket.remoteAddress`. */
  remoteAddress?: (c: C) => string | undefined;
}

function nodeServerAddress(c: HonoLikeContext): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

export function honoHandler<C extends HonoLikeContext>(
  receiver: Receiver,
  options: HonoHandlerOptions<C> = {},
): (c: C) => Promise<Response> {
  const remoteAddress = options.remoteAddress ?? nodeServerAddress;
  return (c) => handleFetchRequest(receiver, c.req.raw, remoteAddress(c));
}
