// CORS, as Svix's server does it (svix.md §2.1): any origin is allowed and reflected, any method of
// the API, the request's headers mirrored on a preflight, and preflights cached for 600 s. Every
// response varies by Origin.
//
// Written here rather than taken from @fastify/cors, which Herald used before: that plugin resolves
// its options for every request (an object spread and closures), even for the requests that carry
// no Origin header and so are not CORS requests at all. That is every server-to-server call, the
// whole ingest path, and it measured 2.6% of the ingest thread's CPU profile. This hook does a
// header check for those and the same as the plugin for the rest; the test suite pins the headers.
import type { FastifyInstance } from 'fastify';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const MAX_AGE_S = '600';

export function registerCors(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    const origin = req.headers.origin;
    if (req.method !== 'OPTIONS') {
      reply.header('vary', 'Origin');
      if (origin !== undefined) reply.header('access-control-allow-origin', origin);
      return done();
    }
    // A preflight must name its origin and the method it asks about.
    const method = req.headers['access-control-request-method'];
    if (origin === undefined || method === undefined) {
      reply.header('vary', 'Origin');
      return reply.code(400).type('text/plain').send('Invalid Preflight Request');
    }
    reply.header('vary', 'Origin, Access-Control-Request-Headers');
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-methods', ALLOW_METHODS);
    const asked = req.headers['access-control-request-headers'];
    if (asked !== undefined) reply.header('access-control-allow-headers', asked);
    reply.header('access-control-max-age', MAX_AGE_S);
    // Answered here, before authentication: a browser sends no credentials on a preflight.
    return reply.code(204).header('content-length', '0').send();
  });
  // So that a preflight to any path reaches the hook rather than the not-found handler.
  app.options('*', (_req, reply) => reply.code(204).send());
}
