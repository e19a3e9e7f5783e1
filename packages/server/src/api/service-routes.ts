// Routes outside the contract: metrics, and Herald's own OpenAPI document (the Svix contract plus Herald's additions) and a docs page that
// renders it with Swagger UI, served from the installed package so it works offline.
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { forbidden } from '../domain/errors.js';
import type { ApiDeps } from './route.js';

const require = createRequire(import.meta.url);
const UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Herald API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>`;

// Kept out of the page so the docs work under a strict Content-Security-Policy.
const INIT = `window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#ui', deepLinking: true, persistAuthorization: true });`;

export function serviceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Prometheus metrics, behind the operator token (configure the scrape with it as a bearer token).
  app.get('/metrics', async (req, reply) => {
    const p = await deps.auth.authenticate(req.headers.authorization);
    if (p.kind !== 'operator') throw forbidden();
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  const doc = JSON.stringify({ ...deps.contract.document, servers: [{ url: deps.config.publicUrl }] });
  const cache = new Map<string, Buffer>();
  app.get('/api/v1/openapi.json', async (_req, reply) => reply.type('application/json').send(doc));
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  app.get('/docs/assets/init.js', async (_req, reply) => reply.type('application/javascript; charset=utf-8').send(INIT));
  app.get<{ Params: { file: string } }>('/docs/assets/:file', async (req, reply) => {
    const type = ASSETS[req.params.file];
    if (!type) return reply.code(404).send({ code: 'not_found', detail: 'No such asset' });
    let body = cache.get(req.params.file);
    if (!body) {
      body = readFileSync(join(UI_DIR, req.params.file));
      cache.set(req.params.file, body);
    }
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(body);
  });
}
