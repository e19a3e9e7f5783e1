// CORS as Svix's server does it (svix.md §2.1): any origin reflected, the API's methods, the
// request's headers mirrored on a preflight, max-age 600 s, and `Vary: Origin` on every answer.
// A preflight is answered before authentication, since browsers send no credentials on one.
import { describe, expect, it } from 'vitest';
import { useInProcess } from './helpers/inproc.js';

const ORIGIN = 'https://dashboard.example.com';

describe('CORS', () => {
  const h = useInProcess();

  it('a request without an Origin header gets Vary: Origin and no CORS headers', async () => {
    const r = await h().inject('GET', '/api/v1/app');
    expect(r.status).toBe(200);
    expect(r.headers.vary).toBe('Origin');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('a request with an Origin has it reflected, on success, on refusal and on an unknown route', async () => {
    for (const [path, token, status] of [
      ['/api/v1/app', undefined, 200],
      ['/api/v1/app', null, 401],
      ['/api/v1/nope', null, 404],
    ] as const) {
      const r = await h().inject('GET', path, { token, headers: { origin: ORIGIN } });
      expect(r.status, path).toBe(status);
      expect(r.headers['access-control-allow-origin'], path).toBe(ORIGIN);
      expect(r.headers.vary, path).toBe('Origin');
    }
    const post = await h().inject('POST', '/api/v1/app', { body: { name: 'from a browser' }, headers: { origin: ORIGIN } });
    expect(post.status).toBe(201);
    expect(post.headers['access-control-allow-origin']).toBe(ORIGIN);
  });

  it('every kind of answer carries them: errors before the handler, replays, docs, metrics, the dashboard', async () => {
    const origin = { origin: ORIGIN };
    const json = { ...origin, 'content-type': 'application/json' };
    const key = { ...origin, 'idempotency-key': `cors-${Date.now()}` };
    const cases: [string, () => ReturnType<ReturnType<typeof h>['inject']>, number][] = [
      ['malformed JSON (the body parser)', () => h().inject('POST', '/api/v1/app', { raw: '{"name":', headers: json }), 422],
      ['unsupported media type', () => h().inject('POST', '/api/v1/app', { raw: 'x', headers: { ...origin, 'content-type': 'text/csv' } }), 415],
      ['a body over the limit', () => h().inject('POST', '/api/v1/app', { raw: `{"name":"${'x'.repeat(3 * 1024 * 1024)}"}`, headers: json }), 413],
      ['a validation error', () => h().inject('POST', '/api/v1/app', { body: { name: 5 }, headers: origin }), 422],
      ['an idempotent first answer', () => h().inject('POST', '/api/v1/app', { body: { name: 'idem' }, headers: key }), 201],
      ['its replay', () => h().inject('POST', '/api/v1/app', { body: { name: 'idem' }, headers: key }), 201],
      ['the OpenAPI document', () => h().inject('GET', '/api/v1/openapi.json', { token: null, headers: origin }), 200],
      ['the docs page', () => h().inject('GET', '/docs', { token: null, headers: origin }), 200],
      ['metrics without a token', () => h().inject('GET', '/metrics', { token: null, headers: origin }), 401],
      ['metrics', () => h().inject('GET', '/metrics', { headers: origin }), 200],
      ['the dashboard', () => h().inject('GET', '/portal/', { token: null, headers: origin }), 200],
    ];
    for (const [what, send, status] of cases) {
      const r = await send();
      expect(r.status, what).toBe(status);
      expect(r.headers['access-control-allow-origin'], what).toBe(ORIGIN);
      expect(r.headers.vary, what).toBe('Origin');
    }
  });

  it('a preflight is 204 without a token, mirrors the asked headers and allows the API methods', async () => {
    const r = await h().inject('OPTIONS', '/api/v1/app/some-app/msg', {
      token: null,
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(r.headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'authorization,content-type,idempotency-key',
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Headers',
      'content-length': '0',
    });
    const bare = await h().inject('OPTIONS', '/anything/at/all', { token: null, headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } });
    expect(bare.status).toBe(204);
    expect(bare.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(bare.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('an OPTIONS request that is not a preflight is 400', async () => {
    const cases: Record<string, string>[] = [{}, { origin: ORIGIN }, { 'access-control-request-method': 'GET' }];
    for (const headers of cases) {
      const r = await h().inject('OPTIONS', '/api/v1/app', { token: null, headers });
      expect(r.status, JSON.stringify(headers)).toBe(400);
      // Herald's error shape, like every other answer, naming the missing header.
      expect(r.json.code).toBe('bad_request');
      expect(r.json.detail).toMatch(/Not a CORS preflight: the (Origin|Access-Control-Request-Method) header is missing/);
      expect(r.headers['access-control-allow-methods']).toBeUndefined();
    }
  });
});
