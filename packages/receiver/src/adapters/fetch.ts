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

export async function handleFetchRequest(
  receiver: Receiver,
  request: Request,
  remoteAddress: string | undefined,
): Promise<Response> {
  if (request.method !== 'POST') {
    return new Response(JSON.stringify({ code: 'method_not_allowed', detail: 'webhooks are delivered with POST' }), {
      status: 405,
      headers: { allow: 'POST', 'content-type': 'application/json; charset=utf-8' },
    });
  }
  const refused = receiver.checkSource(request.headers, remoteAddress);
  if (refused) return toResponse(refused);
  const rawBody = await readLimited(request, receiver.maxBodyBytes);
  if (rawBody === undefined) {
    return toResponse(receiver.refuse('payload_too_large', `the body is larger than ${receiver.maxBodyBytes} bytes`));
  }
  return toResponse(await receiver.handle({ rawBody, headers: request.headers, remoteAddress }));
}
