// CORS, as Svix's server does it (svix.md §2.1): any origin is allowed and reflected, any method of
// the API, the request's headers mirrored on a preflight, and preflights cached for 600 s. Every
// response varies by Origin.
//
// Written here rather than taken from @fastify/cors, which Herald used before: that plugin resolves
// its options for every request (an object spread and closures), even for the requests that carry
// no Origin header and so are not CORS requests at all. That is every server-to-server call, the
// whole ingest path, and it measured 2.6% of the ingest thread's CPU profile. For the same reason
// the API's own routes set the headers in their handler (and in the error and not-found paths)
// rather than through an onRequest hook: Fastify's hook runner alone measured 1.6%. Routes that
// are not the API's (docs, metrics, the dashboard's files) use the hook. The test suite pins the
// headers on every kind of answer.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const MAX_AGE_S = '600';

/** The headers every answer but a preflight's carries. */
export function corsHeaders(reply: FastifyReply): void {
  reply.header('vary', 'Origin');
  const origin = reply.request.headers.origin;
  if (origin !== undefined) reply.header('access-control-allow-origin', origin);
}

/** corsHeaders as an onRequest hook, for routes whose handlers do not call it. */
export function corsHook(_req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  corsHeaders(reply);
  done();
}

/**
 * Preflights: an OPTIONS request to any path. Answered without authentication, since a browser
 * sends no credentials on one. An OPTIONS request that is not a preflight is 400.
 */
export function registerPreflight(app: FastifyInstance): void {
  app.options('*', (req, reply) => {
    const origin = req.headers.origin;
    const method = req.headers['access-control-request-method'];
    if (origin === undefined || method === undefined) {
      reply.header('vary', 'Origin');
      const missing = origin === undefined ? 'Origin' : 'Access-Control-Request-Method';
      return reply.code(400).send({ code: 'bad_request', detail: `Not a CORS preflight: the ${missing} header is missing` });
    }
    reply.header('vary', 'Origin, Access-Control-Request-Headers');
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-methods', ALLOW_METHODS);
    const asked = req.headers['access-control-request-headers'];
    if (asked !== undefined) reply.header('access-control-allow-headers', asked);
    reply.header('access-control-max-age', MAX_AGE_S);
    return reply.code(204).header('content-length', '0').send();
  });
}
