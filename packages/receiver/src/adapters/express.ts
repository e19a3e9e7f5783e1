/**
 * Express adapter. Mount it before any JSON body parser, or behind `express.raw()`: verification
 * needs the exact bytes, which a JSON parser throws away. No runtime import of express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Receiver } from '../receiver.js';
import { handleNodeRequest, sendResponse } from './node.js';

/** The parts of express's `req` this adapter reads. */
export interface ExpressLikeRequest extends IncomingMessage {
  body?: unknown;
}

export type ExpressLikeNext = (err?: unknown) => void;

export function expressHandler(receiver: Receiver): (req: ExpressLikeRequest, res: ServerResponse, next: ExpressLikeNext) => void {
  return (req, res, next) => {
    const remoteAddress = req.socket.remoteAddress;
    const body = req.body;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      // express.raw() / express.text() kept the bytes for us (its own limit applies).
      receiver.handle({ rawBody: body, headers: req.headers, remoteAddress }).then((response) => sendResponse(res, response), next);
      return;
    }
    if (req.readableEnded) {
      sendResponse(
        res,
        receiver.refuse(
          'raw_body_unavailable',
          'a body parser consumed the request before the webhook handler: mount the handler before express.json(), or use express.raw()',
        ),
      );
      return;
    }
    handleNodeRequest(receiver, req, res).catch((err: unknown) => {
      // Only stream errors (the client went away) reach here. Not passed to `next`: express's
      // default error handler would send the error text back.
      if (!res.headersSent) sendResponse(res, receiver.refuse('handler_failed', String(err), err));
      else res.destroy();
    });
  };
}
