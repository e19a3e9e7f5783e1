// Content filters: an endpoint's `filter` over the payload (the Convoy/Outpost operator form),
// its rules (domain/content-filter.ts), its validation (422 naming the error), fan-out that
// honours it in the message's own commit, and its exclusion with Engage payload encryption.

import { describe, expect, it } from 'vitest';
import { checkFilter, compileFilter, filterFor } from '../../src/domain/content-filter.js';
import { fanOut } from '../../src/domain/fanout.js';
import { ValidationError } from '../../src/domain/errors.js';
import { createApp, createEndpoint, deliverySuite, sendMessage, settled } from './harness.js';

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('filter rules (pure)', () => {
  const payload = {
    country: 'SE',
    score: 42,
    name: 'Ada',
    tags: ['vip', 'beta'],
    nothing: null,
    customer: { address: { city: 'Malmö', zip: '211 20' }, orders: [{ total: 10 }, { total: 99.5 }] },
    flags: { a: 1, b: [1, 2] },
  };
  const cases: [object, boolean][] = [
    [{ country: 'SE' }, true],
    [{ country: { $eq: 'SE' } }, true],
    [{ country: { $eq: 'NO' } }, false],
    [{ country: { $neq: 'NO' } }, true],
    [{ missing: { $neq: 'x' } }, true],
    [{ missing: { $eq: 'x' } }, false],
    [{ score: { $gt: 41 } }, true],
    [{ score: { $gt: 42 } }, false],
    [{ score: { $gte: 42, $lte: 42 } }, true],
    [{ score: { $lt: 42 } }, false],
    [{ score: { $gt: '4' } }, false], // number against string: no match
    [{ name: { $gt: 'A', $lt: 'B' } }, true],
    [{ missing: { $lt: 5 } }, false],
    [{ country: { $in: ['SE', 'NO'] } }, true],
    [{ country: { $nin: ['SE', 'NO'] } }, false],
    [{ missing: { $nin: ['SE'] } }, true],
    [{ tags: 'vip' }, true],
    [{ tags: { $in: ['alpha', 'beta'] } }, true],
    [{ tags: ['vip', 'beta'] }, true],
    [{ tags: ['beta', 'vip'] }, false],
    [{ nothing: { $exist: true } }, true],
    [{ nothing: null }, true],
    [{ missing: { $exist: false } }, true],
    [{ country: { $exist: false } }, false],
    [{ 'customer.address.city': 'Malmö' }, true],
    [{ 'customer.orders.1.total': { $gt: 50 } }, true],
    [{ 'customer.orders.2.total': { $exist: true } }, false],
    [{ 'country.deeper': { $exist: true } }, false],
    [{ flags: { a: 1, b: [1, 2] } }, true],
    [{ flags: { $eq: { b: [1, 2], a: 1 } } }, true],
    [{ $or: [{ country: 'NO' }, { score: { $gte: 40 } }] }, true],
    [{ $or: [{ country: 'NO' }, { score: { $gte: 50 } }] }, false],
    [{ $and: [{ country: 'SE' }, { score: { $gte: 40 } }] }, true],
    [{ $and: [{ country: 'SE' }, { score: { $gte: 50 } }] }, false],
    [{ $not: { country: 'SE' } }, false],
    [{ score: { $not: { $gt: 50 } } }, true],
    [{ country: 'SE', score: { $gt: 100 } }, false],
    [{}, true],
  ];
  for (const [filter, expected] of cases) {
    it(`${JSON.stringify(filter)} → ${expected}`, () => {
      expect(compileFilter(filter)(payload)).toBe(expected);
    });
  }

  it('refuses malformed filters, naming where', () => {
    const where = (f: unknown) => {
      try {
        checkFilter(f);
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return (e as ValidationError).issues[0]!.loc.join('.');
      }
      return 'accepted';
    };
    expect(where({ country: { $like: 'S%' } })).toBe('body.filter.country.$like');
    expect(where({ $nor: [] })).toBe('body.filter.$nor');
    expect(where({ $or: [] })).toBe('body.filter.$or');
    expect(where({ $or: [{ a: 1 }, 'x'] })).toBe('body.filter.$or.1');
    expect(where({ a: { $in: 'x' } })).toBe('body.filter.a.$in');
    expect(where({ a: { $gt: { b: 1 } } })).toBe('body.filter.a.$gt');
    expect(where({ a: { $exist: 'yes' } })).toBe('body.filter.a.$exist');
    expect(where({ 'a..b': 1 })).toBe('body.filter.a..b');
    expect(where(['x'])).toBe('body.filter');
    let deep: object = { a: 1 };
    for (let i = 0; i < 12; i++) deep = { $not: deep };
    expect(where(deep)).toMatch(/^body\.filter(\.\$not)+$/);
    expect(where({ big: 'x'.repeat(5000) })).toBe('body.filter');
    expect(where({ country: 'SE' })).toBe('accepted');
    expect(checkFilter({})).toBeNull();
  });

  it('fan-out skips endpoints whose filter the payload does not match, parsing the payload once', () => {
    const msg = { id: 'msg_1', appId: 'app_1', eventType: 'x', channels: null, createdAt: 1, payload: '{"country":"SE"}' };
    const eps = [
      { id: 'se', disabled: false, eventTypes: null, channels: null, filter: '{"country":"SE"}' },
      { id: 'no', disabled: false, eventTypes: null, channels: null, filter: '{"country":"NO"}' },
      { id: 'all', disabled: false, eventTypes: null, channels: null, filter: null },
    ];
    expect(fanOut(msg, eps).map((t) => t.endpointId)).toEqual(['se', 'all']);
    // A send-example goes to its one endpoint whatever its filter says.
    expect(fanOut(msg, eps, 'no').map((t) => t.endpointId)).toEqual(['no']);
    // The same text compiles once.
    expect(filterFor('{"country":"SE"}')).toBe(filterFor('{"country":"SE"}'));
    // A payload that is not an object matches only what a missing field matches.
    expect(fanOut({ ...msg, payload: '"text"' }, eps).map((t) => t.endpointId)).toEqual(['all']);
  });
});

describe('content filters through the API and fan-out', () => {
  const s = deliverySuite();

  /** The endpoints a message went to, from the store's own record (list-attempted-destinations). */
  const destinations = async (appId: string, msgId: string) =>
    sorted((await s.h.call('GET', `/api/v1/app/${appId}/msg/${msgId}/endpoint`, 200)).data.map((d: any) => d.id));

  it('delivers each message only to the endpoints whose filter its payload matches', async () => {
    const app = await createApp(s.h);
    const path = `/filtered-${app.id}`;
    s.rx.on(path, { status: 200 });
    const se = await createEndpoint(s.h, app.id, s.rx, path, { filter: { country: { $eq: 'SE' } } });
    const nordic = await createEndpoint(s.h, app.id, s.rx, path, { filter: { $or: [{ country: { $in: ['NO', 'DK'] } }, { 'customer.vip': true }] } });
    const all = await createEndpoint(s.h, app.id, s.rx, path);
    expect(se.filter).toEqual({ country: { $eq: 'SE' } });
    expect(all.filter).toBeNull();

    const mSe = await sendMessage(s.h, app.id, { payload: { country: 'SE' } });
    const mNo = await sendMessage(s.h, app.id, { payload: { country: 'NO' } });
    const mVip = await sendMessage(s.h, app.id, { payload: { country: 'US', customer: { vip: true } } });
    const mNone = await sendMessage(s.h, app.id, { payload: { country: 'US' } });
    expect(await destinations(app.id, mSe.id)).toEqual(sorted([se.id, all.id]));
    expect(await destinations(app.id, mNo.id)).toEqual(sorted([nordic.id, all.id]));
    expect(await destinations(app.id, mVip.id)).toEqual(sorted([nordic.id, all.id]));
    expect(await destinations(app.id, mNone.id)).toEqual([all.id]);
    // And the receiver got exactly those requests.
    for (const [m, ep] of [
      [mSe, se],
      [mNo, nordic],
      [mVip, nordic],
      [mNone, all],
    ] as const)
      await settled(s.h, m.id, ep.id);
    await settled(s.h, mSe.id, all.id);
    await settled(s.h, mNo.id, all.id);
    await settled(s.h, mVip.id, all.id);
    expect(s.rx.received(path)).toHaveLength(7);
  });

  it('follows a changed filter from the next message on, through PATCH and PUT; null removes it', async () => {
    const app = await createApp(s.h);
    const ep = await s.h.call('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: 'https://example.com/a', filter: { n: 1 } });
    const m1 = await sendMessage(s.h, app.id, { payload: { n: 2 } });
    expect(await destinations(app.id, m1.id)).toEqual([]);
    expect(await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { filter: { n: 2 } })).toMatchObject({ filter: { n: 2 } });
    const m2 = await sendMessage(s.h, app.id, { payload: { n: 2 } });
    expect(await destinations(app.id, m2.id)).toEqual([ep.id]);
    // PATCH without `filter` keeps it.
    expect(await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { description: 'd' })).toMatchObject({ filter: { n: 2 } });
    expect(await s.h.call('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { url: 'https://example.com/a', filter: { n: 3 } })).toMatchObject({
      filter: { n: 3 },
    });
    // PUT without `filter` (as a Svix client sends it) keeps it too.
    expect(await s.h.call('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { url: 'https://example.com/a' })).toMatchObject({ filter: { n: 3 } });
    const m3 = await sendMessage(s.h, app.id, { payload: { n: 2 } });
    expect(await destinations(app.id, m3.id)).toEqual([]);
    expect(await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { filter: null })).toMatchObject({ filter: null });
    const m4 = await sendMessage(s.h, app.id, { payload: { n: 2 } });
    expect(await destinations(app.id, m4.id)).toEqual([ep.id]);
    expect((await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200)).filter).toBeNull();
  });

  it('refuses an invalid filter with a 422 naming the error, on create, update and patch', async () => {
    const app = await createApp(s.h);
    const ep = await s.h.call('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: 'https://example.com/b' });
    for (const [method, path, body] of [
      ['POST', `/api/v1/app/${app.id}/endpoint`, { url: 'https://example.com/c', filter: { country: { $like: 'S%' } } }],
      ['PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}`, { url: 'https://example.com/c', filter: { country: { $like: 'S%' } } }],
      ['PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, { filter: { country: { $like: 'S%' } } }],
    ] as const) {
      const r = await s.h.inject(method, path, { body });
      expect(r.status).toBe(422);
      expect(r.json.detail[0].loc).toEqual(['body', 'filter', 'country', '$like']);
      expect(r.json.detail[0].msg).toMatch(/unknown operator \$like/);
    }
    const notObject = await s.h.inject('POST', `/api/v1/app/${app.id}/endpoint`, { body: { url: 'https://example.com/c', filter: ['SE'] } });
    expect(notObject.status).toBe(422);
    expect(notObject.json.detail[0].loc).toEqual(['body', 'filter']);
  });

  it('excludes Engage payload encryption: a filter on an encrypted application is a 422, a key on a filtered one a 409 naming the endpoints', async () => {
    const key = 'a'.repeat(32);
    const encrypted = await createApp(s.h);
    await s.h.call('PUT', `/api/v1/app/${encrypted.id}/engage/encryption-key`, 200, { key });
    const refused = await s.h.inject('POST', `/api/v1/app/${encrypted.id}/endpoint`, { body: { url: 'https://example.com/d', filter: { a: 1 } } });
    expect(refused.status).toBe(422);
    expect(refused.json.detail[0].loc).toEqual(['body', 'filter']);
    expect(refused.json.detail[0].msg).toMatch(/encrypted/);
    // Without a filter it is fine; adding one later is refused the same way.
    const plain = await s.h.call('POST', `/api/v1/app/${encrypted.id}/endpoint`, 201, { url: 'https://example.com/d' });
    expect((await s.h.inject('PATCH', `/api/v1/app/${encrypted.id}/endpoint/${plain.id}`, { body: { filter: { a: 1 } } })).status).toBe(422);

    const filtered = await createApp(s.h);
    const f1 = await s.h.call('POST', `/api/v1/app/${filtered.id}/endpoint`, 201, { url: 'https://example.com/e', filter: { a: 1 } });
    const f2 = await s.h.call('POST', `/api/v1/app/${filtered.id}/endpoint`, 201, { url: 'https://example.com/f', filter: { b: 2 } });
    await s.h.call('POST', `/api/v1/app/${filtered.id}/endpoint`, 201, { url: 'https://example.com/g' });
    const conflict = await s.h.inject('PUT', `/api/v1/app/${filtered.id}/engage/encryption-key`, { body: { key } });
    expect(conflict.status).toBe(409);
    expect(conflict.json.code).toBe('endpoints_filtered');
    expect(conflict.json.detail).toContain(f1.id);
    expect(conflict.json.detail).toContain(f2.id);
    expect((await s.h.call('GET', `/api/v1/app/${filtered.id}/engage`, 200)).encryptionEnabled).toBe(false);
    // Once the filters are gone the key is accepted.
    await s.h.call('PATCH', `/api/v1/app/${filtered.id}/endpoint/${f1.id}`, 200, { filter: null });
    await s.h.call('PATCH', `/api/v1/app/${filtered.id}/endpoint/${f2.id}`, 200, { filter: {} });
    await s.h.call('PUT', `/api/v1/app/${filtered.id}/engage/encryption-key`, 200, { key });
  });
});
