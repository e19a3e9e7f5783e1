/** node:http adapter: `http.createServer(nodeHandler(receiver))` or mounted inside another handler. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Receiver, ReceiverResponse } from '../receiver.js';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/**
 * Reads the raw body as bytes, refusing more than `limit` bytes. A declared Content-Length over the
 * limit is refused before reading anything.
 */
export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new BodyTooLargeError(`the body is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(`the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export function sendResponse(res: ServerResponse, response: ReceiverResponse): void {
  const body = JSON.stringify(response.body);
  res.writeHead(response.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Handles a request whose body has not been read yet. */
export async function handleNodeRequest(receiver: Receiver, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refused = receiver.checkSource(req.headers, req.socket.remoteAddress);
  if (refused) {
    // Tell the client not to keep streaming a body nobody will read.
    res.setHeader('connection', 'close');
    return sendResponse(res, refused);
  }
  let rawBody: Buffer;
  try {
    rawBody = await readRawBody(req, receiver.maxBodyBytes);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    res.setHeader('connection', 'close');
    return sendResponse(res, receiver.refuse('payload_too_large', err.message));
  }
  sendResponse(res, await receiver.handle({ rawBody, headers: req.headers, remoteAddress: req.socket.remoteAddress }));
}

/** A `(req, res)` listener for node:http. Only POST is accepted. */
export function nodeHandler(receiver: Receiver): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ code: 'method_not_allowed', detail: 'webhooks are delivered with POST' }));
      return;
    }
    handleNodeRequest(receiver, req, res).catch((err: unknown) => {
      // Only stream errors (client gone) reach here; answer if the socket is still there.
      if (!res.headersSent) sendResponse(res, receiver.refuse('handler_failed', String(err), err));
      else res.destroy();
    });
  };
}
