// The contract: every operation of the vendored Svix OpenAPI document is routed (with and without
// a trailing slash), and Herald serves its own OpenAPI document and a working docs page.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useInProcess, type Method } from './helpers/inproc.js';

const CONTRACT = JSON.parse(readFileSync(new URL('../contract/svix-openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, unknown>>;
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head'];
const OPERATIONS = Object.entries(CONTRACT.paths).flatMap(([path, item]) =>
  Object.keys(item)
    .filter((m) => METHODS.includes(m))
    .map((m) => ({ method: m.toUpperCase() as Method, path })),
);

const DUMMY: Record<string, string> = {
  app_id: 'dummy-app',
  endpoint_id: 'dummy-endpoint',
  msg_id: 'dummy-msg',
  attempt_id: 'atmpt_2aVHbyVjDtmnqf4k3nwCrUnPwQe',
  event_type_name: 'dummy.event',
};

function fill(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const v = DUMMY[name];
    if (v === undefined) throw new Error(`no dummy value for path parameter ${name}`);
    return v;
  });
}

const isRouterMiss = (status: number, json: any) => status === 404 && typeof json?.detail === 'string' && json.detail.startsWith('No route for');

describe('contract: routing', () => {
  const h = useInProcess();

  it('the vendored contract has the 43 operations of the Svix OSS server', () => {
    expect(OPERATIONS).toHaveLength(43);
  });

  it('an unknown path is the router\'s "No route for" 404 (so the check below can tell)', async () => {
    const r = await h().inject('GET', '/api/v1/app/dummy-app/not-a-resource');
    expect(isRouterMiss(r.status, r.json)).toBe(true);
    const wrongMethod = await h().inject('PUT', '/api/v1/app');
    expect(isRouterMiss(wrongMethod.status, wrongMethod.json)).toBe(true);
  });

  it('every contract operation is routed', async () => {
    const missing: string[] = [];
    for (const { method, path } of OPERATIONS) {
      const r = await h().inject(method, fill(path), { body: method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : {} });
      if (method === 'HEAD' ? r.status === 404 : isRouterMiss(r.status, r.json)) missing.push(`${method} ${path} → ${r.status} ${r.text}`);
    }
    expect(missing).toEqual([]);
  });

  it('every contract operation is routed with a trailing slash too', async () => {
    const missing: string[] = [];
    for (const { method, path } of OPERATIONS) {
      const r = await h().inject(method, `${fill(path)}/`, { body: method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : {} });
      if (method === 'HEAD' ? r.status === 404 : isRouterMiss(r.status, r.json)) missing.push(`${method} ${path}/ → ${r.status} ${r.text}`);
    }
    expect(missing).toEqual([]);
  });

  it('HEAD /api/v1/health answers like GET, without a body', async () => {
    const get = await h().inject('GET', '/api/v1/health', { token: null });
    const head = await h().inject('HEAD', '/api/v1/health', { token: null });
    expect(head.status).toBe(get.status);
    expect(head.text).toBe('');
    expect((await h().inject('HEAD', '/api/v1/health/ping', { token: null })).status).toBe(204);
  });
});

describe('contract: OpenAPI document and docs page', () => {
  const h = useInProcess();

  it("GET /api/v1/openapi.json serves Herald's document with every contract path", async () => {
    const r = await h().inject('GET', '/api/v1/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toContain('application/json');
    expect(r.json.info.title).toBe('Herald API');
    expect(typeof r.json.openapi).toBe('string');
    for (const { method, path } of OPERATIONS) {
      expect(r.json.paths[path]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
    }
  });

  it('GET /docs serves an HTML page whose scripts and stylesheets all load', async () => {
    const page = await h().inject('GET', '/docs', { token: null });
    expect(page.status).toBe(200);
    expect(String(page.headers['content-type'])).toContain('text/html');
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => u.startsWith('/'));
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const url of assets) {
      const r = await h().inject('GET', url, { token: null });
      expect(r.status, url).toBe(200);
      expect(r.text.length, url).toBeGreaterThan(0);
      const ct = String(r.headers['content-type']);
      if (url.endsWith('.css')) expect(ct, url).toContain('text/css');
      if (url.endsWith('.js')) expect(ct, url).toContain('javascript');
    }
  });

  it('the docs page points the UI at the served OpenAPI document', async () => {
    const page = await h().inject('GET', '/docs', { token: null });
    const scripts = [...page.text.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    const bodies = await Promise.all(scripts.map(async (s) => (await h().inject('GET', s, { token: null })).text));
    expect(page.text.includes('/api/v1/openapi.json') || bodies.some((b) => b.includes('/api/v1/openapi.json'))).toBe(true);
  });
});
