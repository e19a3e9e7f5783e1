/**
 * Fetch-API adapter (Request → Response), the base of the Hono adapter; also usable on any runtime
 * with web-standard requests. The caller supplies the socket address, which fetch does not expose.
 */
import type { Receiver, ReceiverResponse } from '../receiver.js';

function toResponse(response: ReceiverResponse): Response {
  return new Response(JSON.stringify(response.body), {
    status: response.status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

/** Reads the body as bytes with a hard limit; undefined when it is too large. */
async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get('content-length'));
  if (declared > limit) return undefined;
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

const CONSUMED = 'the request body was read before the webhook handler and its raw bytes are gone: mount the handler before any body parser';

/**
 * Handles a fetch `Request`. `rawBody` is for frameworks whose middleware may already have read
 * the stream and kept its bytes (the Hono adapter passes Hono's cache); `null` means it was read
 * and only a parsed form is left. Without it the body is streamed from the request.
 */
export async function handleFetchRequest(
  receiver: Receiver,
  request: Request,
  remoteAddress: string | undefined,
  rawBody?: Uint8Array | string | null,
): Promise<Response> {
  if (request.method !== 'POST') {
    return new Response(JSON.stringify({ code: 'method_not_allowed', detail: 'webhooks are delivered with POST' }), {
      status: 405,
      headers: { allow: 'POST', 'content-type': 'application/json; charset=utf-8' },
    });
  }
  const refused = receiver.checkSource(request.headers, remoteAddress);
  if (refused) return toResponse(refused);
  if (rawBody === null || (rawBody === undefined && request.bodyUsed)) {
    return toResponse(receiver.refuse('raw_body_unavailable', CONSUMED));
  }
  // A body read earlier is size-checked by the receiver itself.
  let body: Uint8Array | string | undefined;
  try {
    body = rawBody ?? (await readLimited(request, receiver.maxBodyBytes));
  } catch (err) {
    // The client went away mid-body; the cause goes to onError, not into the answer.
    return toResponse(receiver.refuse('handler_failed', `reading the request body failed: ${String(err)}`, err));
  }
  if (body === undefined) {
    return toResponse(receiver.refuse('payload_too_large', `the body is larger than ${receiver.maxBodyBytes} bytes`));
  }
  return toResponse(await receiver.handle({ rawBody: body, headers: request.headers, remoteAddress }));
}
