// Messages: create (202), fan-out to matching endpoints only (svix.md §1.4 step 5), eventId
// look-ups and conflicts, with_content, list filters, size limit, inline application creation,
// expunge, and send-example.
import { describe, expect, it } from 'vitest';
import { count, createApp, createEndpoint, createEventType, sendMessage, tasksOf, unique } from './helpers/fixtures.js';
import { Clock, idRe, isValidationErrorBody, listAll, MINUTE, useInProcess, type InProcess } from './helpers/inproc.js';
import { rawRow } from './helpers/rows.js';

const MSG_ID = idRe('msg_');
const MiB = 1024 * 1024;

/** The endpoint ids a message was routed to, read through the API and from the database. */
async function destinations(h: InProcess, app: string, msg: string): Promise<string[]> {
  const api = (await listAll(h, `/api/v1/app/${app}/msg/${msg}/endpoint`)).items.map((e) => e.id).sort();
  const db = [...(await tasksOf(h, msg)).keys()].sort();
  expect(api).toEqual(db);
  return api;
}

describe('messages: create and fan-out', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;
  const ep: Record<string, string> = {};

  it('creates a message: 202 with a msg_ id and MessageOut fields', async () => {
    app = (await createApp(h())).id;
    await createEventType(h(), { name: 'order.created' });
    await createEventType(h(), { name: 'order.paid' });
    ep.all = (await createEndpoint(h(), app)).id;
    ep.created = (await createEndpoint(h(), app, { eventTypes: ['order.created'] })).id;
    ep.chanA = (await createEndpoint(h(), app, { channels: ['a'] })).id;
    ep.createdChanB = (await createEndpoint(h(), app, { eventTypes: ['order.created'], channels: ['b'] })).id;
    ep.disabled = (await createEndpoint(h(), app, { disabled: true })).id;

    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, {
      body: { eventType: 'order.created', payload: { orderId: 42, nested: { ok: true } }, eventId: 'evt-1' },
    });
    expect(r.status).toBe(202);
    expect(r.json.id).toMatch(MSG_ID);
    expect(r.json).toMatchObject({ eventType: 'order.created', eventId: 'evt-1', payload: { orderId: 42, nested: { ok: true } } });
    expect(r.json.channels ?? null).toBeNull();
    expect(r.json.timestamp).toBe(new Date(clock.t).toISOString());
  });

  it('no channels: endpoints with no filter and with the type match; channel endpoints and the disabled one do not', async () => {
    const m = await sendMessage(h(), app, { eventType: 'order.created' });
    expect(await destinations(h(), app, m.id)).toEqual([ep.all, ep.created].sort());
  });

  it('another type on channel a: the unfiltered and the channel-a endpoints', async () => {
    const m = await sendMessage(h(), app, { eventType: 'order.paid', channels: ['a'] });
    expect(await destinations(h(), app, m.id)).toEqual([ep.all, ep.chanA].sort());
  });

  it('channels overlap: [b, c] reaches the channel-b endpoint when the type also matches', async () => {
    const m = await sendMessage(h(), app, { eventType: 'order.created', channels: ['b', 'c'] });
    expect(await destinations(h(), app, m.id)).toEqual([ep.all, ep.created, ep.createdChanB].sort());
  });

  it('channels [a, b] with order.created reach every enabled endpoint', async () => {
    const m = await sendMessage(h(), app, { eventType: 'order.created', channels: ['a', 'b'] });
    expect(await destinations(h(), app, m.id)).toEqual([ep.all, ep.created, ep.chanA, ep.createdChanB].sort());
  });

  it('a type no filter names, on a channel nobody listens to, reaches only the unfiltered endpoint', async () => {
    const m = await sendMessage(h(), app, { eventType: 'something.else', channels: ['zzz'] });
    expect(await destinations(h(), app, m.id)).toEqual([ep.all]);
  });

  it('each delivery task starts pending and due at once', async () => {
    const m = await sendMessage(h(), app, { eventType: 'order.created' });
    for (const t of (await tasksOf(h(), m.id)).values()) {
      expect(t).toMatchObject({ status: 1, next_attempt_at: clock.t, trigger_type: 0, app_id: app });
    }
  });

  it('a re-enabled endpoint matches again; a deleted one does not', async () => {
    await h().inject('PATCH', `/api/v1/app/${app}/endpoint/${ep.disabled}`, { body: { disabled: false } });
    await h().inject('DELETE', `/api/v1/app/${app}/endpoint/${ep.all}`);
    const m = await sendMessage(h(), app, { eventType: 'order.created' });
    expect(await destinations(h(), app, m.id)).toEqual([ep.created, ep.disabled].sort());
  });

  it('a message for an application without endpoints is accepted with no deliveries', async () => {
    const lonely = (await createApp(h())).id;
    const m = await sendMessage(h(), lonely);
    expect(await destinations(h(), lonely, m.id)).toEqual([]);
  });
});

describe('messages: eventId, with_content, expunge', () => {
  const h = useInProcess();
  let app: string;

  it('a duplicate eventId in the same application is 409 and nothing is written', async () => {
    app = (await createApp(h())).id;
    await createEndpoint(h(), app);
    await sendMessage(h(), app, { eventId: 'once' });
    const msgs = await count(h(), 'message');
    const tasks = await count(h(), 'delivery_task');
    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'x', payload: {}, eventId: 'once' } });
    expect(r.status).toBe(409);
    expect(typeof r.json.code).toBe('string');
    expect(await count(h(), 'message')).toBe(msgs);
    expect(await count(h(), 'delivery_task')).toBe(tasks);
    // The same eventId in another application is fine.
    const other = (await createApp(h())).id;
    expect((await h().inject('POST', `/api/v1/app/${other}/msg`, { body: { eventType: 'x', payload: {}, eventId: 'once' } })).status).toBe(202);
  });

  it('a message can be read by id and by eventId', async () => {
    const m = await sendMessage(h(), app, { eventId: 'lookup-me', payload: { n: 1 } });
    const byId = await h().inject('GET', `/api/v1/app/${app}/msg/${m.id}`);
    const byEventId = await h().inject('GET', `/api/v1/app/${app}/msg/lookup-me`);
    expect(byId.status).toBe(200);
    expect(byId.json).toEqual(m);
    expect(byEventId.json).toEqual(m);
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/never-sent`)).status).toBe(404);
  });

  it('with_content=false answers payload {} on create, get and list; the payload is still stored', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/msg?with_content=false`, {
      body: { eventType: 'quiet', payload: { secret: 'stuff' } },
    });
    expect(r.status).toBe(202);
    expect(r.json.payload).toEqual({});
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/${r.json.id}?with_content=false`)).json.payload).toEqual({});
    const listed = (await h().inject('GET', `/api/v1/app/${app}/msg?with_content=false`)).json.data;
    expect(listed.length).toBeGreaterThan(0);
    for (const m of listed) expect(m.payload).toEqual({});
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/${r.json.id}`)).json.payload).toEqual({ secret: 'stuff' });
  });

  it('expunging the content answers 204; the message then reads payload {expired: true}', async () => {
    const m = await sendMessage(h(), app, { payload: { pii: 'yes' } });
    const del = await h().inject('DELETE', `/api/v1/app/${app}/msg/${m.id}/content`);
    expect(del.status).toBe(204);
    const got = await h().inject('GET', `/api/v1/app/${app}/msg/${m.id}`);
    expect(got.status).toBe(200);
    expect(got.json.payload).toEqual({ expired: true });
    const row = await rawRow(h(), 'SELECT * FROM message WHERE id = ?', [m.id]);
    expect(row).toBeDefined();
    expect(JSON.stringify(row)).not.toContain('pii');
  });
});

describe('messages: list filters', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;
  const at: Record<string, number> = {};
  const id: Record<string, string> = {};

  it('lists newest first and follows the iterator to done', async () => {
    app = (await createApp(h())).id;
    const plan: [string, string, string[] | undefined][] = [
      ['m1', 'user.created', undefined],
      ['m2', 'user.deleted', ['eu']],
      ['m3', 'invoice.paid', ['us']],
      ['m4', 'user.created', ['eu', 'us']],
      ['m5', 'invoice.paid', undefined],
    ];
    for (const [name, eventType, channels] of plan) {
      clock.advance(MINUTE);
      at[name] = clock.t;
      id[name] = (await sendMessage(h(), app, { eventType, channels })).id;
    }
    const { items, pages } = await listAll(h(), `/api/v1/app/${app}/msg?limit=2`);
    expect(items.map((m) => m.id)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1'].map((n) => id[n]));
    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
  });

  const ids = async (query: string) => (await listAll(h(), `/api/v1/app/${app}/msg?${query}`)).items.map((m) => m.id);

  it('event_types in the comma form a,b', async () => {
    expect(await ids('event_types=user.created,user.deleted')).toEqual(['m4', 'm2', 'm1'].map((n) => id[n]));
  });

  it('event_types in the event_types[]= form', async () => {
    expect(await ids('event_types[]=invoice.paid&event_types[]=user.deleted')).toEqual(['m5', 'm3', 'm2'].map((n) => id[n]));
    expect(await ids('event_types[]=user.created')).toEqual(['m4', 'm1'].map((n) => id[n]));
  });

  it('channel', async () => {
    expect(await ids('channel=eu')).toEqual(['m4', 'm2'].map((n) => id[n]));
    expect(await ids('channel=us')).toEqual(['m4', 'm3'].map((n) => id[n]));
    expect(await ids('channel=nowhere')).toEqual([]);
  });

  it('before and after (RFC 3339), alone and together', async () => {
    const iso = (t: number) => encodeURIComponent(new Date(t).toISOString());
    expect(await ids(`after=${iso(at.m3!)}`)).toEqual(['m5', 'm4'].map((n) => id[n]));
    expect(await ids(`before=${iso(at.m3!)}`)).toEqual(['m2', 'm1'].map((n) => id[n]));
    expect(await ids(`after=${iso(at.m1!)}&before=${iso(at.m5!)}`)).toEqual(['m4', 'm3', 'm2'].map((n) => id[n]));
  });

  it('filters combine: event type and channel', async () => {
    expect(await ids('event_types=user.created&channel=eu')).toEqual([id.m4]);
  });

  it('a filtered list pages correctly', async () => {
    const { items, pages } = await listAll(h(), `/api/v1/app/${app}/msg?limit=1&event_types=user.created,invoice.paid`);
    expect(items.map((m) => m.id)).toEqual(['m5', 'm4', 'm3', 'm1'].map((n) => id[n]));
    expect(pages.at(-1).done).toBe(true);
  });

  it('a malformed before/after is 422', async () => {
    expect((await h().inject('GET', `/api/v1/app/${app}/msg?before=yesterday`)).status).toBe(422);
  });
});

describe('messages: payload limits and shapes', () => {
  const h = useInProcess();
  let app: string;

  it('a payload just over 2 MiB is 413 payload_too_large and nothing is written', async () => {
    app = (await createApp(h())).id;
    await createEndpoint(h(), app);
    await sendMessage(h(), app);
    const listBefore = (await h().inject('GET', `/api/v1/app/${app}/msg`)).json.data;
    const msgs = await count(h(), 'message');
    const tasks = await count(h(), 'delivery_task');
    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, {
      body: { eventType: 'big', payload: { blob: 'x'.repeat(2 * MiB) } },
    });
    expect(r.status).toBe(413);
    expect(r.json.code).toBe('payload_too_large');
    expect(typeof r.json.detail).toBe('string');
    expect((await h().inject('GET', `/api/v1/app/${app}/msg`)).json.data).toEqual(listBefore);
    expect(await count(h(), 'message')).toBe(msgs);
    expect(await count(h(), 'delivery_task')).toBe(tasks);
  });

  it('a request body far over the limit (5 MiB) is 413 payload_too_large too', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'huge', payload: { blob: 'y'.repeat(5 * MiB) } } });
    expect(r.status).toBe(413);
    expect(r.json.code).toBe('payload_too_large');
  });

  it('a payload of exactly 2 MiB is accepted', async () => {
    // {"blob":"…"} has 11 bytes of framing.
    const payload = { blob: 'z'.repeat(2 * MiB - 11) };
    expect(Buffer.byteLength(JSON.stringify(payload))).toBe(2 * MiB);
    const r = await h().inject('POST', `/api/v1/app/${app}/msg?with_content=false`, { body: { eventType: 'edge', payload } });
    expect(r.status).toBe(202);
  });

  it('the payload round-trips exactly: unicode, nesting, key order', async () => {
    const payload = { z: 1, a: { 'é😀': ['x', null, true, 1.5, -0.25, { deep: [] }] }, m: '\u0000 ok \n' };
    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'exact', payload } });
    expect(r.status).toBe(202);
    const got = await h().inject('GET', `/api/v1/app/${app}/msg/${r.json.id}`);
    expect(got.json.payload).toEqual(payload);
    expect(Object.keys(got.json.payload)).toEqual(['z', 'a', 'm']);
  });

  it('large integers in the payload are kept exactly (Svix stores the payload as sent)', async () => {
    // 12345678901234567890 fits an unsigned 64-bit integer (as Svix parses it) but not a double.
    const raw = '{"eventType":"snowflake","payload":{"id":12345678901234567890,"n":9007199254740993}}';
    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, { raw, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(202);
    expect(r.text).toContain('"id":12345678901234567890');
    const got = await h().inject('GET', `/api/v1/app/${app}/msg/${r.json.id}`);
    expect(got.text).toContain('"id":12345678901234567890');
    expect(got.text).toContain('"n":9007199254740993');
  });

  it('a payload that is not a JSON object is 422 on body.payload', async () => {
    for (const payload of [[1, 2], 'text', 42, null]) {
      const r = await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'x', payload } });
      expect(r.status, JSON.stringify(payload)).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
      expect(r.json.detail[0].loc).toEqual(['body', 'payload']);
    }
  });

  it('a missing eventType or payload is 422', async () => {
    expect((await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { payload: {} } })).status).toBe(422);
    expect((await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'x' } })).status).toBe(422);
  });

  it('more than 5 channels on a message is 422', async () => {
    const r = await h().inject('POST', `/api/v1/app/${app}/msg`, {
      body: { eventType: 'x', payload: {}, channels: ['a', 'b', 'c', 'd', 'e', 'f'] },
    });
    expect(r.status).toBe(422);
  });
});

describe('messages: inline application', () => {
  const h = useInProcess();

  it('`application` in the body creates the application named in the path', async () => {
    const uid = unique('inline');
    const r = await h().inject('POST', `/api/v1/app/${uid}/msg`, {
      body: { eventType: 'x', payload: { a: 1 }, application: { name: 'Inline Co', uid } },
    });
    expect(r.status).toBe(202);
    const app = await h().inject('GET', `/api/v1/app/${uid}`);
    expect(app.status).toBe(200);
    expect(app.json).toMatchObject({ uid, name: 'Inline Co' });
    expect((await h().inject('GET', `/api/v1/app/${uid}/msg/${r.json.id}`)).status).toBe(200);
  });

  it('`application` without a uid takes the uid from the path', async () => {
    const uid = unique('inline-nouid');
    expect((await h().inject('POST', `/api/v1/app/${uid}/msg`, { body: { eventType: 'x', payload: {}, application: { name: 'N' } } })).status).toBe(202);
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).json.uid).toBe(uid);
  });

  it('`application` is ignored when the application exists', async () => {
    const existing = await createApp(h(), { uid: unique('exists'), name: 'Original' });
    const r = await h().inject('POST', `/api/v1/app/${existing.uid}/msg`, {
      body: { eventType: 'x', payload: {}, application: { name: 'Other name', uid: existing.uid } },
    });
    expect(r.status).toBe(202);
    expect((await h().inject('GET', `/api/v1/app/${existing.id}`)).json.name).toBe('Original');
  });

  it('an application.uid that differs from the path is 422 and creates nothing', async () => {
    const path = unique('path');
    const other = unique('other');
    const apps = await count(h(), 'application');
    const r = await h().inject('POST', `/api/v1/app/${path}/msg`, {
      body: { eventType: 'x', payload: {}, application: { name: 'Mismatch', uid: other } },
    });
    expect(r.status).toBe(422);
    expect(isValidationErrorBody(r.json)).toBe(true);
    expect(r.json.detail[0].type).toBe('application_uid_mismatch');
    expect(await count(h(), 'application')).toBe(apps);
    expect((await h().inject('GET', `/api/v1/app/${path}`)).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${other}`)).status).toBe(404);
  });

  it('an unknown application without `application` is 404', async () => {
    const r = await h().inject('POST', `/api/v1/app/${unique('ghost')}/msg`, { body: { eventType: 'x', payload: {} } });
    expect(r.status).toBe(404);
    expect(r.json.code).toBe('not_found');
  });

  it('a rejected message (payload too large) does not leave its inline application behind', async () => {
    const uid = unique('half');
    const r = await h().inject('POST', `/api/v1/app/${uid}/msg`, {
      body: { eventType: 'x', payload: { blob: 'x'.repeat(2 * MiB + 1024) }, application: { name: 'Half written' } },
    });
    expect(r.status).toBe(413);
    expect((await h().inject('GET', `/api/v1/app/${uid}`)).status).toBe(404);
  });
});

describe('messages: send-example', () => {
  const h = useInProcess();
  let app: string;

  it("sends the schema's examples[0] to that endpoint only (200 MessageOut)", async () => {
    app = (await createApp(h())).id;
    const et = await createEventType(h(), {
      name: 'user.signup',
      schemas: {
        '1': { type: 'object', properties: { email: { type: 'string' } }, examples: [{ email: 'first@example.com' }, { email: 'second@example.com' }] },
      },
    });
    const target = await createEndpoint(h(), app, { eventTypes: ['user.signup'] });
    await createEndpoint(h(), app); // would match an ordinary user.signup message
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${target.id}/send-example`, { body: { eventType: et.name } });
    expect(r.status).toBe(200);
    expect(r.json.id).toMatch(MSG_ID);
    expect(r.json.eventType).toBe('user.signup');
    expect(r.json.payload).toEqual({ email: 'first@example.com' });
    expect(await destinations(h(), app, r.json.id)).toEqual([target.id]);
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/${r.json.id}`)).json.payload).toEqual({ email: 'first@example.com' });
  });

  it('reaches the endpoint even when its filter does not name the event type', async () => {
    await createEventType(h(), { name: 'other.type' });
    const ep = await createEndpoint(h(), app, { eventTypes: ['other.type'] });
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/send-example`, { body: { eventType: 'user.signup' } });
    expect(r.status).toBe(200);
    expect(await destinations(h(), app, r.json.id)).toEqual([ep.id]);
  });

  it('an event type without examples is 400 invalid_scheme (as Svix) and sends nothing', async () => {
    await createEventType(h(), { name: 'no.examples', schemas: { '1': { type: 'object' } } });
    await createEventType(h(), { name: 'no.schema' });
    const ep = await createEndpoint(h(), app);
    const msgs = await count(h(), 'message');
    for (const eventType of ['no.examples', 'no.schema']) {
      const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/send-example`, { body: { eventType } });
      expect(r.status, eventType).toBe(400);
      expect(r.json.code).toBe('invalid_scheme');
      expect(typeof r.json.detail).toBe('string');
    }
    expect(await count(h(), 'message')).toBe(msgs);
  });

  it('svix.ping is built in: it needs no event type and sends {"success": true}', async () => {
    const ep = await createEndpoint(h(), app);
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/send-example`, { body: { eventType: 'svix.ping' } });
    expect(r.status).toBe(200);
    expect(r.json.eventType).toBe('svix.ping');
    expect(r.json.payload).toEqual({ success: true });
    expect(await destinations(h(), app, r.json.id)).toEqual([ep.id]);
  });

  it('an unknown event type is 422 on body.eventType and sends nothing', async () => {
    const ep = await createEndpoint(h(), app);
    const msgs = await count(h(), 'message');
    const r = await h().inject('POST', `/api/v1/app/${app}/endpoint/${ep.id}/send-example`, { body: { eventType: 'never.defined' } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'eventType']);
    expect(await count(h(), 'message')).toBe(msgs);
  });
});

describe('messages: concurrent writes and filters that change', () => {
  const h = useInProcess();
  let app: string;
  let ep: string;

  it('concurrent messages with one eventId: exactly one 202, the rest 409, one message and one task', async () => {
    app = (await createApp(h())).id;
    ep = (await createEndpoint(h(), app)).id;
    const rs = await Promise.all(
      Array.from({ length: 5 }, (_, i) => h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'x', payload: { i }, eventId: 'the-one' } })),
    );
    expect(rs.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409]);
    expect(await count(h(), 'message', 'app_id = ?', app)).toBe(1);
    expect(await count(h(), 'delivery_task', 'app_id = ?', app)).toBe(1);
  });

  it('a rejected message in a concurrent batch leaves the others committed with their tasks', async () => {
    const before = await count(h(), 'message', 'app_id = ?', app);
    const bodies = [
      { eventType: 'x', payload: { n: 1 } },
      { eventType: 'x', payload: { n: 2 }, eventId: 'the-one' },
      { eventType: 'x', payload: { n: 3 }, eventId: 'fresh-id' },
      { eventType: 'x', payload: { n: 4 } },
    ];
    const rs = await Promise.all(bodies.map((body) => h().inject('POST', `/api/v1/app/${app}/msg`, { body })));
    expect(rs.map((r) => r.status)).toEqual([202, 409, 202, 202]);
    expect(await count(h(), 'message', 'app_id = ?', app)).toBe(before + 3);
    for (const r of rs.filter((x) => x.status === 202)) {
      expect((await h().inject('GET', `/api/v1/app/${app}/msg/${r.json.id}`)).json.payload).toEqual(r.json.payload);
      expect((await tasksOf(h(), r.json.id)).has(ep)).toBe(true);
    }
  });

  it('concurrent first messages creating the same inline application create it once', async () => {
    const uid = unique('inline-race');
    const rs = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        h().inject('POST', `/api/v1/app/${uid}/msg`, { body: { eventType: 'x', payload: { i }, application: { name: 'Raced' } } }),
      ),
    );
    expect(rs.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    expect(await count(h(), 'application', 'uid = ?', uid)).toBe(1);
    const listed = (await listAll(h(), `/api/v1/app/${uid}/msg`)).items;
    expect(listed).toHaveLength(4);
  });

  it('a filter change on an endpoint applies to the very next message', async () => {
    const a = (await createApp(h())).id;
    await createEventType(h(), { name: 'kind.one' });
    await createEventType(h(), { name: 'kind.two' });
    const e = (await createEndpoint(h(), a, { eventTypes: ['kind.one'] })).id;
    expect(await destinations(h(), a, (await sendMessage(h(), a, { eventType: 'kind.two' })).id)).toEqual([]);
    await h().inject('PATCH', `/api/v1/app/${a}/endpoint/${e}`, { body: { eventTypes: ['kind.two'] } });
    expect(await destinations(h(), a, (await sendMessage(h(), a, { eventType: 'kind.two' })).id)).toEqual([e]);
    await h().inject('PATCH', `/api/v1/app/${a}/endpoint/${e}`, { body: { channels: ['only-here'] } });
    expect(await destinations(h(), a, (await sendMessage(h(), a, { eventType: 'kind.two' })).id)).toEqual([]);
    expect(await destinations(h(), a, (await sendMessage(h(), a, { eventType: 'kind.two', channels: ['only-here'] })).id)).toEqual([e]);
    await h().inject('PUT', `/api/v1/app/${a}/endpoint/${e}`, { body: { url: 'https://e.com' } });
    expect(await destinations(h(), a, (await sendMessage(h(), a, { eventType: 'kind.one' })).id)).toEqual([e]);
  });

  it('eventId must not start with msg_; payloadRetentionPeriod must be 5..90 days', async () => {
    const bad = [
      { eventType: 'x', payload: {}, eventId: 'msg_lookslikeanid' },
      { eventType: 'x', payload: {}, payloadRetentionPeriod: 4 },
      { eventType: 'x', payload: {}, payloadRetentionPeriod: 91 },
    ];
    const before = await count(h(), 'message', 'app_id = ?', app);
    for (const body of bad) {
      const r = await h().inject('POST', `/api/v1/app/${app}/msg`, { body });
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    expect(await count(h(), 'message', 'app_id = ?', app)).toBe(before);
    expect((await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'x', payload: {}, payloadRetentionPeriod: 5 } })).status).toBe(202);
  });
});
