// GET /api/v1/version: the running version and the schema version of its store, for the operator
// (a tenant's portal token may not read it); health stays a bodiless 204.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/server/package.json'), 'utf8')) as { version: string };
const latest = (dialect: string) => Math.max(...readdirSync(join(REPO_ROOT, 'packages/server/migrations', dialect)).map((f) => Number(f.slice(0, 3))));

describe.each(['sqlite', 'postgres'] as const)('GET /api/v1/version on %s', (database) => {
  let h: InProcess;
  afterAll(() => h?.close());

  it('answers {version, schemaVersion} to the operator', async () => {
    h = await startInProcess({ database });
    const r = await h.inject('GET', '/api/v1/version');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ version: pkg.version, schemaVersion: latest(database) });
  });

  it('refuses no token (401) and a portal token (403)', async () => {
    expect((await h.inject('GET', '/api/v1/version', { token: null })).status).toBe(401);
    const app = await h.inject('POST', '/api/v1/app', { body: { name: 'v' } });
    const portal = await h.inject('POST', `/api/v1/auth/app-portal-access/${app.json.id}`, { body: {} });
    expect(portal.status).toBe(200);
    expect((await h.inject('GET', '/api/v1/version', { token: portal.json.token })).status).toBe(403);
  });

  it('health stays a 204 with no body, and the OpenAPI document describes the version operation', async () => {
    const health = await h.inject('GET', '/api/v1/health', { token: null });
    expect(health.status).toBe(204);
    expect(health.text).toBe('');
    const doc = await h.inject('GET', '/api/v1/openapi.json', { token: null });
    expect(doc.json.paths['/api/v1/version'].get.operationId).toBe('v1.version.get');
    expect(doc.json.components.schemas.VersionOut.required).toEqual(['version', 'schemaVersion']);
  });
});
