// Endpoints: create and validation, uid look-ups, upsert, patch, delete, signing secrets and
// rotation, custom headers, stats, recover, channels and list order (svix.md §2.1, §2.2
// "Endpoint", §1.8 recover).
import { describe, expect, it } from 'vitest';
import { count, createApp, createEndpoint, createEventType, sendMessage, unique } from './helpers/fixtures.js';
import { Clock, DAY, HOUR, idRe, isValidationErrorBody, listAll, useInProcess } from './helpers/inproc.js';
import { rawRow, rawRun } from './helpers/rows.js';
import { until } from './helpers/wait.js';

const EP_ID = idRe('ep_');
const WHSEC_24 = /^whsec_[A-Za-z0-9+/]{32}$/;

function secretBytes(key: string): number {
  return Buffer.from(key.slice('whsec_'.length), 'base64').length;
}

describe('endpoints: create and validation', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;
  let types: string[];

  it('creates an endpoint: 201 with an ep_ id and the fields it was given', async () => {
    app = (await createApp(h())).id;
    types = [(await createEventType(h())).name, (await createEventType(h())).name];
    const uid = unique('ep');
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, {
      body: {
        url: 'https://example.com/webhooks',
        description: 'primary',
        uid,
        eventTypes: types,
        channels: ['project_1', 'group.2'],
        metadata: { team: 'billing' },
        throttleRate: 20,
      },
    });
    expect(r.status).toBe(201);
    expect(r.json.id).toMatch(EP_ID);
    expect(r.json).toMatchObject({
      url: 'https://example.com/webhooks',
      description: 'primary',
      uid,
      disabled: false,
      eventTypes: types,
      channels: ['project_1', 'group.2'],
      metadata: { team: 'billing' },
      throttleRate: 20,
    });
    expect(r.json.createdAt).toBe(new Date(clock.t).toISOString());
    // The secret is never part of EndpointOut.
    expect(JSON.stringify(r.json)).not.toContain('whsec_');
  });

  it('defaults: description "", disabled false, no filters', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'http://localhost:9000/x' } });
    expect(r.status).toBe(201);
    expect(r.json.description).toBe('');
    expect(r.json.disabled).toBe(false);
    expect(r.json.eventTypes ?? null).toBeNull();
    expect(r.json.channels ?? null).toBeNull();
    expect(r.json.metadata).toEqual({});
  });

  it('an ftp:// URL is 422 on body.url', async () => {
    const before = await count(h(), 'endpoint');
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'ftp://example.com/hook' } });
    expect(r.status).toBe(422);
    expect(isValidationErrorBody(r.json)).toBe(true);
    expect(r.json.detail[0].loc).toEqual(['body', 'url']);
    expect(await count(h(), 'endpoint')).toBe(before);
  });

  it('a string that is not a URL is 422 on body.url', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'not-a-url' } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'url']);
  });

  it('a missing url is 422', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { description: 'no url' } });
    expect(r.status).toBe(422);
    expect(r.json.detail).toContainEqual(expect.objectContaining({ loc: ['body', 'url'] }));
  });

  it('eventTypes that do not exist are 422, naming each of them, and nothing is created', async () => {
    const before = await count(h(), 'endpoint');
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, {
      body: { url: 'https://example.com/x', eventTypes: [types[0], 'ghost.one', 'ghost.two'] },
    });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'eventTypes']);
    expect(r.json.detail[0].msg).toContain('ghost.one');
    expect(r.json.detail[0].msg).toContain('ghost.two');
    expect(r.json.detail[0].msg).not.toContain(types[0]);
    expect(await count(h(), 'endpoint')).toBe(before);
  });

  it('an archived event type is 422', async () => {
    const archived = (await createEventType(h())).name;
    expect((await h().inject('DELETE', `/api/v1/event-type/${archived}`)).status).toBe(204);
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://example.com/x', eventTypes: [archived] } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].msg).toContain(archived);
  });

  it('the deprecated filterTypes alias sets eventTypes', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://e.com', filterTypes: [types[1]] } });
    expect(r.status).toBe(201);
    expect(r.json.eventTypes).toEqual([types[1]]);
  });

  it('an empty eventTypes list is 422 (at least one item)', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://example.com/x', eventTypes: [] } });
    expect(r.status).toBe(422);
  });

  it('channels: more than 10, or a bad channel name, are 422', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `c${i}`);
    expect((await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://e.com', channels: eleven } })).status).toBe(422);
    expect((await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://e.com', channels: ['a b'] } })).status).toBe(422);
  });

  it('a uid starting with ep_ is 422', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://e.com', uid: 'ep_sneaky' } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'uid']);
  });

  it('an endpoint in an unknown application is 404', async () => {
    const r = await h().inject('POST', '/api/v1/app/no-such-app/endpoint', { body: { url: 'https://e.com' } });
    expect(r.status).toBe(404);
    expect(r.json.code).toBe('not_found');
  });
});

describe('endpoints: uid, upsert, patch, delete', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;

  it('reads an endpoint by id and by uid; a duplicate uid in the same app is 409, in another app it is fine', async () => {
    app = (await createApp(h())).id;
    const uid = unique('ep');
    const ep = await createEndpoint(h(), app, { uid });
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).json).toEqual(ep);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${uid}`)).json).toEqual(ep);
    const dup = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://e.com', uid } });
    expect(dup.status).toBe(409);
    const other = (await createApp(h())).id;
    expect((await h().inject('POST', `/api/v1/app/${other}/endpoint`, { body: { url: 'https://e.com', uid } })).status).toBe(201);
  });

  it('an endpoint of another application is 404 through this application', async () => {
    const other = (await createApp(h())).id;
    const ep = await createEndpoint(h(), other);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).status).toBe(404);
  });

  it('PUT creates under a uid (201) and updates it (200)', async () => {
    const uid = unique('upsert');
    const created = await h().inject('PUT', `/api/v1/app/${app}/endpoint/${uid}`, { body: { url: 'https://one.example.com' } });
    expect(created.status).toBe(201);
    expect(created.json.id).toMatch(EP_ID);
    expect(created.json.uid).toBe(uid);
    clock.advance(1000);
    const updated = await h().inject('PUT', `/api/v1/app/${app}/endpoint/${uid}`, {
      body: { url: 'https://two.example.com', description: 'moved' },
    });
    expect(updated.status).toBe(200);
    expect(updated.json.id).toBe(created.json.id);
    expect(updated.json.url).toBe('https://two.example.com');
    expect(updated.json.description).toBe('moved');
    expect(updated.json.updatedAt).toBe(new Date(clock.t).toISOString());
  });

  it('PUT replaces the whole endpoint, as Svix: fields left out are reset', async () => {
    const et = (await createEventType(h())).name;
    const uid = unique('replace');
    const ep = await createEndpoint(h(), app, { uid, eventTypes: [et], channels: ['c'], description: 'd', metadata: { m: '1' } });
    const r = await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}`, { body: { url: 'https://replaced.example.com' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: ep.id, url: 'https://replaced.example.com', uid: null, description: '', metadata: {} });
    expect(r.json.eventTypes ?? null).toBeNull();
    expect(r.json.channels ?? null).toBeNull();
  });

  it('PUT to an unknown ep_ id is 404', async () => {
    const r = await h().inject('PUT', `/api/v1/app/${app}/endpoint/ep_2aVHbyVjDtmnqf4k3nwCrUnPwQe`, { body: { url: 'https://e.com' } });
    expect(r.status).toBe(404);
  });

  it('PATCH changes only the given fields; null clears filters and uid', async () => {
    const et = (await createEventType(h())).name;
    const uid = unique('patch');
    const ep = await createEndpoint(h(), app, { uid, eventTypes: [et], channels: ['ch'], description: 'keep' });
    const r = await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}`, { body: { disabled: true } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ disabled: true, description: 'keep', eventTypes: [et], channels: ['ch'], uid });
    const cleared = await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}`, {
      body: { eventTypes: null, channels: null, uid: null },
    });
    expect(cleared.status).toBe(200);
    expect(cleared.json.eventTypes ?? null).toBeNull();
    expect(cleared.json.channels ?? null).toBeNull();
    expect(cleared.json.uid).toBeNull();
    expect(cleared.json.disabled).toBe(true);
  });

  it('PATCH with a bad url or unknown event type is 422 and changes nothing', async () => {
    const ep = await createEndpoint(h(), app, { url: 'https://stays.example.com' });
    expect((await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}`, { body: { url: 'ftp://x.com' } })).status).toBe(422);
    expect((await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}`, { body: { eventTypes: ['nope.nope'] } })).status).toBe(422);
    const got = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).json;
    expect(got.url).toBe('https://stays.example.com');
    expect(got.eventTypes ?? null).toBeNull();
  });

  it('DELETE is 204, then 404; the uid can be reused', async () => {
    const uid = unique('del');
    const ep = await createEndpoint(h(), app, { uid });
    const del = await h().inject('DELETE', `/api/v1/app/${app}/endpoint/${uid}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).status).toBe(404);
    expect((await h().inject('DELETE', `/api/v1/app/${app}/endpoint/${ep.id}`)).status).toBe(404);
    const again = await createEndpoint(h(), app, { uid });
    expect(again.id).not.toBe(ep.id);
  });
});

describe('endpoints: signing secrets', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;

  it('a new endpoint gets whsec_ + base64 of 24 random bytes, different per endpoint', async () => {
    app = (await createApp(h())).id;
    const a = await createEndpoint(h(), app);
    const b = await createEndpoint(h(), app);
    const ka = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${a.id}/secret`)).json.key;
    const kb = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${b.id}/secret`)).json.key;
    expect(ka).toMatch(WHSEC_24);
    expect(secretBytes(ka)).toBe(24);
    expect(kb).toMatch(WHSEC_24);
    expect(ka).not.toBe(kb);
  });

  it('a secret given on create is the one returned', async () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    const ep = await createEndpoint(h(), app, { secret });
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json).toEqual({ key: secret });
  });

  it('a malformed secret on create is 422', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { body: { url: 'https://e.com', secret: 'whsec_short' } });
    expect(r.status).toBe(422);
  });

  it('rotate with a caller key: 204, the key becomes current, the old one is kept for the default 24 h grace', async () => {
    const ep = await createEndpoint(h(), app);
    const old = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key;
    const key = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/secret/rotate`, { body: { key } });
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key).toBe(key);
    const stored = await h().herald.store.getEndpoint(app, ep.id);
    expect(stored!.secret).toBe(key);
    expect(stored!.previousSecrets).toEqual([{ key: old, expiresAt: clock.t + DAY }]);
  });

  it('rotate without a key generates a fresh whsec_ secret; gracePeriodSeconds sets the expiry of the old one', async () => {
    const ep = await createEndpoint(h(), app);
    const old = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key;
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/secret/rotate`, { body: { gracePeriodSeconds: 3600 } });
    expect(r.status).toBe(204);
    const next = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key;
    expect(next).toMatch(WHSEC_24);
    expect(next).not.toBe(old);
    const stored = await h().herald.store.getEndpoint(app, ep.id);
    expect(stored!.previousSecrets).toEqual([{ key: old, expiresAt: clock.t + HOUR }]);
  });

  it('rotate with an empty body (the SDK sends {}) works', async () => {
    const ep = await createEndpoint(h(), app);
    const old = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key;
    expect((await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/secret/rotate`, { body: {} })).status).toBe(204);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key).not.toBe(old);
  });

  it('rotate with a malformed key is 422 and keeps the current secret', async () => {
    const ep = await createEndpoint(h(), app);
    const old = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key;
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/secret/rotate`, { body: { key: 'not a key' } });
    expect(r.status).toBe(422);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key).toBe(old);
  });

  it('the secret is sealed at rest: the database file never holds it in plain text', async () => {
    const ep = await createEndpoint(h(), app);
    const key = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).json.key as string;
    const row = await rawRow(h(), 'SELECT * FROM endpoint WHERE id = ?', [ep.id]);
    expect(row).toBeDefined();
    expect(JSON.stringify(row)).not.toContain(key.slice('whsec_'.length));
  });
});

describe('endpoints: custom headers', () => {
  const h = useInProcess();
  let app: string;

  it('PUT stores headers; GET shows non-sensitive ones and lists sensitive names without values', async () => {
    app = (await createApp(h())).id;
    const ep = await createEndpoint(h(), app);
    const put = await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, {
      body: { headers: { 'X-Tenant': 'acme', Authorization: 'Bearer very-secret', 'X-Api-Key': 'key-123' } },
    });
    expect(put.status).toBe(204);
    expect(put.text).toBe('');
    const got = await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`);
    expect(got.status).toBe(200);
    expect(got.json.headers).toEqual({ 'X-Tenant': 'acme' });
    expect([...got.json.sensitive].sort()).toEqual(['Authorization', 'X-Api-Key']);
    expect(got.text).not.toContain('very-secret');
    expect(got.text).not.toContain('key-123');
  });

  it('PUT replaces the whole set', async () => {
    const ep = await createEndpoint(h(), app);
    await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { 'X-One': '1' } } });
    await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { 'X-Two': '2' } } });
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`)).json).toEqual({ headers: { 'X-Two': '2' }, sensitive: [] });
  });

  it('PATCH adds and changes headers and removes those set to null', async () => {
    const ep = await createEndpoint(h(), app);
    await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { 'X-Keep': 'k', 'X-Drop': 'd', 'X-Change': 'a' } } });
    const r = await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, {
      body: { headers: { 'X-Drop': null, 'X-Change': 'b', 'X-New': 'n' } },
    });
    expect(r.status).toBe(204);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`)).json.headers).toEqual({
      'X-Keep': 'k',
      'X-Change': 'b',
      'X-New': 'n',
    });
  });

  it('header names are case-insensitive: PATCH replaces or removes whatever spelling is stored; sensitivity ignores case', async () => {
    const ep = await createEndpoint(h(), app);
    await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, {
      body: { headers: { 'X-Tenant': 'a', 'X-Gone': 'g', authorization: 'Bearer s3cret' } },
    });
    const r = await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { 'x-tenant': 'b', 'x-gone': null } } });
    expect(r.status).toBe(204);
    const got = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`)).json;
    expect(got.headers).toEqual({ 'x-tenant': 'b' });
    expect(got.sensitive).toEqual(['authorization']);
  });

  it('headers given on endpoint create are stored', async () => {
    const ep = await createEndpoint(h(), app, { headers: { 'X-From-Create': 'yes', 'x-auth-token': 't' } });
    const got = (await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`)).json;
    expect(got.headers).toEqual({ 'X-From-Create': 'yes' });
    expect(got.sensitive).toEqual(['x-auth-token']);
  });

  it('reserved header names (content-type, svix-*) are 422 and nothing changes', async () => {
    const ep = await createEndpoint(h(), app);
    await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { 'X-Before': '1' } } });
    for (const name of ['content-type', 'Content-Type', 'svix-foo', 'Svix-Signature']) {
      const r = await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { [name]: 'x' } } });
      expect(r.status, name).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
      expect(r.json.detail[0].loc.slice(0, 2)).toEqual(['body', 'headers']);
      const p = await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { [name]: 'x' } } });
      expect(p.status, name).toBe(422);
    }
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`)).json.headers).toEqual({ 'X-Before': '1' });
  });

  it('CR or LF in a header value is 422', async () => {
    const ep = await createEndpoint(h(), app);
    for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb']) {
      const r = await h().inject('PUT', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, { body: { headers: { 'X-Evil': value } } });
      expect(r.status).toBe(422);
    }
    const onCreate = await h().inject('POST', `/api/v1/app/${app}/endpoint`, {
      body: { url: 'https://e.com', headers: { 'X-Evil': 'a\r\nb' } },
    });
    expect(onCreate.status).toBe(422);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`)).json.headers).toEqual({});
  });
});

describe('endpoints: stats, recover, channels, list order', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;

  it("stats has {success, pending, sending, fail, canceled} and counts this endpoint's deliveries", async () => {
    app = (await createApp(h())).id;
    const ep = await createEndpoint(h(), app);
    const empty = await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/stats`);
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual({ success: 0, pending: 0, sending: 0, fail: 0, canceled: 0 });
    await sendMessage(h(), app);
    await sendMessage(h(), app);
    clock.advance(1000);
    const r = await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/stats`);
    expect(r.json).toEqual({ success: 0, pending: 2, sending: 0, fail: 0, canceled: 0 });
  });

  it('stats over a window longer than 28 days is 400 invalid_range', async () => {
    const ep = await createEndpoint(h(), app);
    const since = new Date(clock.t - 29 * DAY).toISOString();
    const r = await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/stats?since=${since}`);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('invalid_range');
  });

  it('stats with `until` in the future is 400 invalid_range', async () => {
    const ep = await createEndpoint(h(), app);
    const until = new Date(clock.t + DAY).toISOString();
    const r = await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}/stats?until=${until}`);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('invalid_range');
  });

  it('recover: 202 with RecoverOut {id: qtask_…, status: running, task: endpoint.recover, updatedAt}', async () => {
    const ep = await createEndpoint(h(), app);
    const since = new Date(clock.t - HOUR).toISOString();
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/recover`, { body: { since } });
    expect(r.status).toBe(202);
    expect(r.json.id).toMatch(idRe('qtask_'));
    expect(r.json.task).toBe('endpoint.recover');
    // The contract's BackgroundTaskStatus for RecoverOut is the single value "running".
    expect(r.json.status).toBe('running');
    expect(r.json.updatedAt).toBe(new Date(clock.t).toISOString());
  });

  it("recover makes the endpoint's failed deliveries in the window due again as manual ones", async () => {
    const ep = await createEndpoint(h(), app);
    const msg = await sendMessage(h(), app);
    await rawRun(h(), 'UPDATE delivery_task SET status = 2, next_attempt_at = NULL WHERE msg_id = ? AND endpoint_id = ?', [msg.id, ep.id]);
    clock.advance(1000);
    const since = new Date(clock.t - HOUR).toISOString();
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/recover`, { body: { since } });
    expect(r.status).toBe(202);
    // The recovery runs after the answer; its outcome lands on the background task's row.
    const task = await until('the recover task to finish', async () => {
      const t = await h().herald.store.getBackgroundTask(r.json.id);
      return t && t.status !== 'running' ? t : null;
    });
    expect(task.status).toBe('finished');
    expect(task.data.messagesSent).toBe(1);
    const row = await rawRow(h(), 'SELECT status, next_attempt_at, trigger_type FROM delivery_task WHERE msg_id = ? AND endpoint_id = ?', [msg.id, ep.id]);
    expect(row).toEqual({ status: 1, next_attempt_at: clock.t, trigger_type: 1 });
  });

  it('recover of more than 14 days is 422', async () => {
    const ep = await createEndpoint(h(), app);
    const since = new Date(clock.t - 15 * DAY).toISOString();
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/recover`, { body: { since } });
    expect(r.status).toBe(422);
  });

  it('recover without `since` is 422', async () => {
    const ep = await createEndpoint(h(), app);
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/recover`, { body: {} });
    expect(r.status).toBe(422);
    expect(r.json.detail).toContainEqual(expect.objectContaining({ loc: ['body', 'since'] }));
  });

  it('channels round-trip through create, get and list', async () => {
    const ep = await createEndpoint(h(), app, { channels: ['eu', 'us'] });
    expect(ep.channels).toEqual(['eu', 'us']);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).json.channels).toEqual(['eu', 'us']);
    const listed = (await listAll(h(), `/api/v1/app/${app}/endpoint`)).items.find((e) => e.id === ep.id);
    expect(listed.channels).toEqual(['eu', 'us']);
  });

  it('the endpoint list is newest first by default; order=ascending reverses it; pages to done', async () => {
    const fresh = (await createApp(h())).id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(10);
      ids.push((await createEndpoint(h(), fresh)).id);
    }
    const desc = await listAll(h(), `/api/v1/app/${fresh}/endpoint?limit=2`);
    expect(desc.items.map((e) => e.id)).toEqual([...ids].reverse());
    expect(desc.pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
    const asc = await listAll(h(), `/api/v1/app/${fresh}/endpoint?limit=2&order=ascending`);
    expect(asc.items.map((e) => e.id)).toEqual(ids);
  });
});
