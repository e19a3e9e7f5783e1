// Authentication and authorisation: the operator token, portal tokens scoped to one application
// (403 on every route of any other application and on org-only routes), portal permissions,
// logout, expiry and tampering (svix.md §2.1 "Auth", issue "Bad input").
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { describe, expect, it } from 'vitest';
import { createApp, createEndpoint, createEventType, insertAttempt, portalToken, sendMessage, unique } from './helpers/fixtures.js';
import { Clock, DAY, HOUR, isHttpErrorBody, SECOND, useInProcess, type InProcess, type Method } from './helpers/inproc.js';

/** A valid body for each contract operation that takes one, so only authorisation can refuse it. */
function validBody(operationId: string, now: number): unknown {
  switch (operationId) {
    case 'v1.application.update':
      return { name: 'renamed by someone else' };
    case 'patch_application':
      return { name: 'patched by someone else' };
    case 'v1.endpoint.create':
    case 'v1.endpoint.update':
      return { url: 'https://attacker.example.com' };
    case 'patch_endpoint':
      return { url: 'https://attacker.example.com' };
    case 'v1.endpoint.update-headers':
    case 'v1.endpoint.patch-headers':
      return { headers: { 'X-Injected': '1' } };
    case 'v1.endpoint.recover':
      return { since: new Date(now - HOUR).toISOString() };
    case 'v1.endpoint.rotate-secret':
      return {};
    case 'v1.endpoint.send-example':
      return { eventType: 'svix.ping' };
    case 'v1.message.create':
      return { eventType: 'evil.event', payload: { a: 1 } };
    case 'v1.authentication.app-portal-access':
      return {};
    default:
      return undefined;
  }
}

interface Target {
  app: string;
  endpoint: string;
  msg: string;
  attempt: string;
}

function fill(path: string, t: Target): string {
  return path.replace('{app_id}', t.app).replace('{endpoint_id}', t.endpoint).replace('{msg_id}', t.msg).replace('{attempt_id}', t.attempt);
}

async function makeTarget(h: InProcess): Promise<Target> {
  const app = (await createApp(h, { uid: unique('victim') })).id;
  const endpoint = (await createEndpoint(h, app)).id;
  const msg = (await sendMessage(h, app)).id;
  const attempt = await insertAttempt(h, { appId: app, msgId: msg, endpointId: endpoint });
  return { app, endpoint, msg, attempt };
}

describe('auth: the operator token', () => {
  const h = useInProcess();

  it('no token is 401 authentication_failed', async () => {
    const r = await h().inject('GET', '/api/v1/app', { token: null });
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('authentication_failed');
    expect(isHttpErrorBody(r.json)).toBe(true);
  });

  it('a wrong token is 401 authentication_failed', async () => {
    for (const token of ['wrong_token_0123456789', `${h().operatorToken}x`, h().operatorToken.slice(0, -1)]) {
      const r = await h().inject('GET', '/api/v1/app', { token });
      expect(r.status, token).toBe(401);
      expect(r.json).toMatchObject({ code: 'authentication_failed' });
    }
  });

  it('a non-Bearer Authorization header is 401', async () => {
    const r = await h().inject('GET', '/api/v1/app', {
      token: null,
      headers: { authorization: `Basic ${Buffer.from(`u:${h().operatorToken}`).toString('base64')}` },
    });
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('authentication_failed');
  });

  it('the right token works, and the scheme is case-insensitive', async () => {
    expect((await h().inject('GET', '/api/v1/app')).status).toBe(200);
    const r = await h().inject('GET', '/api/v1/app', { token: null, headers: { authorization: `bearer ${h().operatorToken}` } });
    expect(r.status).toBe(200);
  });

  it('writes without a token are 401 and write nothing', async () => {
    const r = await h().inject('POST', '/api/v1/app', { token: null, body: { name: 'sneaky', uid: 'sneaky' } });
    expect(r.status).toBe(401);
    expect((await h().inject('GET', '/api/v1/app/sneaky')).status).toBe(404);
  });

  it('health needs no token', async () => {
    expect((await h().inject('GET', '/api/v1/health', { token: null })).status).toBeLessThan(300);
    expect((await h().inject('GET', '/api/v1/health/ping', { token: null })).status).toBe(204);
  });
});

describe('auth: many requests on one keep-alive connection', () => {
  const h = useInProcess();

  // The operator check is skipped for a connection that already presented the same header and had
  // it accepted. Anything else on that connection must still be checked in full: a wrong token, a
  // portal token (which must not inherit the operator's rights), the header spelt differently.
  it('each request is judged on its own header, whatever the connection carried before', async () => {
    const api = h().herald.api;
    let connections = 0;
    api.server.on('connection', () => connections++);
    await api.listen({ port: 0, host: '127.0.0.1' });
    const client = new Client(`http://127.0.0.1:${(api.server.address() as AddressInfo).port}`, { pipelining: 1 });
    try {
      const get = async (path: string, authorization?: string) => {
        const r = await client.request({ method: 'GET', path, headers: authorization === undefined ? {} : { authorization } });
        await r.body.dump();
        return r.statusCode;
      };
      const operator = `Bearer ${h().operatorToken}`;
      const app = (await createApp(h(), { uid: unique('conn') })).id;
      const portal = `Bearer ${await portalToken(h(), app)}`;
      expect(await get('/api/v1/app', operator)).toBe(200);
      expect(await get('/api/v1/app', operator)).toBe(200);
      expect(await get('/api/v1/app', `Bearer ${h().operatorToken}x`)).toBe(401);
      // The same length as the accepted header, one character off.
      const t = h().operatorToken;
      expect(await get('/api/v1/app', `Bearer ${t.slice(0, -1)}${t.endsWith('0') ? '1' : '0'}`)).toBe(401);
      expect(await get('/api/v1/app', 'Bearer wrong_token_0123456789')).toBe(401);
      expect(await get('/api/v1/app')).toBe(401);
      // A portal token after the operator's, on the same socket, is still only a portal token.
      expect(await get('/api/v1/app', portal)).toBe(403);
      expect(await get(`/api/v1/app/${app}`, portal)).toBe(200);
      expect(await get(`/api/v1/app/${app}/endpoint`, operator)).toBe(200);
      expect(await get('/api/v1/app', `bearer   ${h().operatorToken}`)).toBe(200);
      expect(await get('/api/v1/app', operator)).toBe(200);
      expect(connections).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('auth: portal tokens are scoped to their application', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let mine: Target;
  let theirs: Target;
  let token: string;

  it('app-portal-access answers {url, token}; the url carries the token in its fragment', async () => {
    mine = await makeTarget(h());
    theirs = await makeTarget(h());
    const r = await h().inject('POST', `/api/v1/auth/app-portal-access/${mine.app}`, { body: {} });
    expect(r.status).toBe(200);
    expect(typeof r.json.token).toBe('string');
    expect(r.json.token.length).toBeGreaterThan(20);
    const url = new URL(r.json.url);
    expect(url.hash).toContain(r.json.token);
    expect(url.search).not.toContain(r.json.token);
    token = r.json.token;
  });

  it('the token reads its own application and its resources', async () => {
    const reads = [
      `/api/v1/app/${mine.app}`,
      `/api/v1/app/${mine.app}/endpoint`,
      `/api/v1/app/${mine.app}/endpoint/${mine.endpoint}`,
      `/api/v1/app/${mine.app}/endpoint/${mine.endpoint}/headers`,
      `/api/v1/app/${mine.app}/endpoint/${mine.endpoint}/stats`,
      `/api/v1/app/${mine.app}/endpoint/${mine.endpoint}/msg`,
      `/api/v1/app/${mine.app}/msg`,
      `/api/v1/app/${mine.app}/msg/${mine.msg}`,
      `/api/v1/app/${mine.app}/msg/${mine.msg}/endpoint`,
      `/api/v1/app/${mine.app}/msg/${mine.msg}/attempt/${mine.attempt}`,
      `/api/v1/app/${mine.app}/attempt/endpoint/${mine.endpoint}`,
      `/api/v1/app/${mine.app}/attempt/msg/${mine.msg}`,
      '/api/v1/event-type',
    ];
    for (const url of reads) {
      const r = await h().inject('GET', url, { token });
      expect(r.status, url).toBe(200);
    }
  });

  it('the token gets 403 on EVERY contract operation of another application, and nothing changes there', async () => {
    const ops = h().herald.deps.contract.operations.filter((o) => o.path.includes('{app_id}'));
    expect(ops.length).toBeGreaterThanOrEqual(30);
    const epBefore = (await h().inject('GET', `/api/v1/app/${theirs.app}/endpoint/${theirs.endpoint}`)).json;
    const appBefore = (await h().inject('GET', `/api/v1/app/${theirs.app}`)).json;
    const failures: string[] = [];
    for (const op of ops) {
      const url = fill(op.path, theirs);
      const r = await h().inject(op.method as Method, url, { token, body: validBody(op.operationId, clock.t) });
      if (r.status !== 403 || r.json?.code !== 'insufficient access') failures.push(`${op.method} ${op.path} → ${r.status} ${r.text}`);
    }
    expect(failures).toEqual([]);
    // The same holds when the other application is addressed by its uid.
    const byUid = (await h().inject('GET', `/api/v1/app/${theirs.app}`)).json.uid;
    expect((await h().inject('GET', `/api/v1/app/${byUid}`, { token })).status).toBe(403);
    // Nothing was changed, created or deleted there.
    expect((await h().inject('GET', `/api/v1/app/${theirs.app}`)).json).toEqual(appBefore);
    expect((await h().inject('GET', `/api/v1/app/${theirs.app}/endpoint/${theirs.endpoint}`)).json).toEqual(epBefore);
    expect((await h().inject('GET', `/api/v1/app/${theirs.app}/endpoint`)).json.data).toHaveLength(1);
    expect((await h().inject('GET', `/api/v1/app/${theirs.app}/msg`)).json.data).toHaveLength(1);
    expect((await h().inject('GET', `/api/v1/app/${theirs.app}/endpoint/${theirs.endpoint}/headers`)).json.headers).toEqual({});
  });

  it('authorisation comes before body validation: an invalid body on another application is still 403', async () => {
    const ops = h().herald.deps.contract.operations.filter((o) => o.path.includes('{app_id}') && o.validateBody !== null);
    const failures: string[] = [];
    for (const op of ops) {
      const r = await h().inject(op.method as Method, fill(op.path, theirs), { token, body: { url: 42, name: 42, headers: 'x' } });
      if (r.status !== 403) failures.push(`${op.method} ${op.path} → ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
  });

  it('an application that does not exist is 403 too (a portal token learns nothing about other ids)', async () => {
    expect((await h().inject('GET', '/api/v1/app/app_2aVHbyVjDtmnqf4k3nwCrUnPwQe', { token })).status).toBe(403);
    expect((await h().inject('GET', '/api/v1/app/no-such-uid/endpoint', { token })).status).toBe(403);
  });

  it("resources of another application are not reachable through the token's own application", async () => {
    expect((await h().inject('GET', `/api/v1/app/${mine.app}/endpoint/${theirs.endpoint}`, { token })).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${mine.app}/msg/${theirs.msg}`, { token })).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${mine.app}/endpoint/${theirs.endpoint}/secret`, { token })).status).toBe(404);
  });

  it('org-only routes are 403 insufficient access for a portal token', async () => {
    const cases: [Method, string, unknown][] = [
      ['GET', '/api/v1/app', undefined],
      ['POST', '/api/v1/app', { name: 'new tenant' }],
      ['POST', `/api/v1/app/${mine.app}/msg`, { eventType: 'x', payload: {} }],
      ['POST', '/api/v1/event-type', { name: 'portal.made', description: 'd' }],
      ['PUT', '/api/v1/event-type/portal.made', { description: 'd' }],
      ['PATCH', '/api/v1/event-type/portal.made', { description: 'd' }],
      ['DELETE', '/api/v1/event-type/portal.made', undefined],
      ['PUT', `/api/v1/app/${mine.app}`, { name: 'rename me' }],
      ['PATCH', `/api/v1/app/${mine.app}`, { name: 'rename me' }],
      ['DELETE', `/api/v1/app/${mine.app}`, undefined],
      ['DELETE', `/api/v1/app/${mine.app}/msg/${mine.msg}/content`, undefined],
      ['POST', `/api/v1/auth/app-portal-access/${mine.app}`, {}],
    ];
    for (const [method, url, body] of cases) {
      const r = await h().inject(method, url, { token, body });
      expect(r.status, `${method} ${url}`).toBe(403);
      expect(r.json).toMatchObject({ code: 'insufficient access' });
      expect(typeof r.json.detail).toBe('string');
    }
    expect((await h().inject('GET', `/api/v1/app/${mine.app}`)).json.name).not.toBe('rename me');
    expect((await h().inject('GET', '/api/v1/event-type/portal.made')).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${mine.app}/msg`)).json.data).toHaveLength(1);
  });

  it('with all permissions (the default) the token manages its endpoints and their secrets', async () => {
    const created = await h().inject('POST', `/api/v1/app/${mine.app}/endpoint`, { token, body: { url: 'https://portal.example.com' } });
    expect(created.status).toBe(201);
    const secret = await h().inject('GET', `/api/v1/app/${mine.app}/endpoint/${created.json.id}/secret`, { token });
    expect(secret.status).toBe(200);
    expect(secret.json.key).toMatch(/^whsec_/);
  });
});

describe('auth: portal permissions', () => {
  const h = useInProcess();
  let app: string;
  let ep: string;

  it("['view'] reads but gets 403 on endpoint create and on secret get", async () => {
    app = (await createApp(h())).id;
    ep = (await createEndpoint(h(), app)).id;
    const token = await portalToken(h(), app, { permissions: ['view'] });
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep}`, { token })).status).toBe(200);
    const create = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { token, body: { url: 'https://e.com' } });
    expect(create.status).toBe(403);
    expect(create.json.code).toBe('insufficient access');
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep}/secret`, { token })).status).toBe(403);
    expect((await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep}/secret/rotate`, { token, body: {} })).status).toBe(403);
    expect((await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep}`, { token, body: { disabled: true } })).status).toBe(403);
    expect((await h().inject('DELETE', `/api/v1/app/${app}/endpoint/${ep}`, { token })).status).toBe(403);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint`)).json.data).toHaveLength(1);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep}`)).json.disabled).toBe(false);
  });

  it("['view', 'manage'] creates endpoints but cannot read or rotate secrets", async () => {
    const token = await portalToken(h(), app, { permissions: ['view', 'manage'] });
    const create = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { token, body: { url: 'https://managed.example.com' } });
    expect(create.status).toBe(201);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${create.json.id}/secret`, { token })).status).toBe(403);
    expect((await h().inject('POST', `/api/v1/app/${app}/endpoint/${create.json.id}/secret/rotate`, { token, body: {} })).status).toBe(403);
  });

  it('readOnly: true is view only', async () => {
    const token = await portalToken(h(), app, { readOnly: true });
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint`, { token })).status).toBe(200);
    expect((await h().inject('POST', `/api/v1/app/${app}/endpoint`, { token, body: { url: 'https://e.com' } })).status).toBe(403);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep}/secret`, { token })).status).toBe(403);
  });

  it('an unknown permission is 422', async () => {
    const r = await h().inject('POST', `/api/v1/auth/app-portal-access/${app}`, { body: { permissions: ['view', 'root'] } });
    expect(r.status).toBe(422);
  });

  it('portal access to a missing application is 404, unless `application` creates it', async () => {
    const uid = unique('portal-new');
    expect((await h().inject('POST', `/api/v1/auth/app-portal-access/${uid}`, { body: {} })).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).status).toBe(404);
    const r = await h().inject('POST', `/api/v1/auth/app-portal-access/${uid}`, { body: { application: { name: 'Made by portal' } } });
    expect(r.status).toBe(200);
    const made = await h().inject('GET', `/api/v1/app/${uid}`);
    expect(made.status).toBe(200);
    expect((await h().inject('GET', `/api/v1/app/${uid}`, { token: r.json.token })).json.id).toBe(made.json.id);
  });
});

describe('auth: logout, expiry, tampering', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;

  it('logout answers 204 and the token is refused afterwards (401)', async () => {
    app = (await createApp(h())).id;
    const token = await portalToken(h(), app);
    const other = await portalToken(h(), app);
    expect((await h().inject('GET', `/api/v1/app/${app}`, { token })).status).toBe(200);
    const out = await h().inject('POST', '/api/v1/auth/logout', { token });
    expect(out.status).toBe(204);
    const after = await h().inject('GET', `/api/v1/app/${app}`, { token });
    expect(after.status).toBe(401);
    expect(after.json.code).toBe('authentication_failed');
    // Another session of the same application is unaffected.
    expect((await h().inject('GET', `/api/v1/app/${app}`, { token: other })).status).toBe(200);
  });

  it('a token expires: valid just before its expiry, 401 after (default 7 days)', async () => {
    const token = await portalToken(h(), app);
    clock.advance(7 * DAY - SECOND);
    expect((await h().inject('GET', `/api/v1/app/${app}`, { token })).status).toBe(200);
    clock.advance(2 * SECOND);
    const r = await h().inject('GET', `/api/v1/app/${app}`, { token });
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('authentication_failed');
  });

  it('a token with an explicit expiry (seconds) expires then', async () => {
    const token = await portalToken(h(), app, { expiry: 3600 });
    clock.advance(HOUR - SECOND);
    expect((await h().inject('GET', `/api/v1/app/${app}`, { token })).status).toBe(200);
    clock.advance(2 * SECOND);
    expect((await h().inject('GET', `/api/v1/app/${app}`, { token })).status).toBe(401);
  });

  it('a tampered token is 401', async () => {
    const token = await portalToken(h(), app);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const variants = [
      flip(token, token.length - 1), // signature
      flip(token, token.length - 10), // signature, middle
      flip(token, 10), // session id
      `${token}A`,
      token.slice(0, -1),
      token.split('.')[0]!, // no signature
    ];
    for (const t of variants) {
      expect(t).not.toBe(token);
      const r = await h().inject('GET', `/api/v1/app/${app}`, { token: t });
      expect(r.status, t).toBe(401);
      expect(r.json.code).toBe('authentication_failed');
    }
    expect((await h().inject('GET', `/api/v1/app/${app}`, { token })).status).toBe(200);
  });

  it('the operator token cannot be logged out (400) and keeps working', async () => {
    const r = await h().inject('POST', '/api/v1/auth/logout');
    expect(r.status).toBe(400);
    expect(isHttpErrorBody(r.json)).toBe(true);
    expect((await h().inject('GET', '/api/v1/app')).status).toBe(200);
  });

  it('an event type created by the operator is visible to a portal token, but not writable', async () => {
    const et = await createEventType(h());
    const token = await portalToken(h(), app);
    expect((await h().inject('GET', `/api/v1/event-type/${et.name}`, { token })).status).toBe(200);
    expect((await h().inject('DELETE', `/api/v1/event-type/${et.name}`, { token })).status).toBe(403);
  });
});
