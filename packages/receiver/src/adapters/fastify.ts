/**
 * Fastify plugin: `app.register(fastifyPlugin, { receiver, path: '/webhooks' })`. It registers one
 * POST route inside its own encapsulated scope, with a content-type parser that keeps the raw
 * bytes, so the app's JSON parsing elsewhere is untouched. No runtime import of fastify.
 */
import type { IncomingMessage } from 'node:http';
import type { Receiver, ReceiverResponse } from '../receiver.js';

export interface FastifyPluginOptions {
  receiver: Receiver;
  /** The route path. Default `/`. */
  path?: string | undefined;
}

interface FastifyLikeRequest {
  body: unknown;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

interface FastifyLikeReply {
  code(status: number): FastifyLikeReply;
  header(name: string, value: string): FastifyLikeReply;
  send(payload?: unknown): FastifyLikeReply;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
}

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyLikeInstance {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string,
    opts: { parseAs: 'buffer'; bodyLimit: number },
    parser: (request: unknown, body: Buffer, done: (err: Error | null, body?: unknown) => void) => void,
  ): void;
  addHook(name: 'onRequest', hook: (request: FastifyLikeRequest, reply: FastifyLikeReply, done: () => void) => void): unknown;
  setErrorHandler(handler: (error: FastifyLikeError, request: FastifyLikeRequest, reply: FastifyLikeReply) => void): unknown;
  post(path: string, handler: (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<unknown>): unknown;
}

function send(reply: FastifyLikeReply, response: ReceiverResponse): FastifyLikeReply {
  return reply.code(response.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(response.body));
}

export function fastifyPlugin(instance: FastifyLikeInstance, options: FastifyPluginOptions, done: (err?: Error) => void): void {
  const { receiver } = options;
  // Every content type, as raw bytes: the signature covers the bytes, whatever the sender labels them.
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: receiver.maxBodyBytes }, (_req, body, next) => next(null, body));
  // Refuse disallowed sources before the body is read.
  instance.addHook('onRequest', (request, reply, next) => {
    const refused = receiver.checkSource(request.headers, request.raw.socket.remoteAddress);
    if (refused) send(reply.header('connection', 'close'), refused);
    else next();
  });
  instance.setErrorHandler((error, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      send(reply, receiver.refuse('payload_too_large', `the body is larger than ${receiver.maxBodyBytes} bytes`));
    } else {
      send(reply, receiver.refuse('handler_failed', error.message, error));
    }
  });
  instance.post(options.path ?? '/', async (request, reply) => {
    const rawBody = request.body instanceof Uint8Array ? request.body : Buffer.alloc(0);
    return send(reply, await receiver.handle({ rawBody, headers: request.headers, remoteAddress: request.raw.socket.remoteAddress }));
  });
  done();
}
