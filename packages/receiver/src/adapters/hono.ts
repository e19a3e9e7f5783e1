/**
 * Hono adapter: `app.post('/webhooks', honoHandler(receiver))`. No runtime import of hono.
 * On @hono/node-server the socket address is read from `c.env.incoming`; on other runtimes pass
 * `remoteAddress` (e.g. from hono's getConnInfo).
 */
import type { Receiver } from '../receiver.js';
import { handleFetchRequest } from './fetch.js';

/** The parts of Hono's context this adapter reads. */
export interface HonoLikeContext {
  /** `bodyCache`: what Hono keeps when a middleware read the body (values are promises at run time). */
  req: { raw: Request; bodyCache?: { arrayBuffer?: unknown; text?: unknown; blob?: unknown } };
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

export function honoHandler<C extends HonoLikeContext>(receiver: Receiver, options: HonoHandlerOptions<C> = {}): (c: C) => Promise<Response> {
  const remoteAddress = options.remoteAddress ?? nodeServerAddress;
  return async (c) => {
    const request = c.req.raw;
    if (!request.bodyUsed) return handleFetchRequest(receiver, request, remoteAddress(c));
    return handleFetchRequest(receiver, request, remoteAddress(c), await cachedRawBody(c.req.bodyCache));
  };
}

/**
 * The exact body a middleware already read (`c.req.text()`, `.json()`, `.arrayBuffer()`, …): Hono
 * caches it, as bytes or as the text it decoded. Null when only a parsed form is left (form data,
 * or JSON in Hono versions that cache the parsed value), which cannot be turned back into the
 * signed bytes.
 */
async function cachedRawBody(cache: HonoLikeContext['req']['bodyCache']): Promise<Uint8Array | string | null> {
  if (!cache) return null;
  try {
    const bytes: unknown = await cache.arrayBuffer;
    if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
    const text: unknown = await cache.text;
    if (typeof text === 'string') return text;
    const blob: unknown = await cache.blob;
    if (blob instanceof Blob) return new Uint8Array(await blob.arrayBuffer());
  } catch {
    // The earlier read failed (the client went away): there is no body to verify.
  }
  return null;
}
