// The Administration → Webhooks dashboard (packages/dashboard), served as static files under
// /portal/. A portal link is `<public url>/portal/#key=<token>`: the token rides in the fragment,
// which browsers never send to a server, so it stays out of access logs and Referer headers.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PortalLook } from './portal-look.js';

/** packages/dashboard/dist, seen from packages/server/dist/api/portal.js (or src/api/portal.ts). */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url));

export interface PortalOptions {
  /**
   * Origins that may show the portal in a frame (HERALD_PORTAL_FRAME_ANCESTORS), e.g. the host
   * product's admin. Empty: nothing may frame it.
   */
  frameAncestors?: readonly string[];
  /** The look a link's `look` parameter carries, null when its signature does not hold (portal-look.ts). */
  look?: (param: string) => PortalLook | null;
}

/** The `look` query parameter of a request URL, if any. */
function lookParam(url: string | undefined): string | null {
  const q = url?.split('?')[1];
  return q ? new URLSearchParams(q).get('look') : null;
}

/**
 * The app loads only its own files and talks only to this origin. Framing is refused unless the
 * operator names the origins that may embed it; then the CSP lists them, and X-Frame-Options
 * (which cannot name an origin) is left out, since it would override the list.
 */
export function portalSecurityHeaders(opts: PortalOptions = {}, look: PortalLook | null = null): Record<string, string> {
  const ancestors = opts.frameAncestors?.length ? opts.frameAncestors.join(' ') : "'none'";
  // A branded link's logo comes from the host product: its origin (and only it) may serve images.
  const logo = look?.logoUrl ? ` ${new URL(look.logoUrl).origin}` : '';
  const headers: Record<string, string> = {
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:${logo}; connect-src 'self'; frame-ancestors ${ancestors}; base-uri 'none'; form-action 'none'`,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
  if (!opts.frameAncestors?.length) headers['x-frame-options'] = 'DENY';
  return headers;
}

export async function portalRoutes(app: FastifyInstance, opts: PortalOptions = {}, root = DASHBOARD_DIST): Promise<void> {
  if (!existsSync(`${root}/index.html`)) {
    const notBuilt = { code: 'dashboard_not_built', detail: 'The dashboard is not built: run `npm run build`.' };
    app.get('/portal', async (_req, reply) => reply.code(503).send(notBuilt));
    app.get('/portal/*', async (_req, reply) => reply.code(503).send(notBuilt));
    return;
  }
  const security = portalSecurityHeaders(opts);
  const lookOf = (url: string | undefined) => {
    const param = lookParam(url);
    return param && opts.look ? opts.look(param) : null;
  };
  // A link whose look was altered (or signed by another Herald) gets no page at all.
  app.addHook('onRequest', async (req, reply) => {
    const param = lookParam(req.url);
    if (param !== null && req.url.startsWith('/portal') && !lookOf(req.url)) {
      return reply.code(400).type('text/plain').send('This portal link was altered. Ask for a new one.');
    }
  });
  await app.register(fastifyStatic, {
    root,
    prefix: '/portal/',
    index: ['index.html'],
    wildcard: true,
    cacheControl: false, // set below, per file
    setHeaders(res, path) {
      // @fastify/static passes the raw ServerResponse, whose request carries the link's query.
      const look = lookOf((res as unknown as { req?: { url?: string } }).req?.url);
      for (const [k, v] of Object.entries(look ? portalSecurityHeaders(opts, look) : security)) res.setHeader(k, v);
      // Vite names assets by content hash: they never change. index.html must be re-checked.
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // The router ignores trailing slashes, so `/portal/` is `/portal`, which the wildcard above
  // misses. HEAD as well as GET: uptime checks and link previews ask with HEAD.
  app.route({ method: ['GET', 'HEAD'], url: '/portal', handler: async (_req, reply) => reply.sendFile('index.html') });
  // Browsers ask the site root for an icon whatever the page says; answer with the portal's.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/favicon.ico',
    handler: async (_req, reply) => reply.header('cache-control', 'public, max-age=86400').type('image/svg+xml').sendFile('favicon.svg'),
  });
}
