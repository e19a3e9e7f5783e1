// The Administration → Webhooks dashboard (packages/dashboard), served as static files under
// /portal/. A portal link is `<public url>/portal/#key=<token>`: the token rides in the fragment,
// which browsers never send to a server, so it stays out of access logs and Referer headers.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** packages/dashboard/dist, seen from packages/server/dist/api/portal.js (or src/api/portal.ts). */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url));

// The app loads only its own files and talks only to this origin; nothing may frame it.
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

export async function portalRoutes(app: FastifyInstance, root = DASHBOARD_DIST): Promise<void> {
  if (!existsSync(`${root}/index.html`)) {
    const notBuilt = { code: 'dashboard_not_built', detail: 'The dashboard is not built: run `npm run build`.' };
    app.get('/portal', async (_req, reply) => reply.code(503).send(notBuilt));
    app.get('/portal/*', async (_req, reply) => reply.code(503).send(notBuilt));
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/portal/',
    index: ['index.html'],
    wildcard: true,
    cacheControl: false, // set below, per file
    setHeaders(res, path) {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      // Vite names assets by content hash: they never change. index.html must be re-checked.
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // The router ignores trailing slashes, so `/portal/` is `/portal`, which the wildcard above misses.
  app.get('/portal', async (_req, reply) => reply.sendFile('index.html'));
}
