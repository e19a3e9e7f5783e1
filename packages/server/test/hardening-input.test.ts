// Input that used to answer 5xx, or be stored changed, now gets the same honest 4xx on both stores:
// NUL in any body or query string (422 naming the field) or path id (an unknown id), dates outside
// the id clock's range (clamped: `after` an early date is everything, `before` it nothing), `limit`
// outside 1-250 on every list, lone surrogates and prototype keys in Herald's own fields, and
// endpoint header values the HTTP client would refuse. A message payload stays the tenant's: any
// valid JSON, `__proto__` keys included, is accepted and delivered byte for byte.
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, createEndpoint, createEventType, portalToken, sendMessage } from './helpers/fixtures.js';
import { isHttpErrorBody, isValidationErrorBody, startInProcess, useInProcess, type InProcess } from './helpers/inproc.js';
import { Receiver } from './helpers/receiver.js';

const STORES = ['sqlite', 'postgres'] as const;

function locs(r: { json: any }): string[] {
  return (r.json?.detail ?? []).map((i: { loc: unknown[] }) => i.loc.join('.'));
}

describe.each(STORES)('hostile text and numbers on %s', (database) => {
  const h = useInProcess({ database, env: { HERALD_API_RATE_LIMIT: 'off' } });
  let app: string;
  let ep: string;
  let msg: string;
  let view: string;
  beforeAll(async () => {
    app = (await createApp(h(), { uid: 'hard' })).id;
    ep = (await createEndpoint(h(), app)).id;
    msg = (await sendMessage(h(), app)).id;
    view = await portalToken(h(), app, { permissions: ['view'] });
  });

  it('NUL in a body string is a 422 naming the field, wherever the field is', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/app', { name: 'a\u0000b' }, 'body.name'],
      ['POST', '/api/v1/app', { name: 'ok', uid: 'u\u0000' }, 'body.uid'],
      ['POST', '/api/v1/app', { name: 'ok', metadata: { k: 'v\u0000' } }, 'body.metadata.k'],
      ['POST', '/api/v1/event-type', { name: 'nul.desc', description: 'd\u0000' }, 'body.description'],
      ['POST', `/api/v1/app/${app}/endpoint`, { url: 'https://example.com/x', description: '\u0000' }, 'body.description'],
      ['POST', `/api/v1/app/${app}/endpoint`, { url: 'https://example.com/x', filterTypes: ['a\u0000'] }, 'body.filterTypes.0'],
      ['POST', `/api/v1/app/${app}/msg`, { eventType: 'e\u0000', payload: {} }, 'body.eventType'],
      ['POST', `/api/v1/app/${app}/engage/contact`, { contactId: 'c\u0000', value: {} }, 'body.contactId'],
    ];
    for (const [method, url, body, loc] of cases) {
      const r = await h().inject(method as 'POST', url, { body });
      expect(r.status, `${url} ${JSON.stringify(body)}`).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
      expect(locs(r)).toContain(loc);
    }
  });

  it('NUL in a query value is a 422 naming the parameter, for any token', async () => {
    for (const token of [undefined, view]) {
      for (const url of [`/api/v1/app/${app}/msg?iterator=%00`, `/api/v1/app/${app}/msg?channel=a%00b`, `/api/v1/app/${app}/endpoint?order=%00`]) {
        const r = await h().inject('GET', url, { token });
        expect(r.status, url).toBe(422);
        expect(locs(r)[0]).toMatch(/^query\./);
      }
    }
  });

  it('a path id with NUL is an unknown id, answered as one (the store is not asked)', async () => {
    const unknown = await h().inject('GET', '/api/v1/app/no-such-app');
    for (const path of ['/api/v1/app/%00', '/api/v1/app/a%00b']) {
      const r = await h().inject('GET', path);
      expect(r.status).toBe(unknown.status);
      expect(r.json).toEqual(unknown.json);
    }
    // A view-only portal token learns nothing either: the same 403 as for any other app.
    const other = await h().inject('GET', '/api/v1/app/no-such-app', { token: view });
    const nul = await h().inject('GET', '/api/v1/app/%00', { token: view });
    expect([nul.status, nul.json]).toEqual([other.status, other.json]);
    const inApp: [string, string][] = [
      [`/api/v1/app/${app}/endpoint/%00`, 'Endpoint'],
      [`/api/v1/app/${app}/msg/%00`, 'Message'],
      [`/api/v1/app/${app}/msg/${msg}/attempt/%00`, 'Attempt'],
      ['/api/v1/event-type/a%00', 'Event type'],
      [`/api/v1/app/${app}/endpoint/${ep}/msg?iterator=x`, ''],
    ];
    for (const [path, what] of inApp) {
      if (!what) continue;
      for (const token of [undefined, view]) {
        const r = await h().inject('GET', path, { token });
        expect(r.status, path).toBe(404);
        expect(isHttpErrorBody(r.json)).toBe(true);
        expect(r.json.detail).toMatch(new RegExp(what));
      }
    }
    // An upsert by a NUL uid creates nothing.
    const put = await h().inject('PUT', '/api/v1/app/x%00y', { body: { name: 'n' } });
    expect(put.status).toBe(404);
  });

  it('lone UTF-16 surrogates in Herald fields are a 422 naming the field, not silently changed', async () => {
    const raws: [string, string][] = [
      ['{"name":"a\\ud800b"}', 'body.name'],
      ['{"name":"ok","metadata":{"k":"\\udc00"}}', 'body.metadata.k'],
      ['{"name":"ok","metadata":{"\\ud83d":"v"}}', 'body.metadata.\ud83d'],
    ];
    for (const [raw, loc] of raws) {
      const r = await h().inject('POST', '/api/v1/app', { raw, headers: { 'content-type': 'application/json' } });
      expect(r.status, raw).toBe(422);
      expect(locs(r)).toContain(loc);
    }
    // A well-formed pair is fine, and reads back as sent.
    const ok = await h().inject('POST', '/api/v1/app', { raw: '{"name":"a\\ud83d\\ude00b"}', headers: { 'content-type': 'application/json' } });
    expect(ok.status).toBe(201);
    expect((await h().inject('GET', `/api/v1/app/${ok.json.id}`)).json.name).toBe('a\u{1F600}b');
  });

  it('__proto__ and constructor.prototype keys in Herald fields are a 422 naming the field, and touch no prototype', async () => {
    const raws: [string, string][] = [
      ['{"name":"x","__proto__":{"polluted":"yes"}}', 'body.__proto__'],
      ['{"name":"x","metadata":{"__proto__":{"polluted":"yes"}}}', 'body.metadata.__proto__'],
      ['{"name":"x","metadata":{"constructor":{"prototype":{"polluted":"yes"}}}}', 'body.metadata.constructor.prototype'],
    ];
    for (const [raw, loc] of raws) {
      const r = await h().inject('POST', '/api/v1/app', { raw, headers: { 'content-type': 'application/json' } });
      expect(r.status, raw).toBe(422);
      expect(locs(r)).toContain(loc);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a message payload is opaque: any valid JSON, such keys and lone surrogates included, is kept byte for byte', async () => {
    const payload = '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}},"s":"\\ud800","nul":"\\u0000","n":12345678901234567890}';
    const raw = `{"eventType":"opaque.test","payload":${payload}}`;
    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, { raw, headers: { 'content-type': 'application/json' } });
    expect(r.status, r.text).toBe(202);
    expect(r.text).toContain(`"payload":${payload}`);
    const got = await h().inject('GET', `/api/v1/app/${app}/msg/${r.json.id}`);
    expect(got.text).toContain(`"payload":${payload}`);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('endpoint header values the HTTP client would refuse are a 422 at the API', async () => {
    for (const value of ['a\u0001b', 'a\u007fb', '\u65e5\u672c', 'x\u0000', 'a\rb']) {
      for (const [method, url] of [
        ['POST', `/api/v1/app/${app}/endpoint`],
        ['PATCH', `/api/v1/app/${app}/endpoint/${ep}/headers`],
      ] as const) {
        const body = method === 'POST' ? { url: 'https://example.com/h', headers: { 'X-Custom': value } } : { headers: { 'X-Custom': value } };
        const r = await h().inject(method, url, { body });
        expect(r.status, `${url} ${JSON.stringify(value)}`).toBe(422);
        expect(locs(r)).toContain('body.headers.X-Custom');
      }
    }
    // Latin-1 text and tabs are what the client sends, so they are accepted.
    const ok = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://example.com/h', headers: { 'X-Custom': 'caf\u00e9\tok' } } });
    expect(ok.status).toBe(201);
  });

  it('limit outside 1-250 is a 422 on every list', async () => {
    const lists = h().herald.deps.contract.operations.filter((o) => o.method === 'GET' && o.query.some((q) => q.name === 'limit'));
    expect(lists.length).toBeGreaterThanOrEqual(8);
    const ids: Record<string, string> = { app_id: app, endpoint_id: ep, msg_id: msg, event_type_name: 'x', attempt_id: 'x' };
    for (const op of lists) {
      const path = op.path.replace(/\{([a-z_]+)\}/g, (_m, n: string) => ids[n] ?? 'x');
      for (const limit of ['0', '251', '-1']) {
        const r = await h().inject('GET', `${path}?limit=${limit}`);
        expect(r.status, `${path}?limit=${limit} ${r.text}`).toBe(422);
        expect(locs(r)).toContain('query.limit');
      }
      for (const limit of ['1', '250']) {
        const r = await h().inject('GET', `${path}?limit=${limit}`);
        expect(r.status, `${path}?limit=${limit} ${r.text}`).toBeLessThan(500);
        expect(r.status).not.toBe(422);
      }
    }
  });

  it('date filters outside the id clock are clamped: after an early date is everything, before it nothing', async () => {
    const early = '2000-01-01T00:00:00Z';
    const late = '2200-01-01T00:00:00Z';
    const all = (await h().inject('GET', `/api/v1/app/${app}/msg`)).json.data.length;
    expect(all).toBeGreaterThan(0);
    const q = async (url: string) => {
      const r = await h().inject('GET', url);
      expect(r.status, `${url} ${r.text}`).toBe(200);
      return r.json.data.length as number;
    };
    expect(await q(`/api/v1/app/${app}/msg?after=${early}`)).toBe(all);
    expect(await q(`/api/v1/app/${app}/msg?before=${early}`)).toBe(0);
    expect(await q(`/api/v1/app/${app}/msg?before=${late}`)).toBe(all);
    expect(await q(`/api/v1/app/${app}/msg?after=${late}`)).toBe(0);
    expect(await q(`/api/v1/app/${app}/msg?after=0001-01-01T00:00:00Z`)).toBe(all);
    expect(await q(`/api/v1/app/${app}/attempt/endpoint/${ep}?after=${early}`)).toBeGreaterThanOrEqual(0);
    expect(await q(`/api/v1/app/${app}/attempt/endpoint/${ep}?before=${early}`)).toBe(0);
    expect(await q(`/api/v1/app/${app}/attempt/msg/${msg}?before=${early}`)).toBe(0);
    const stats = await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep}/stats?until=${early}`);
    expect(stats.status, stats.text).toBe(200);
    expect(Object.values(stats.json).every((n) => n === 0)).toBe(true);
  });

  it('recover with an old since finishes its task (nothing in the window) instead of failing', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep}/recover`, { body: { since: '2000-01-01T00:00:00Z', until: '2000-01-10T00:00:00Z' } });
    expect(r.status, r.text).toBe(202);
    await expect.poll(async () => (await h().inject('GET', `/api/v1/background-task/${r.json.id}`)).json.status, { timeout: 10_000 }).toBe('finished');
    const task = await h().inject('GET', `/api/v1/background-task/${r.json.id}`);
    expect(task.json.data.messagesSent).toBe(0);
  });
});

describe('a payload with prototype keys is delivered byte for byte', () => {
  let h: InProcess;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await Receiver.start();
    h = await startInProcess({ dispatch: true, env: { HERALD_POLL_INTERVAL: '50ms' } });
  });
  afterAll(async () => {
    await h.close();
    await rx.close();
  });
  it('reaches the receiver exactly as sent', async () => {
    const app = (await createApp(h)).id;
    await createEndpoint(h, app, { url: rx.url('/proto') });
    await createEventType(h, { name: 'proto.test' });
    const payload = '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":1}},"big":12345678901234567890}';
    const r = await h.inject('POST', `/api/v1/app/${app}/msg`, {
      raw: `{"eventType":"proto.test","payload":${payload}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(202);
    const [got] = await rx.waitForCount(1);
    expect(got!.text).toBe(payload);
  });
});

describe('errors raised below the handlers answer {code, detail}', () => {
  const h = useInProcess();
  let port = 0;
  beforeAll(async () => {
    await h().herald.api.listen({ host: '127.0.0.1', port: 0 });
    port = (h().herald.api.server.address() as AddressInfo).port;
  });
  const rawRequest = (data: string) =>
    new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let out = '';
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('error', () => resolve(out));
      s.on('close', () => resolve(out));
      s.write(data);
    });
  const parse = (out: string) => {
    const [head, body] = out.split('\r\n\r\n');
    return { status: Number(head!.split(' ')[1]), type: /content-type: ([^\r]+)/i.exec(head!)?.[1], body: JSON.parse(body!) };
  };

  it('431 for headers that are too large', async () => {
    const r = parse(await rawRequest(`GET /api/v1/app HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`));
    expect(r.status).toBe(431);
    expect(r.type).toBe('application/json');
    expect(isHttpErrorBody(r.body)).toBe(true);
  });

  it('400 for a malformed request', async () => {
    for (const req of ['GARBAGE\r\n\r\n', 'GET /api/v1/app HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n']) {
      const r = parse(await rawRequest(req));
      expect(r.status).toBe(400);
      expect(isHttpErrorBody(r.body)).toBe(true);
    }
  });

  it('a preflight without Origin', async () => {
    const r = await h().inject('OPTIONS', '/api/v1/app', { token: null, headers: { 'access-control-request-method': 'GET' } });
    expect(r.status).toBe(400);
    expect(isHttpErrorBody(r.json)).toBe(true);
  });
});
