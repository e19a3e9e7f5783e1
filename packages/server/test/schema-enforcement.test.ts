// Schema enforcement at ingest: an event type's `schemaEnforcement` (off | warn | reject) checks
// new messages' payloads against its JSON Schema. `reject` answers 422 with the errors and stores
// nothing; `warn` accepts and records the violations on the message. With `reject` on the 11
// Engage event types, every Engage producer route is driven to prove it emits what the catalog says.
import { ENGAGE_EVENT_TYPES, generateEncryptionKey } from '@herald/engage';
import { describe, expect, it } from 'vitest';
import { latestSchema } from '../src/api/schema-enforcement.js';
import { Clock, useInProcess } from './helpers/inproc.js';
import { rawRows } from './helpers/rows.js';
import { call, emit, guid, tenant } from './engage/helpers.js';

const SCHEMA = {
  type: 'object',
  required: ['email', 'age'],
  additionalProperties: false,
  properties: { email: { type: 'string', format: 'email' }, age: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'string' } } },
};
const GOOD = { email: 'ada@example.com', age: 36 };
const BAD = { email: 'not-an-email', age: -1, extra: true };

describe('schemaEnforcement on event types and messages', () => {
  const clock = new Clock('2026-05-01T00:00:00Z');
  const h = useInProcess({ now: clock.now });
  let n = 0;
  const eventType = async (schemaEnforcement?: string) => {
    const name = `user.signup.${++n}`;
    const body: Record<string, unknown> = { name, description: 'signed up', schemas: { 1: { type: 'object' }, 2: SCHEMA } };
    if (schemaEnforcement) body.schemaEnforcement = schemaEnforcement;
    return (await call(h(), 'POST', '/api/v1/event-type', 201, { body })).json;
  };
  const app = async () => (await call(h(), 'POST', '/api/v1/app', 201, { body: { name: `app-${++n}` } })).json.id as string;
  const send = (appId: string, eventType: string, payload: unknown) => h().inject('POST', `/api/v1/app/${appId}/msg`, { body: { eventType, payload } });
  const stored = async (appId: string) => (await rawRows<{ id: string }>(h(), 'SELECT id FROM message WHERE app_id = ?', [appId])).length;

  it('is answered on event types (default off), set on create, update and patch, kept by an update that leaves it out', async () => {
    const et = await eventType();
    expect(et.schemaEnforcement).toBe('off');
    const path = `/api/v1/event-type/${et.name}`;
    expect((await call(h(), 'PATCH', path, 200, { body: { schemaEnforcement: 'warn' } })).json.schemaEnforcement).toBe('warn');
    expect((await call(h(), 'PUT', path, 200, { body: { description: 'changed', schemas: et.schemas } })).json.schemaEnforcement).toBe('warn');
    expect((await call(h(), 'PUT', path, 200, { body: { description: 'changed', schemaEnforcement: 'reject' } })).json.schemaEnforcement).toBe('reject');
    expect((await call(h(), 'GET', path, 200)).json.schemaEnforcement).toBe('reject');
    const list = (await call(h(), 'GET', '/api/v1/event-type?limit=250', 200)).json.data;
    expect(list.find((e: any) => e.name === et.name).schemaEnforcement).toBe('reject');
    for (const [method, url, body] of [
      ['POST', '/api/v1/event-type', { name: 'x.y', description: 'd', schemaEnforcement: 'strict' }],
      ['PUT', path, { description: 'd', schemaEnforcement: 'strict' }],
      ['PATCH', path, { schemaEnforcement: 'strict' }],
    ] as const) {
      const r = await h().inject(method, url, { body });
      expect(r.status).toBe(422);
      expect(r.json.detail[0].loc).toEqual(['body', 'schemaEnforcement']);
    }
  });

  it('the OpenAPI document describes every per-tenant delivery rule, marked "Herald:"', async () => {
    const doc = (await h().inject('GET', '/api/v1/openapi.json', { token: null })).json;
    const s = doc.components.schemas;
    for (const k of ['ApplicationIn', 'ApplicationPatch', 'ApplicationOut', 'EndpointIn', 'EndpointUpdate', 'EndpointPatch', 'EndpointOut']) {
      expect(s[k].properties.retrySchedule.description, k).toMatch(/^Herald:/);
      expect(s[k].properties.timeout.description, k).toMatch(/^Herald:/);
    }
    for (const k of ['EndpointIn', 'EndpointUpdate', 'EndpointPatch', 'EndpointOut']) expect(s[k].properties.filter.description, k).toMatch(/^Herald:/);
    for (const k of ['EventTypeIn', 'EventTypeUpdate', 'EventTypePatch', 'EventTypeOut'])
      expect(s[k].properties.schemaEnforcement.description, k).toMatch(/^Herald:/);
    expect(s.MessageOut.properties.schemaViolations.description).toMatch(/^Herald:/);
    expect(doc.paths['/api/v1/app/{app_id}/engage/encryption-key'].put.responses['409'].description).toMatch(/^Herald:.*endpoints_filtered/);
  });

  it('checks against the latest schema version', () => {
    expect(latestSchema({ 1: 'a', 10: 'c', 2: 'b' })).toBe('c');
    expect(latestSchema(null)).toBeUndefined();
  });

  it('reject: a payload that breaks the schema is a 422 listing the errors, and nothing is stored', async () => {
    const et = await eventType('reject');
    const appId = await app();
    const r = await send(appId, et.name, BAD);
    expect(r.status).toBe(422);
    const locs = r.json.detail.map((d: any) => d.loc.join('.'));
    expect(locs).toEqual(expect.arrayContaining(['body.payload.email', 'body.payload.age', 'body.payload']));
    expect(r.json.detail.every((d: any) => d.type === 'value_error.schema')).toBe(true);
    expect(r.json.detail.find((d: any) => d.loc.join('.') === 'body.payload').msg).toMatch(/extra/);
    expect(await stored(appId)).toBe(0);
    const ok = await send(appId, et.name, GOOD);
    expect(ok.status).toBe(202);
    expect(ok.json.schemaViolations).toBeUndefined();
    expect(await stored(appId)).toBe(1);
  });

  it('warn: accepted, with the violations recorded on the message and shown in its answers', async () => {
    const et = await eventType('warn');
    const appId = await app();
    const r = await send(appId, et.name, BAD);
    expect(r.status).toBe(202);
    expect(r.json.schemaViolations).toEqual(
      expect.arrayContaining([
        { path: '/email', message: 'must match format "email"' },
        { path: '/age', message: 'must be >= 0' },
        { path: '', message: "must NOT have additional properties: 'extra'" },
      ]),
    );
    const got = (await call(h(), 'GET', `/api/v1/app/${appId}/msg/${r.json.id}`, 200)).json;
    expect(got.schemaViolations).toEqual(r.json.schemaViolations);
    const listed = (await call(h(), 'GET', `/api/v1/app/${appId}/msg`, 200)).json.data;
    expect(listed[0].schemaViolations).toEqual(r.json.schemaViolations);
    const ok = await send(appId, et.name, GOOD);
    expect(ok.status).toBe(202);
    expect(ok.json.schemaViolations).toBeUndefined();
  });

  it('off (the default) checks nothing; a change applies from the next message on', async () => {
    const et = await eventType();
    const appId = await app();
    expect((await send(appId, et.name, BAD)).status).toBe(202);
    await call(h(), 'PATCH', `/api/v1/event-type/${et.name}`, 200, { body: { schemaEnforcement: 'reject' } });
    expect((await send(appId, et.name, BAD)).status).toBe(422);
    await call(h(), 'PATCH', `/api/v1/event-type/${et.name}`, 200, { body: { schemaEnforcement: 'off' } });
    expect((await send(appId, et.name, BAD)).status).toBe(202);
    // A schema that cannot be compiled (a reference to another document) cannot be enforced: 422.
    const unresolvable = { $ref: 'https://schemas.example.com/user.json' };
    const refused = await h().inject('POST', '/api/v1/event-type', {
      body: { name: `ref.${++n}`, description: 'd', schemas: { 1: unresolvable }, schemaEnforcement: 'warn' },
    });
    expect(refused.status).toBe(422);
    expect(refused.json.detail[0].loc).toEqual(['body', 'schemas', '1']);
    expect(refused.json.detail[0].msg).toMatch(/cannot be enforced/);
    expect((await h().inject('PATCH', `/api/v1/event-type/${et.name}`, { body: { schemas: { 1: unresolvable }, schemaEnforcement: 'reject' } })).status).toBe(
      422,
    );
    expect((await call(h(), 'GET', `/api/v1/event-type/${et.name}`, 200)).json.schemaEnforcement).toBe('off');
    // An event type without a schema has nothing to enforce.
    const bare = (await call(h(), 'POST', '/api/v1/event-type', 201, { body: { name: `bare.${++n}`, description: 'd', schemaEnforcement: 'reject' } })).json;
    expect((await send(appId, bare.name, BAD)).status).toBe(202);
  });
});

describe('the Engage producer routes emit what the catalog says (reject on all 11 Engage event types)', () => {
  const clock = new Clock('2026-05-02T00:00:00Z');
  const h = useInProcess({ now: clock.now });

  it('every route’s events pass their catalog schema, plaintext and encrypted; a payload that breaks it is refused', async () => {
    await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    for (const name of ENGAGE_EVENT_TYPES) {
      const r = await call(h(), 'PATCH', `/api/v1/event-type/${name}`, 200, { body: { schemaEnforcement: 'reject' } });
      expect(r.json.schemaEnforcement).toBe('reject');
    }
    // Enforcement is live: a hand-made contact.created that breaks the catalog is refused.
    const probe = await tenant(h());
    const refused = await h().inject('POST', `/api/v1/app/${probe.uid}/msg`, {
      body: { eventType: 'contact.created', payload: { eventType: 'contact.created', payload: {} } },
    });
    expect(refused.status).toBe(422);

    for (const key of [undefined, generateEncryptionKey()]) {
      const t = await tenant(h(), { key });
      const seen = new Set<string>();
      const go = async (route: string, body?: unknown, method: 'POST' | 'DELETE' = 'POST') => {
        const e = await emit(h(), t.uid, route, body, { method });
        expect(e.r.status, `${route}: ${e.r.text}`).toBe(202);
        for (const type of e.types) seen.add(type);
      };
      const c1 = guid(101);
      await go('contact', {
        contactId: c1,
        contactType: 'Member',
        attributes: { firstName: 'Ada', email: 'ada@example.com' },
        preferences: { acceptsEmail: false, acceptsSms: false, acceptsPostal: false },
      });
      await go('contact', { contactId: c1, attributes: { firstName: 'Ada B' } });
      await go('contact', {
        contactId: c1,
        preferences: { acceptsEmail: true, acceptsSms: true, acceptsPostal: true },
        consents: [{ id: 'memberConsent', value: true, source: 'POS' }],
      });
      await go('point-transaction', {
        amount: 150,
        contactId: c1,
        pointDefinitionId: 1,
        source: 'Manual',
        description: 'Goodwill',
        userId: 'u1',
        userName: 'Una',
        reason: 'Late delivery',
        sourceId: 's1',
      });
      await go('point-balance', { contactId: c1, accountId: 7, definitionId: 1, balance: 100 });
      await go('reward-voucher', {
        id: guid(102),
        contactId: c1,
        amount: 195,
        currency: 'SEK',
        uniqueCode: '2511233093766',
        validFrom: '2026-01-01T00:00:00+01:00',
        validTo: '2026-12-31T23:59:59+01:00',
      });
      await go('promotion-assignment', { id: guid(103), contactId: c1, promotionId: guid(104), externalId: 'SO-14034' });
      await go(`contact/${c1}`, undefined, 'DELETE');
      expect([...seen].sort(), key ? 'encrypted' : 'plaintext').toEqual([...ENGAGE_EVENT_TYPES].sort());
    }
  });
});
