// The dashboard's side of the server: GET /api/v1/auth/session (which tenant and permissions a
// portal token carries) and the built dashboard served under /portal/ with strict headers.
// The dashboard must be built (npm run build, which npm test runs first).
import Fastify from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { portalRoutes } from '../src/api/portal.js';
import { createApp, createEndpoint, portalToken, sendMessage, unique } from './helpers/fixtures.js';
import { useInProcess } from './helpers/inproc.js';

describe('GET /api/v1/auth/session', () => {
  const h = useInProcess();

  it('tells a portal token its application and permissions', async () => {
    const app = (await createApp(h(), { uid: unique('tenant') })).id;
    const token = await portalToken(h(), app, { permissions: ['view', 'secrets'] });
    const r = await h().inject('GET', '/api/v1/auth/session', { token });
    expect(r.status).toBe(200);
    expect(r.json.appId).toBe(app);
    expect(r.json.permissions).toEqual(['view', 'secrets']);
    expect(Date.parse(r.json.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('answers 400 to the operator, 401 to a revoked or forged token', async () => {
    expect((await h().inject('GET', '/api/v1/auth/session')).status).toBe(400);
    const app = (await createApp(h(), { uid: unique('tenant') })).id;
    const token = await portalToken(h(), app);
    expect((await h().inject('POST', '/api/v1/auth/logout', { token })).status).toBe(204);
    expect((await h().inject('GET', '/api/v1/auth/session', { token })).status).toBe(401);
    expect((await h().inject('GET', '/api/v1/auth/session', { token: `${token.slice(0, -2)}xx` })).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h().inject('GET', '/api/v1/openapi.json')).json;
    expect(doc.paths['/api/v1/auth/session'].get.operationId).toBe('v1.authentication.session');
  });
});

describe('a portal session sends nothing while the webhooks module is off', () => {
  const h = useInProcess();

  it('refuses test sends, resends and recovers with 409 module_disabled, and writes nothing; the operator still may', async () => {
    const app = (await createApp(h(), { uid: unique('tenant') })).id;
    const ep = (await createEndpoint(h(), app)).id;
    const msg = (await sendMessage(h(), app)).id;
    const token = await portalToken(h(), app);
    const sends: [string, unknown][] = [
      [`/api/v1/app/${app}/endpoint/${ep}/send-example`, { eventType: 'svix.ping' }],
      [`/api/v1/app/${app}/msg/${msg}/endpoint/${ep}/resend`, undefined],
      [`/api/v1/app/${app}/endpoint/${ep}/recover`, { since: new Date(Date.now() - 3600_000).toISOString() }],
    ];
    const messages = async () => (await h().inject('GET', `/api/v1/app/${app}/msg`)).json.data.length;
    for (const [path, body] of sends) {
      const r = await h().inject('POST', path, { token, body });
      expect(r.status, path).toBe(409);
      expect(r.json.code).toBe('module_disabled');
    }
    expect(await messages()).toBe(1);
    expect((await h().inject('POST', sends[0]![0], { body: sends[0]![1] })).status).toBe(200);

    expect((await h().inject('PUT', `/api/v1/app/${app}/engage/module`, { body: { enabled: true } })).status).toBe(200);
    const statuses = [];
    for (const [path, body] of sends) statuses.push((await h().inject('POST', path, { token, body })).status);
    expect(statuses).toEqual([200, 202, 202]);
  });
});

describe('GET /api/v1/background-task/{task_id} for portal tokens', () => {
  const h = useInProcess();

  it("reads its own application's recover, even with only `view`; another tenant's task answers 404 exactly like an unknown id", async () => {
    const mine = (await createApp(h(), { uid: unique('tenant') })).id;
    const theirs = (await createApp(h(), { uid: unique('tenant') })).id;
    expect((await h().inject('PUT', `/api/v1/app/${mine}/engage/module`, { body: { enabled: true } })).status).toBe(200);
    const ep = (await createEndpoint(h(), mine)).id;
    const manage = await portalToken(h(), mine);
    const viewer = await portalToken(h(), mine, { permissions: ['view'] });
    const stranger = await portalToken(h(), theirs);

    const started = await h().inject('POST', `/api/v1/app/${mine}/endpoint/${ep}/recover`, {
      token: manage,
      body: { since: new Date(Date.now() - 3600_000).toISOString() },
    });
    expect(started.status).toBe(202);
    const path = `/api/v1/background-task/${started.json.id}`;
    // The recover runs after the answer; its row says when it is done.
    let task = (await h().inject('GET', path)).json;
    for (let i = 0; i < 200 && task.status === 'running'; i++) {
      await new Promise((r) => setImmediate(r));
      task = (await h().inject('GET', path)).json;
    }
    expect(task).toMatchObject({ id: started.json.id, status: 'finished', task: 'endpoint.recover', data: { endpointId: ep, messagesSent: 0 } });

    for (const token of [manage, viewer]) {
      const r = await h().inject('GET', path, { token });
      expect(r.status).toBe(200);
      expect(r.json).toEqual(task);
    }
    const foreign = await h().inject('GET', path, { token: stranger });
    const unknown = await h().inject('GET', `/api/v1/background-task/${started.json.id.slice(0, -4)}zzzz`, { token: stranger });
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(foreign.json).toEqual(unknown.json);
    expect(foreign.text).toBe(unknown.text);

    // A task from before tasks recorded their application is the operator's alone.
    const old = { ...(await h().herald.store.getBackgroundTask(started.json.id))!, id: `${started.json.id.slice(0, -4)}oldt`, appId: null };
    await h().herald.store.createBackgroundTask(old);
    expect((await h().inject('GET', `/api/v1/background-task/${old.id}`)).status).toBe(200);
    expect((await h().inject('GET', `/api/v1/background-task/${old.id}`, { token: manage })).status).toBe(404);
  });

  it('answers 401 without a valid token', async () => {
    expect((await h().inject('GET', '/api/v1/background-task/qtask_x', { token: null })).status).toBe(401);
  });
});

describe('the dashboard under /portal/', () => {
  const h = useInProcess();

  it('serves the app with a strict Content-Security-Policy, no framing and no referrer', async () => {
    for (const path of ['/portal/', '/portal']) {
      const r = await h().inject('GET', path, { token: null });
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expect(r.text).toContain('<div id="root">');
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['cache-control']).toBe('no-cache');
    }
  });

  it('answers HEAD like GET, and /favicon.ico with the portal icon', async () => {
    for (const path of ['/portal/', '/portal']) {
      const r = await h().inject('HEAD', path, { token: null });
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
    }
    const icon = await h().inject('GET', '/favicon.ico', { token: null });
    expect(icon.status).toBe(200);
    expect(icon.headers['content-type']).toContain('image/svg+xml');
    expect(icon.text).toContain('<svg');
  });

  it('serves the hashed assets the page names, cacheable for good; unknown files are 404', async () => {
    const page = (await h().inject('GET', '/portal/', { token: null })).text;
    const assets = [...page.matchAll(/(?:src|href)="(\/portal\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const a of assets) {
      const r = await h().inject('GET', a, { token: null });
      expect(r.status, a).toBe(200);
      expect(r.headers['cache-control']).toContain('immutable');
    }
    expect((await h().inject('GET', '/portal/assets/nope.js', { token: null })).status).toBe(404);
    expect((await h().inject('GET', '/portal/../package.json', { token: null })).status).toBe(404);
  });

  it('says the dashboard is not built instead of failing obscurely', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'herald-nodash-'));
    try {
      const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
      await portalRoutes(app, {}, empty);
      const r = await app.inject({ url: '/portal/' });
      expect(r.statusCode).toBe(503);
      expect(r.json().code).toBe('dashboard_not_built');
      await app.close();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
