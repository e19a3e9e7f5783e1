// Event types: create, conflict, archive on delete, unarchive on re-create, expunge, schemas and
// with_content, upsert, patch, and the name cursor (svix.md §2.1, §2.2 "Event type").
import { describe, expect, it } from 'vitest';
import { Clock, isValidationErrorBody, listAll, useInProcess } from './helpers/inproc.js';

const SCHEMA = {
  type: 'object',
  title: 'Invoice paid',
  properties: { invoiceId: { type: 'string' } },
  required: ['invoiceId'],
  examples: [{ invoiceId: 'inv_1' }],
};

describe('event types: create, archive, expunge', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('creates an event type: 201 with its fields', async () => {
    const r = await h().inject('POST', '/api/v1/event-type', {
      body: { name: 'invoice.paid', description: 'An invoice was paid', schemas: { '1': SCHEMA } },
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      name: 'invoice.paid',
      description: 'An invoice was paid',
      archived: false,
      deprecated: false,
      schemas: { '1': SCHEMA },
    });
    expect(r.json.createdAt).toBe(new Date(clock.t).toISOString());
    const got = await h().inject('GET', '/api/v1/event-type/invoice.paid');
    expect(got.status).toBe(200);
    expect(got.json).toEqual(r.json);
  });

  it('refuses a duplicate name with 409 event_type_exists', async () => {
    const r = await h().inject('POST', '/api/v1/event-type', { body: { name: 'invoice.paid', description: 'again' } });
    expect(r.status).toBe(409);
    expect(r.json.code).toBe('event_type_exists');
    expect((await h().inject('GET', '/api/v1/event-type/invoice.paid')).json.description).toBe('An invoice was paid');
  });

  it('DELETE archives: 204, get shows archived, the list hides it unless include_archived=true', async () => {
    await h().inject('POST', '/api/v1/event-type', { body: { name: 'user.gone', description: 'to archive' } });
    const del = await h().inject('DELETE', '/api/v1/event-type/user.gone');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const got = await h().inject('GET', '/api/v1/event-type/user.gone');
    expect(got.status).toBe(200);
    expect(got.json.archived).toBe(true);

    const names = (await listAll(h(), '/api/v1/event-type')).items.map((e) => e.name);
    expect(names).not.toContain('user.gone');
    expect(names).toContain('invoice.paid');
    const all = (await listAll(h(), '/api/v1/event-type?include_archived=true')).items;
    expect(all.find((e) => e.name === 'user.gone')?.archived).toBe(true);
  });

  it('creating an archived name unarchives it (201) with the new fields', async () => {
    const r = await h().inject('POST', '/api/v1/event-type', { body: { name: 'user.gone', description: 'back again' } });
    expect(r.status).toBe(201);
    expect(r.json.archived).toBe(false);
    expect(r.json.description).toBe('back again');
    const names = (await listAll(h(), '/api/v1/event-type')).items.map((e) => e.name);
    expect(names).toContain('user.gone');
  });

  it('DELETE ?expunge=true removes the event type for good', async () => {
    await h().inject('POST', '/api/v1/event-type', { body: { name: 'to.expunge', description: 'bye' } });
    expect((await h().inject('DELETE', '/api/v1/event-type/to.expunge?expunge=true')).status).toBe(204);
    const got = await h().inject('GET', '/api/v1/event-type/to.expunge');
    expect(got.status).toBe(404);
    expect(got.json.code).toBe('not_found');
    const all = (await listAll(h(), '/api/v1/event-type?include_archived=true')).items.map((e) => e.name);
    expect(all).not.toContain('to.expunge');
    // The name is free again.
    expect((await h().inject('POST', '/api/v1/event-type', { body: { name: 'to.expunge', description: 'hi' } })).status).toBe(201);
  });

  it('DELETE of an unknown event type is 404', async () => {
    expect((await h().inject('DELETE', '/api/v1/event-type/never.was')).status).toBe(404);
  });
});

describe('event types: schemas and with_content', () => {
  const h = useInProcess();

  it('the list omits schemas by default and with with_content=false, and includes them with with_content=true', async () => {
    await h().inject('POST', '/api/v1/event-type', { body: { name: 'with.schema', description: 'd', schemas: { '1': SCHEMA } } });
    const plain = (await h().inject('GET', '/api/v1/event-type')).json.data.find((e: any) => e.name === 'with.schema');
    const without = (await h().inject('GET', '/api/v1/event-type?with_content=false')).json.data.find((e: any) => e.name === 'with.schema');
    const withIt = (await h().inject('GET', '/api/v1/event-type?with_content=true')).json.data.find((e: any) => e.name === 'with.schema');
    expect(plain).toBeDefined();
    expect('schemas' in plain).toBe(false);
    expect('schemas' in without).toBe(false);
    expect(withIt.schemas).toEqual({ '1': SCHEMA });
    // A single get always carries the schemas.
    expect((await h().inject('GET', '/api/v1/event-type/with.schema')).json.schemas).toEqual({ '1': SCHEMA });
  });

  it('an invalid JSON Schema is 422 on body.schemas.<version> and nothing is stored', async () => {
    const r = await h().inject('POST', '/api/v1/event-type', {
      body: { name: 'bad.schema', description: 'd', schemas: { '1': { type: 'not-a-json-type' } } },
    });
    expect(r.status).toBe(422);
    expect(isValidationErrorBody(r.json)).toBe(true);
    expect(r.json.detail[0].loc).toEqual(['body', 'schemas', '1']);
    expect((await h().inject('GET', '/api/v1/event-type/bad.schema')).status).toBe(404);
  });

  it('a schema that is not an object is 422', async () => {
    const r = await h().inject('POST', '/api/v1/event-type', { body: { name: 'str.schema', description: 'd', schemas: { '1': 'nope' } } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc.slice(0, 2)).toEqual(['body', 'schemas']);
  });

  it('a name outside [a-zA-Z0-9-_.] is 422 on body.name', async () => {
    const r = await h().inject('POST', '/api/v1/event-type', { body: { name: 'has space', description: 'd' } });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(['body', 'name']);
  });

  it('a missing description is 422', async () => {
    const r = await h().inject('POST', '/api/v1/event-type', { body: { name: 'no.description' } });
    expect(r.status).toBe(422);
    expect(r.json.detail).toContainEqual(expect.objectContaining({ loc: ['body', 'description'] }));
  });
});

describe('event types: PUT upsert and PATCH', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('PUT creates (201) then updates (200), keeping createdAt', async () => {
    const created = await h().inject('PUT', '/api/v1/event-type/order.shipped', { body: { description: 'v1' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'order.shipped', description: 'v1', archived: false });
    clock.advance(60_000);
    const updated = await h().inject('PUT', '/api/v1/event-type/order.shipped', {
      body: { description: 'v2', schemas: { '1': SCHEMA }, deprecated: true },
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ name: 'order.shipped', description: 'v2', deprecated: true, schemas: { '1': SCHEMA } });
    expect(updated.json.createdAt).toBe(created.json.createdAt);
    expect(updated.json.updatedAt).toBe(new Date(clock.t).toISOString());
  });

  it('PATCH changes only the given fields; null clears schemas', async () => {
    await h().inject('POST', '/api/v1/event-type', { body: { name: 'order.paid', description: 'paid', schemas: { '1': SCHEMA } } });
    const r = await h().inject('PATCH', '/api/v1/event-type/order.paid', { body: { description: 'paid (patched)' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'order.paid', description: 'paid (patched)', schemas: { '1': SCHEMA }, archived: false });
    const cleared = await h().inject('PATCH', '/api/v1/event-type/order.paid', { body: { schemas: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.json.schemas).toBeNull();
    expect(cleared.json.description).toBe('paid (patched)');
  });

  it('PATCH archived=true archives; PATCH of an unknown name is 404', async () => {
    const r = await h().inject('PATCH', '/api/v1/event-type/order.paid', { body: { archived: true } });
    expect(r.json.archived).toBe(true);
    expect((await h().inject('PATCH', '/api/v1/event-type/not.there', { body: { description: 'x' } })).status).toBe(404);
  });

  it('PATCH with an invalid JSON Schema is 422 and changes nothing', async () => {
    const r = await h().inject('PATCH', '/api/v1/event-type/order.shipped', { body: { schemas: { '1': { type: 5 } } } });
    expect(r.status).toBe(422);
    expect((await h().inject('GET', '/api/v1/event-type/order.shipped')).json.schemas).toEqual({ '1': SCHEMA });
  });
});

describe('event types: list cursor by name', () => {
  const h = useInProcess();
  const names = ['c.three', 'a.one', 'e.five', 'b.two', 'd.four'];

  it('lists by name ascending; the iterator is the last name; pages to done', async () => {
    for (const name of names) {
      expect((await h().inject('POST', '/api/v1/event-type', { body: { name, description: name } })).status).toBe(201);
    }
    const sorted = [...names].sort();
    const { items, pages } = await listAll(h(), '/api/v1/event-type?limit=2');
    expect(items.map((e) => e.name)).toEqual(sorted);
    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
    expect(pages[0].iterator).toBe('b.two');
    expect(pages[0].prevIterator).toBe('-a.one');
    expect(pages.at(-1).done).toBe(true);
  });

  it('prevIterator pages back by name', async () => {
    const p1 = (await h().inject('GET', '/api/v1/event-type?limit=2')).json;
    const p2 = (await h().inject('GET', `/api/v1/event-type?limit=2&iterator=${p1.iterator}`)).json;
    expect(p2.data.map((e: any) => e.name)).toEqual(['c.three', 'd.four']);
    const back = (await h().inject('GET', `/api/v1/event-type?limit=2&iterator=${encodeURIComponent(p2.prevIterator)}`)).json;
    expect(back.data.map((e: any) => e.name)).toEqual(['a.one', 'b.two']);
  });

  it('order=descending lists names in reverse', async () => {
    const { items } = await listAll(h(), '/api/v1/event-type?limit=2&order=descending');
    expect(items.map((e) => e.name)).toEqual([...names].sort().reverse());
  });
});
