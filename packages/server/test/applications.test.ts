// Applications: create, read by id and uid, upsert, patch, delete, list pagination and
// validation, against a real SQLite file through the real HTTP layer (svix.md §2.1, §2.2).
import { describe, expect, it } from 'vitest';
import { count, createApp, unique } from './helpers/fixtures.js';
import { Clock, HOUR, idRe, isValidationErrorBody, listAll, useInProcess } from './helpers/inproc.js';

const APP_ID = idRe('app_');

describe('applications: create and read', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('creates an application: 201 with an app_ id, the uid, and the fields it was given', async () => {
    const uid = unique('tenant');
    const r = await h().inject('POST', '/api/v1/app', {
      body: { name: 'Acme', uid, throttleRate: 10, metadata: { plan: 'gold' } },
    });
    expect(r.status).toBe(201);
    expect(r.json.id).toMatch(APP_ID);
    expect(r.json).toMatchObject({ uid, name: 'Acme', throttleRate: 10, metadata: { plan: 'gold' } });
    expect(r.json.createdAt).toBe(new Date(clock.t).toISOString());
    expect(r.json.updatedAt).toBe(new Date(clock.t).toISOString());
  });

  it('creates without a uid (uid null, metadata defaults to {})', async () => {
    const r = await h().inject('POST', '/api/v1/app', { body: { name: 'No uid' } });
    expect(r.status).toBe(201);
    expect(r.json.uid).toBeNull();
    expect(r.json.metadata).toEqual({});
    expect(r.json.throttleRate).toBeNull();
  });

  it('reads an application by id and by uid', async () => {
    const uid = unique('tenant');
    const created = await createApp(h(), { uid });
    const byId = await h().inject('GET', `/api/v1/app/${created.id}`);
    const byUid = await h().inject('GET', `/api/v1/app/${uid}`);
    expect(byId.status).toBe(200);
    expect(byUid.status).toBe(200);
    expect(byId.json).toEqual(created);
    expect(byUid.json).toEqual(created);
  });

  it('answers 404 not_found for an unknown id or uid', async () => {
    for (const idOrUid of ['app_2aVHbyVjDtmnqf4k3nwCrUnPwQe', 'no-such-tenant']) {
      const r = await h().inject('GET', `/api/v1/app/${idOrUid}`);
      expect(r.status).toBe(404);
      expect(r.json.code).toBe('not_found');
    }
  });

  it('refuses a duplicate uid with 409 and creates nothing', async () => {
    const uid = unique('dup');
    await createApp(h(), { uid });
    const before = await count(h(), 'application');
    const r = await h().inject('POST', '/api/v1/app', { body: { name: 'again', uid } });
    expect(r.status).toBe(409);
    expect(r.json.code).toBe('conflict');
    expect(typeof r.json.detail).toBe('string');
    expect(await count(h(), 'application')).toBe(before);
  });

  it('get_if_exists=true answers 200 with the existing application', async () => {
    const uid = unique('gie');
    const created = await createApp(h(), { uid, name: 'first' });
    const r = await h().inject('POST', '/api/v1/app?get_if_exists=true', { body: { name: 'second', uid } });
    expect(r.status).toBe(200);
    expect(r.json.id).toBe(created.id);
    expect(r.json.name).toBe('first');
  });

  it('get_if_exists=true answers 201 and creates when the uid is new', async () => {
    const uid = unique('gie-new');
    const r = await h().inject('POST', '/api/v1/app?get_if_exists=true', { body: { name: 'new one', uid } });
    expect(r.status).toBe(201);
    expect(r.json.uid).toBe(uid);
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).json.id).toBe(r.json.id);
  });
});

describe('applications: PUT upsert', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('creates under a uid path (201), then updates it (200) keeping the id', async () => {
    const uid = unique('upsert');
    const created = await h().inject('PUT', `/api/v1/app/${uid}`, { body: { name: 'v1' } });
    expect(created.status).toBe(201);
    expect(created.json.id).toMatch(APP_ID);
    expect(created.json.uid).toBe(uid);
    expect(created.json.name).toBe('v1');

    clock.advance(1000);
    const updated = await h().inject('PUT', `/api/v1/app/${uid}`, { body: { name: 'v2', uid, throttleRate: 5 } });
    expect(updated.status).toBe(200);
    expect(updated.json.id).toBe(created.json.id);
    expect(updated.json.name).toBe('v2');
    expect(updated.json.throttleRate).toBe(5);
    expect(updated.json.createdAt).toBe(created.json.createdAt);
    expect(updated.json.updatedAt).toBe(new Date(clock.t).toISOString());
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).json.name).toBe('v2');
  });

  it('PUT replaces the whole resource, as Svix: fields left out (uid, throttleRate, metadata) are cleared', async () => {
    const uid = unique('replace');
    const app = await createApp(h(), { uid, throttleRate: 9, metadata: { k: 'v' } });
    const r = await h().inject('PUT', `/api/v1/app/${app.id}`, { body: { name: 'replaced' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: app.id, name: 'replaced', uid: null, throttleRate: null, metadata: {} });
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).status).toBe(404);
  });

  it('updates an existing application addressed by id (200)', async () => {
    const app = await createApp(h(), { name: 'by id' });
    const r = await h().inject('PUT', `/api/v1/app/${app.id}`, { body: { name: 'renamed' } });
    expect(r.status).toBe(200);
    expect(r.json.id).toBe(app.id);
    expect(r.json.name).toBe('renamed');
  });

  it('answers 404 for an unknown application id (an id is never created by PUT)', async () => {
    const r = await h().inject('PUT', '/api/v1/app/app_2aVHbyVjDtmnqf4k3nwCrUnPwQe', { body: { name: 'x' } });
    expect(r.status).toBe(404);
    expect(r.json.code).toBe('not_found');
  });
});

describe('applications: PATCH', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('null clears uid and throttleRate; omitted fields are kept', async () => {
    const uid = unique('patch');
    const app = await createApp(h(), { uid, name: 'keep me', throttleRate: 7, metadata: { a: '1' } });
    clock.advance(5000);
    const r = await h().inject('PATCH', `/api/v1/app/${app.id}`, { body: { uid: null, throttleRate: null } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: app.id, uid: null, throttleRate: null, name: 'keep me', metadata: { a: '1' } });
    expect(r.json.updatedAt).toBe(new Date(clock.t).toISOString());
    // The uid no longer resolves, the id still does.
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${app.id}`)).json.throttleRate).toBeNull();
  });

  it('changes only the fields given', async () => {
    const app = await createApp(h(), { name: 'before', throttleRate: 3 });
    const r = await h().inject('PATCH', `/api/v1/app/${app.id}`, { body: { name: 'after' } });
    expect(r.status).toBe(200);
    expect(r.json.name).toBe('after');
    expect(r.json.throttleRate).toBe(3);
  });

  it('sets a uid that can then be used to address the application', async () => {
    const app = await createApp(h());
    const uid = unique('later');
    expect((await h().inject('PATCH', `/api/v1/app/${app.id}`, { body: { uid } })).status).toBe(200);
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).json.id).toBe(app.id);
  });
});

describe('applications: DELETE', () => {
  const h = useInProcess();

  it('answers 204 with no body, then 404 on read and on a second delete', async () => {
    const app = await createApp(h());
    const del = await h().inject('DELETE', `/api/v1/app/${app.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await h().inject('GET', `/api/v1/app/${app.id}`)).status).toBe(404);
    expect((await h().inject('DELETE', `/api/v1/app/${app.id}`)).status).toBe(404);
  });

  it('frees the uid for reuse, and the deleted application leaves the list', async () => {
    const uid = unique('reuse');
    const first = await createApp(h(), { uid });
    expect((await h().inject('DELETE', `/api/v1/app/${uid}`)).status).toBe(204);
    const again = await h().inject('POST', '/api/v1/app', { body: { name: 'second life', uid } });
    expect(again.status).toBe(201);
    expect(again.json.id).not.toBe(first.id);
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).json.id).toBe(again.json.id);
    const { items } = await listAll(h(), '/api/v1/app?limit=250');
    expect(items.map((a) => a.id)).not.toContain(first.id);
    expect(items.map((a) => a.id)).toContain(again.json.id);
  });
});

describe('applications: list pagination', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let ids: string[] = [];

  it('pages 7 applications 3 at a time, ascending, every item exactly once', async () => {
    for (let i = 0; i < 7; i++) {
      clock.advance(10);
      ids.push((await createApp(h(), { name: `app ${i}` })).id);
    }
    const { items, pages } = await listAll(h(), '/api/v1/app?limit=3');
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => p.done)).toEqual([false, false, true]);
    expect(items.map((a) => a.id)).toEqual(ids);
    for (const p of pages) {
      expect(p.iterator).toBe(p.data.at(-1).id);
      expect(p.prevIterator).toBe(`-${p.data[0].id}`);
    }
  });

  it('the default order is ascending by id (creation time)', async () => {
    const r = await h().inject('GET', '/api/v1/app');
    expect(r.status).toBe(200);
    expect(r.json.data.map((a: any) => a.id)).toEqual(ids);
    expect(r.json.done).toBe(true);
  });

  it('prevIterator pages back to the previous page', async () => {
    const p1 = (await h().inject('GET', '/api/v1/app?limit=3')).json;
    const p2 = (await h().inject('GET', `/api/v1/app?limit=3&iterator=${p1.iterator}`)).json;
    expect(p2.data.map((a: any) => a.id)).toEqual(ids.slice(3, 6));
    const back = await h().inject('GET', `/api/v1/app?limit=3&iterator=${encodeURIComponent(p2.prevIterator)}`);
    expect(back.status).toBe(200);
    expect(back.json.data.map((a: any) => a.id)).toEqual(ids.slice(0, 3));
  });

  it('order=descending lists newest first and pages to done', async () => {
    const { items, pages } = await listAll(h(), '/api/v1/app?limit=3&order=descending');
    expect(items.map((a) => a.id)).toEqual([...ids].reverse());
    expect(pages.at(-1).done).toBe(true);
  });

  it('limit 250 is accepted; limit 251 is 422 on query.limit', async () => {
    expect((await h().inject('GET', '/api/v1/app?limit=250')).status).toBe(200);
    const r = await h().inject('GET', '/api/v1/app?limit=251');
    expect(r.status).toBe(422);
    expect(isValidationErrorBody(r.json)).toBe(true);
    expect(r.json.detail[0].loc).toEqual(['query', 'limit']);
  });

  it('an insert while paging neither repeats nor skips pre-existing items (ascending)', async () => {
    const before = (await listAll(h(), '/api/v1/app?limit=250')).items.map((a) => a.id);
    const p1 = (await h().inject('GET', '/api/v1/app?limit=3')).json;
    clock.advance(10);
    const added = (await createApp(h(), { name: 'added while paging' })).id;
    const rest = await listAll(h(), `/api/v1/app?limit=3&iterator=${p1.iterator}`);
    const seen = [...p1.data.map((a: any) => a.id), ...rest.items.map((a) => a.id)];
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => id !== added)).toEqual(before);
    // Ascending, the newer item comes after every pre-existing one.
    expect(seen.at(-1)).toBe(added);
    ids = [...before, added];
  });

  it('an insert while paging descending neither repeats nor skips pre-existing items', async () => {
    const before = (await listAll(h(), '/api/v1/app?limit=250&order=descending')).items.map((a) => a.id);
    const p1 = (await h().inject('GET', '/api/v1/app?limit=2&order=descending')).json;
    clock.advance(10);
    await createApp(h(), { name: 'added while paging descending' });
    const rest = await listAll(h(), `/api/v1/app?limit=2&order=descending&iterator=${p1.iterator}`);
    const seen = [...p1.data.map((a: any) => a.id), ...rest.items.map((a) => a.id)];
    expect(seen).toEqual(before);
  });
});

describe('applications: default page size', () => {
  const h = useInProcess();

  it('returns at most 50 items when no limit is given', async () => {
    for (let i = 0; i < 51; i++) await createApp(h());
    const r = await h().inject('GET', '/api/v1/app');
    expect(r.json.data).toHaveLength(50);
    expect(r.json.done).toBe(false);
    const next = await h().inject('GET', `/api/v1/app?iterator=${r.json.iterator}`);
    expect(next.json.data).toHaveLength(1);
    expect(next.json.done).toBe(true);
  });
});

describe('applications: validation', () => {
  const h = useInProcess();

  it('metadata over 4096 bytes is 422 on body.metadata and nothing is created', async () => {
    const before = await count(h(), 'application');
    const r = await h().inject('POST', '/api/v1/app', { body: { name: 'big', metadata: { blob: 'x'.repeat(4100) } } });
    expect(r.status).toBe(422);
    expect(isValidationErrorBody(r.json)).toBe(true);
    expect(r.json.detail[0].loc).toEqual(['body', 'metadata']);
    expect(await count(h(), 'application')).toBe(before);
  });

  it('metadata of exactly 4096 bytes is accepted', async () => {
    // {"blob":"…"} is 11 bytes of framing: 11 + 4085 = 4096.
    const r = await h().inject('POST', '/api/v1/app', { body: { name: 'fits', metadata: { blob: 'x'.repeat(4085) } } });
    expect(r.status).toBe(201);
  });

  it('PATCH with oversized metadata is 422 and leaves the application unchanged', async () => {
    const app = await createApp(h(), { metadata: { k: 'v' } });
    const r = await h().inject('PATCH', `/api/v1/app/${app.id}`, { body: { metadata: { blob: 'x'.repeat(5000) } } });
    expect(r.status).toBe(422);
    expect((await h().inject('GET', `/api/v1/app/${app.id}`)).json.metadata).toEqual({ k: 'v' });
  });

  it('a uid that starts with app_ is 422 on body.uid', async () => {
    const r = await h().inject('POST', '/api/v1/app', { body: { name: 'sneaky', uid: 'app_lookslikeanid' } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'uid']);
  });

  it('a uid with characters outside [a-zA-Z0-9-_.] is 422', async () => {
    const r = await h().inject('POST', '/api/v1/app', { body: { name: 'bad uid', uid: 'has space' } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'uid']);
  });

  it('a missing name is 422 value_error.missing on body.name', async () => {
    const r = await h().inject('POST', '/api/v1/app', { body: { uid: unique('nameless') } });
    expect(r.status).toBe(422);
    expect(r.json.detail).toContainEqual(expect.objectContaining({ loc: ['body', 'name'], type: 'value_error.missing' }));
  });

  it('an empty name and a throttleRate of 0 are 422', async () => {
    expect((await h().inject('POST', '/api/v1/app', { body: { name: '' } })).status).toBe(422);
    expect((await h().inject('POST', '/api/v1/app', { body: { name: 'z', throttleRate: 0 } })).status).toBe(422);
  });
});

describe('applications: concurrent writes and id order', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('5 concurrent creates with one uid: exactly one 201, the rest 409, one row', async () => {
    const uid = unique('race');
    const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => h().inject('POST', '/api/v1/app', { body: { name: `racer ${i}`, uid } })));
    expect(rs.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(await count(h(), 'application', 'uid = ?', uid)).toBe(1);
    const winner = rs.find((r) => r.status === 201)!;
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).json.id).toBe(winner.json.id);
  });

  it('a failing write in a batch of concurrent writes does not take the others down', async () => {
    const taken = unique('taken');
    await createApp(h(), { uid: taken });
    const before = await count(h(), 'application');
    const bodies = [{ name: 'ok 1', uid: unique('ok') }, { name: 'dup', uid: taken }, { name: 'ok 2', uid: unique('ok') }, { name: 'ok 3' }];
    const rs = await Promise.all(bodies.map((body) => h().inject('POST', '/api/v1/app', { body })));
    expect(rs.map((r) => r.status)).toEqual([201, 409, 201, 201]);
    expect(await count(h(), 'application')).toBe(before + 3);
    for (const r of rs.filter((x) => x.status === 201)) {
      expect((await h().inject('GET', `/api/v1/app/${r.json.id}`)).json).toEqual(r.json);
    }
  });

  it('ids minted at the same instant still sort in creation order', async () => {
    const fresh: string[] = [];
    for (let i = 0; i < 20; i++) fresh.push((await createApp(h(), { name: `same instant ${i}` })).id);
    expect([...fresh].sort()).toEqual(fresh);
    const listed = (await listAll(h(), '/api/v1/app?limit=250')).items.map((a) => a.id);
    expect(listed.slice(-20)).toEqual(fresh);
  });

  it('ids keep increasing when the clock steps backwards', async () => {
    const a = (await createApp(h())).id;
    clock.advance(-HOUR);
    const b = (await createApp(h())).id;
    clock.advance(HOUR + 1000);
    const c = (await createApp(h())).id;
    expect(a < b).toBe(true);
    expect(b < c).toBe(true);
    const listed = (await listAll(h(), '/api/v1/app?limit=250')).items.map((x) => x.id);
    expect(listed.slice(-3)).toEqual([a, b, c]);
  });

  it('a uid freed by PATCH can be taken by another application at once', async () => {
    const uid = unique('moving');
    const first = await createApp(h(), { uid });
    await h().inject('GET', `/api/v1/app/${uid}`);
    expect((await h().inject('PATCH', `/api/v1/app/${first.id}`, { body: { uid: null } })).status).toBe(200);
    const second = await createApp(h(), { uid });
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).json.id).toBe(second.id);
  });

  it('deleting an application removes its endpoints and makes its routes 404', async () => {
    const app = await createApp(h(), { uid: unique('doomed') });
    const ep = (await h().inject('POST', `/api/v1/app/${app.id}/endpoint`, { body: { url: 'https://e.com' } })).json;
    expect((await h().inject('DELETE', `/api/v1/app/${app.id}`)).status).toBe(204);
    expect((await h().inject('GET', `/api/v1/app/${app.id}/endpoint`)).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`)).status).toBe(404);
    expect((await h().inject('POST', `/api/v1/app/${app.id}/msg`, { body: { eventType: 'x', payload: {} } })).status).toBe(404);
    expect(await count(h(), 'endpoint', 'id = ? AND deleted_at IS NULL', ep.id)).toBe(0);
  });

  it('PATCH throttleRate 0 is 422; the deprecated rateLimit alias sets throttleRate', async () => {
    const app = await createApp(h());
    expect((await h().inject('PATCH', `/api/v1/app/${app.id}`, { body: { throttleRate: 0 } })).status).toBe(422);
    const r = await h().inject('POST', '/api/v1/app', { body: { name: 'legacy', rateLimit: 12 } });
    expect(r.status).toBe(201);
    expect(r.json.throttleRate).toBe(12);
  });
});
