// Bad input (issue "Bad input", svix.md §2.1 "Errors", §2.4): malformed JSON, wrong types,
// non-JSON bodies, unknown fields, unknown ids, trailing slashes, and the shape of every error.
import { describe, expect, it } from 'vitest';
import { count, createApp, createEndpoint, sendMessage } from './helpers/fixtures.js';
import { isHttpErrorBody, isValidationErrorBody, useInProcess, type InjectResult } from './helpers/inproc.js';

/** Svix's error shapes: 422 → {detail: [{loc, msg, type}]}, any other 4xx → {code, detail}. */
function expectErrorShape(r: InjectResult, what: string): void {
  expect(String(r.headers['content-type']), what).toContain('application/json');
  if (r.status === 422) expect(isValidationErrorBody(r.json), `${what}: ${r.text}`).toBe(true);
  else expect(isHttpErrorBody(r.json), `${what}: ${r.text}`).toBe(true);
}

describe('bad input: bodies', () => {
  const h = useInProcess();

  it('malformed JSON is 422 value_error.jsondecode on body, and nothing is created', async () => {
    const before = await count(h(), 'application');
    for (const raw of ['{"name": "x"', '{name: "x"}', 'not json at all', '{"name": "x"}}']) {
      const r = await h().inject('POST', '/api/v1/app', { raw, headers: { 'content-type': 'application/json' } });
      expect(r.status, raw).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
      expect(r.json.detail[0].type).toBe('value_error.jsondecode');
      expect(r.json.detail[0].loc).toEqual(['body']);
    }
    expect(await count(h(), 'application')).toBe(before);
  });

  it('JSON nested deeper than 128 levels is 422 value_error.json_depth (as serde_json refuses it), and nothing is stored', async () => {
    const nest = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const app = (await createApp(h())).id;
    await createEndpoint(h(), app);
    const before = { types: await count(h(), 'event_type'), messages: await count(h(), 'message') };
    const deep: [string, string, string][] = [
      // 6,000 levels used to overflow the stack where the schema is serialised: a 500 (fast-check found it).
      ['POST', '/api/v1/event-type', `{"name":"deep.one","description":"d","schemas":${nest(6000)}}`],
      ['POST', '/api/v1/event-type', `{"name":"deep.two","description":"d","schemas":${nest(128)}}`],
      ['POST', `/api/v1/app/${app}/msg`, `{"eventType":"deep.three","payload":${nest(128)}}`],
      ['POST', `/api/v1/app/${app}/msg`, `{"eventType":"deep.four","payload":{"x":${'['.repeat(300)}${']'.repeat(300)}}}`],
    ];
    for (const [method, url, raw] of deep) {
      const r = await h().inject(method as 'POST', url, { raw, headers: { 'content-type': 'application/json' } });
      expect(r.status, url).toBe(422);
      expect(r.json.detail).toEqual([{ loc: ['body'], msg: 'JSON nested deeper than 128 levels', type: 'value_error.json_depth' }]);
    }
    expect({ types: await count(h(), 'event_type'), messages: await count(h(), 'message') }).toEqual(before);
    // 128 levels in all is fine.
    const ok = await h().inject('POST', `/api/v1/app/${app}/msg`, {
      raw: `{"eventType":"deep.ok","payload":${nest(127)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(202);
    const et = await h().inject('POST', '/api/v1/event-type', {
      raw: `{"name":"deep.ok","description":"d","schemas":${nest(127)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(et.status).toBe(201);
  });

  it('wrong types are 422 naming the field and the expected type', async () => {
    const cases: [string, unknown, string[], string][] = [
      ['/api/v1/app', { name: 123 }, ['body', 'name'], 'type_error.string'],
      ['/api/v1/app', { name: 'n', throttleRate: 'fast' }, ['body', 'throttleRate'], 'type_error.integer'],
      ['/api/v1/app', { name: 'n', metadata: { k: 1 } }, ['body', 'metadata', 'k'], 'type_error.string'],
      ['/api/v1/app', { name: 'n', metadata: ['x'] }, ['body', 'metadata'], 'type_error.object'],
      ['/api/v1/event-type', { name: 'a.b', description: 'd', archived: 'yes' }, ['body', 'archived'], 'type_error.boolean'],
    ];
    for (const [url, body, loc, type] of cases) {
      const r = await h().inject('POST', url, { body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.json.detail, JSON.stringify(body)).toContainEqual(expect.objectContaining({ loc, type }));
    }
  });

  it('a body that is a JSON array, string or number is 422', async () => {
    for (const body of [[{ name: 'x' }], 'x', 5]) {
      const r = await h().inject('POST', '/api/v1/app', { body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
    }
  });

  it('a missing body where one is required is 422 naming the missing fields', async () => {
    const r = await h().inject('POST', '/api/v1/app');
    expect(r.status).toBe(422);
    expect(r.json.detail).toContainEqual(expect.objectContaining({ loc: ['body', 'name'], type: 'value_error.missing' }));
  });

  it('an endpoint with wrong types writes nothing', async () => {
    const app = (await createApp(h())).id;
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://e.com', eventTypes: 'a.b' } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'eventTypes']);
    expect(await count(h(), 'endpoint', 'app_id = ?', app)).toBe(0);
  });

  it('a text/plain body is 415', async () => {
    const r = await h().inject('POST', '/api/v1/app', { raw: '{"name":"x"}', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(415);
    expectErrorShape(r, 'text/plain');
  });

  it('a form-encoded body is 415', async () => {
    const r = await h().inject('POST', '/api/v1/app', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(415);
    expectErrorShape(r, 'form');
  });

  it('application/json with a charset is accepted', async () => {
    const r = await h().inject('POST', '/api/v1/app', { raw: '{"name":"utf8 ✓"}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(r.status).toBe(201);
    expect(r.json.name).toBe('utf8 ✓');
  });

  it('unknown fields are ignored, as Svix does (the SDK sends cloud-only fields)', async () => {
    const app = await h().inject('POST', '/api/v1/app', { body: { name: 'extra', somethingNew: 1, nested: { x: 1 } } });
    expect(app.status).toBe(201);
    expect(app.json).not.toHaveProperty('somethingNew');
    const ep = await h().inject('POST', `/api/v1/app/${app.json.id}/endpoint`, { body: { url: 'https://e.com', tags: ['a'], futureFlag: true } });
    expect(ep.status).toBe(201);
    const msg = await h().inject('POST', `/api/v1/app/${app.json.id}/msg`, {
      body: { eventType: 'x', payload: { a: 1 }, tags: ['t'], deliverAt: null, transformationsParams: {} },
    });
    expect(msg.status).toBe(202);
    expect(msg.json.payload).toEqual({ a: 1 });
  });
});

describe('bad input: query strings', () => {
  const h = useInProcess();

  it('wrong query types are 422 on query.<name>', async () => {
    const cases: [string, string[]][] = [
      ['/api/v1/app?limit=abc', ['query', 'limit']],
      ['/api/v1/app?limit=-1', ['query', 'limit']],
      ['/api/v1/app?order=sideways', ['query', 'order']],
      ['/api/v1/event-type?with_content=maybe', ['query', 'with_content']],
      ['/api/v1/event-type?include_archived=2', ['query', 'include_archived']],
    ];
    for (const [url, loc] of cases) {
      const r = await h().inject('GET', url);
      expect(r.status, url).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
      expect(r.json.detail[0].loc, url).toEqual(loc);
    }
  });

  it('a malformed date filter is 422', async () => {
    const app = (await createApp(h())).id;
    const r = await h().inject('GET', `/api/v1/app/${app}/msg?after=2024-13-45`);
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['query', 'after']);
  });
});

describe('bad input: unknown ids and paths', () => {
  const h = useInProcess();

  it('ids and uids that do not exist are 404 {code: not_found, detail}', async () => {
    const app = (await createApp(h())).id;
    const ep = (await createEndpoint(h(), app)).id;
    const msg = (await sendMessage(h(), app)).id;
    const urls: ['GET' | 'DELETE' | 'PATCH' | 'POST', string, unknown?][] = [
      ['GET', '/api/v1/app/app_2aVHbyVjDtmnqf4k3nwCrUnPwQe'],
      ['GET', '/api/v1/app/unknown-uid'],
      ['DELETE', '/api/v1/app/unknown-uid'],
      ['PATCH', '/api/v1/app/unknown-uid', { name: 'x' }],
      ['GET', `/api/v1/app/${app}/endpoint/ep_2aVHbyVjDtmnqf4k3nwCrUnPwQe`],
      ['GET', `/api/v1/app/${app}/endpoint/unknown-ep`],
      ['GET', `/api/v1/app/${app}/endpoint/unknown-ep/secret`],
      ['GET', `/api/v1/app/${app}/endpoint/unknown-ep/headers`],
      ['GET', `/api/v1/app/${app}/msg/msg_2aVHbyVjDtmnqf4k3nwCrUnPwQe`],
      ['GET', `/api/v1/app/${app}/msg/unknown-event-id`],
      ['GET', `/api/v1/app/${app}/msg/${msg}/attempt/atmpt_2aVHbyVjDtmnqf4k3nwCrUnPwQe`],
      ['POST', `/api/v1/app/${app}/msg/${msg}/endpoint/unknown-ep/resend`],
      ['GET', '/api/v1/event-type/unknown.type'],
      ['GET', `/api/v1/app/unknown-uid/endpoint/${ep}`],
    ];
    for (const [method, url, body] of urls) {
      const r = await h().inject(method, url, { body });
      expect(r.status, `${method} ${url}`).toBe(404);
      expect(r.json.code, `${method} ${url}`).toBe('not_found');
      expect(typeof r.json.detail).toBe('string');
    }
  });

  it('a path that is not a route is 404 with the same shape', async () => {
    const r = await h().inject('GET', '/api/v1/nothing-here');
    expect(r.status).toBe(404);
    expectErrorShape(r, 'no route');
  });

  it('paths work with and without a trailing slash', async () => {
    const list = await h().inject('GET', '/api/v1/app/');
    expect(list.status).toBe(200);
    expect(Array.isArray(list.json.data)).toBe(true);
    const created = await h().inject('POST', '/api/v1/app/', { body: { name: 'slash' } });
    expect(created.status).toBe(201);
    const id = created.json.id;
    expect((await h().inject('GET', `/api/v1/app/${id}/`)).json.id).toBe(id);
    const ep = await h().inject('POST', `/api/v1/app/${id}/endpoint/`, { body: { url: 'https://e.com' } });
    expect(ep.status).toBe(201);
    expect((await h().inject('GET', `/api/v1/app/${id}/endpoint/${ep.json.id}/secret/`)).status).toBe(200);
    expect((await h().inject('POST', `/api/v1/app/${id}/msg/`, { body: { eventType: 'x', payload: {} } })).status).toBe(202);
    expect((await h().inject('GET', '/api/v1/event-type/')).status).toBe(200);
    expect((await h().inject('DELETE', `/api/v1/app/${id}/`)).status).toBe(204);
  });

  it('ids and uids are URL-decoded in paths', async () => {
    const app = await createApp(h(), { uid: 'with.dots-and_underscores' });
    expect((await h().inject('GET', `/api/v1/app/${encodeURIComponent('with.dots-and_underscores')}`)).json.id).toBe(app.id);
  });
});

describe('bad input: every error has the documented shape', () => {
  const h = useInProcess();

  it('401, 403, 404, 409, 413, 415, 422 and 400 bodies', async () => {
    const app = (await createApp(h(), { uid: 'shape-app' })).id;
    const ep = (await createEndpoint(h(), app)).id;
    const portal = (await h().inject('POST', `/api/v1/auth/app-portal-access/${app}`, { body: {} })).json.token;
    await createApp(h(), { uid: 'shape-dup' });
    const cases: { what: string; status: number; run: () => Promise<InjectResult> }[] = [
      { what: 'no token', status: 401, run: () => h().inject('GET', '/api/v1/app', { token: null }) },
      { what: 'bad token', status: 401, run: () => h().inject('GET', '/api/v1/app', { token: 'nope_nope_nope_nope' }) },
      { what: 'org-only', status: 403, run: () => h().inject('GET', '/api/v1/app', { token: portal }) },
      { what: 'missing app', status: 404, run: () => h().inject('GET', '/api/v1/app/missing') },
      { what: 'duplicate uid', status: 409, run: () => h().inject('POST', '/api/v1/app', { body: { name: 'x', uid: 'shape-dup' } }) },
      {
        what: 'payload too large',
        status: 413,
        run: () => h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'x', payload: { b: 'x'.repeat(3 * 1024 * 1024) } } }),
      },
      {
        what: 'not json',
        status: 415,
        run: () => h().inject('POST', '/api/v1/app', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      },
      { what: 'validation', status: 422, run: () => h().inject('POST', '/api/v1/app', { body: {} }) },
      { what: 'bad json', status: 422, run: () => h().inject('POST', '/api/v1/app', { raw: '{', headers: { 'content-type': 'application/json' } }) },
      {
        what: 'stats in the future',
        status: 400,
        run: () => h().inject('GET', `/api/v1/app/${app}/endpoint/${ep}/stats?until=2999-01-01T00:00:00Z`),
      },
    ];
    for (const c of cases) {
      const r = await c.run();
      expect(r.status, c.what).toBe(c.status);
      expectErrorShape(r, c.what);
    }
  });
});
