// Engage fidelity at the producer API: what a tenant meets at the edges. Contacts that do not
// exist, definitionId as Voyado types it, date-times as Engage writes them, negative points,
// 422s that name the field, and test sends that can be found by their event id.
import { ENGAGE_INPUT_SCHEMAS } from '@herald/engage';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { toIssues } from '../../src/api/contract.js';
import { count, createEndpoint } from '../helpers/fixtures.js';
import { isHttpErrorBody, isValidationErrorBody, useInProcess } from '../helpers/inproc.js';
import { call, emit, envelopeOf, guid, tenant } from './helpers.js';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const tx = (contactId: string, amount = 10) => ({
  amount,
  contactId,
  pointDefinitionId: 1,
  source: 'Manual',
  description: 'd',
  userId: 'u',
  userName: 'n',
  reason: 'r',
  sourceId: 's',
});

describe('engage fidelity: events about a contact Engage does not have', () => {
  const h = useInProcess();

  it('points, vouchers and promotions for a contact never created, or deleted, are 404 contact_not_found, and nothing is stored', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(1) }, { status: 202 });
    await emit(h(), t.uid, `contact/${guid(1)}`, undefined, { method: 'DELETE', status: 202 });
    const messages = await count(h(), 'message', 'app_id = ?', t.id);
    const states = await count(h(), 'engage_state', 'app_id = ?', t.id);
    for (const contactId of [guid(1), guid(2)]) {
      const calls: [string, unknown][] = [
        ['point-transaction', tx(contactId)],
        ['point-balance', { contactId, accountId: 5, definitionId: 1, balance: 10 }],
        [
          'reward-voucher',
          { id: guid(3), contactId, amount: 1, currency: 'SEK', uniqueCode: 'X', validFrom: '2026-01-01T00:00:00Z', validTo: '2026-02-01T00:00:00Z' },
        ],
        ['promotion-assignment', { id: guid(4), contactId, promotionId: guid(5) }],
      ];
      for (const [route, body] of calls) {
        const r = await h().inject('POST', `/api/v1/app/${t.uid}/engage/${route}`, { body });
        expect(r.status, `${route} ${contactId}`).toBe(404);
        expect(isHttpErrorBody(r.json)).toBe(true);
        expect(r.json.code).toBe('contact_not_found');
        expect(r.json.detail).toContain(contactId);
      }
    }
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(messages);
    expect(await count(h(), 'engage_state', 'app_id = ?', t.id)).toBe(states);
    // Created again, the same calls go through.
    await emit(h(), t.uid, 'contact', { contactId: guid(1) }, { status: 202 });
    expect((await emit(h(), t.uid, 'point-transaction', tx(guid(1)), { status: 202 })).types).toEqual(['loyalty.addPoints']);
  });
});

describe('engage fidelity: values as Voyado documents them', () => {
  const h = useInProcess();

  it('definitionId may be a string of digits, as Voyado types it; the event carries the number', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(10) }, { status: 202 });
    const e = await emit(h(), t.uid, 'point-balance', { contactId: guid(10), accountId: 3, definitionId: '2', balance: 50 }, { status: 202 });
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[0])).payload).toEqual({
      balance: 50,
      contactId: guid(10),
      accountId: 3,
      definitionId: 2,
      balanceExpires: null,
    });
    // The same account by number: the same account.
    await emit(h(), t.uid, 'point-balance', { contactId: guid(10), accountId: 3, definitionId: 2, balance: 50 }, { status: 200 });
    const bad = await h().inject('POST', `/api/v1/app/${t.uid}/engage/point-balance`, {
      body: { contactId: guid(10), accountId: 3, definitionId: 'two', balance: 1 },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.detail.map((d: { loc: string[] }) => d.loc)).toContainEqual(['body', 'definitionId']);
  });

  it('date-times are delivered in the form Engage sends (T, upper-case Z), whatever they came in as', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(11) }, { status: 202 });
    const v = {
      id: guid(12),
      contactId: guid(11),
      amount: 5,
      currency: 'SEK',
      uniqueCode: 'Y',
      validFrom: '2024-01-01 00:00:00z',
      validTo: '2024-02-01t00:00:00.5+01:00',
    };
    const e = await emit(h(), t.uid, 'reward-voucher', v, { status: 202 });
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[0])).payload).toMatchObject({
      ValidFrom: '2024-01-01T00:00:00Z',
      ValidTo: '2024-02-01T00:00:00.5+01:00',
    });
    const c = await emit(
      h(),
      t.uid,
      'contact',
      { contactId: guid(11), consents: [{ id: 'memberConsent', value: true, date: '2024-05-16 12:20:03z' }] },
      { status: 202 },
    );
    expect((await envelopeOf(h(), t.uid, c.r.json.messageIds[1])).payload).toMatchObject({ date: '2024-05-16T12:20:03Z' });
  });

  it('loyalty.addPoints refuses a negative amount with a 422 naming it, and stores nothing', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(13) }, { status: 202 });
    const before = await count(h(), 'message', 'app_id = ?', t.id);
    const r = await h().inject('POST', `/api/v1/app/${t.uid}/engage/point-transaction`, { body: tx(guid(13), -25) });
    expect(r.status).toBe(422);
    expect(isValidationErrorBody(r.json)).toBe(true);
    expect(r.json.detail.map((d: { loc: string[] }) => d.loc)).toContainEqual(['body', 'amount']);
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(before);
  });
});

describe('engage fidelity: every 422 names the field', () => {
  const h = useInProcess();

  it('a reserved or computed attribute name is a 422 whose loc ends in that name', async () => {
    const t = await tenant(h());
    for (const name of ['age', 'contactId', 'acceptsEmail', 'nps.grade']) {
      const r = await h().inject('POST', `/api/v1/app/${t.uid}/engage/contact`, { body: { contactId: guid(20), attributes: { firstName: 'A', [name]: 1 } } });
      expect(r.status, name).toBe(422);
      expect(r.json.detail).toEqual([
        { loc: ['body', 'attributes', name], msg: `the name ${JSON.stringify(name)} is not allowed here`, type: 'value_error.not_allowed' },
      ]);
    }
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(0);
  });

  it('an attribute named __proto__ (an own key, as JSON.parse makes it) is a 422 naming attributes.__proto__', () => {
    // The contract's own validator and issue mapping, on the value the JSON parser hands over.
    const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    const validate = ajv.compile(ENGAGE_INPUT_SCHEMAS.contact);
    const body: unknown = JSON.parse(`{"contactId":"${guid(21)}","attributes":{"__proto__":"x"}}`);
    expect(validate(body)).toBe(false);
    expect(toIssues(validate.errors!, 'body')).toEqual([
      { loc: ['body', 'attributes', '__proto__'], msg: 'the name "__proto__" is not allowed here', type: 'value_error.not_allowed' },
    ]);
  });

  // The API's JSON parser keeps `__proto__` as an own key (it never reaches a prototype), so the
  // attribute reaches validation and is refused by name instead of as "invalid JSON".
  it('over HTTP, an attribute named __proto__ is a 422 naming it, not "invalid JSON"', async () => {
    const t = await tenant(h());
    const r = await h().inject('POST', `/api/v1/app/${t.uid}/engage/contact`, {
      raw: `{"contactId":"${guid(22)}","attributes":{"__proto__":"x"}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(422);
    expect(r.json.detail.map((d: { loc: string[] }) => d.loc)).toEqual([['body', 'attributes', '__proto__']]);
  });
});

describe('engage fidelity: test sends', () => {
  const h = useInProcess();

  it('a test send’s message has the eventId its envelope carries, so GET /msg/{eventId} finds it', async () => {
    await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    const t = await tenant(h());
    const ep = (await createEndpoint(h(), t.uid)).id;
    const r = await call(h(), 'POST', `/api/v1/app/${t.uid}/endpoint/${ep}/send-example`, 200, { body: { eventType: 'point.balance.updated' } });
    expect(typeof r.json.payload.eventId).toBe('string');
    expect(r.json.eventId).toBe(r.json.payload.eventId);
    const found = await call(h(), 'GET', `/api/v1/app/${t.uid}/msg/${r.json.payload.eventId}`, 200);
    expect(found.json.id).toBe(r.json.id);
    // A second test send is its own event.
    const again = await call(h(), 'POST', `/api/v1/app/${t.uid}/endpoint/${ep}/send-example`, 200, { body: { eventType: 'point.balance.updated' } });
    expect(again.json.eventId).not.toBe(r.json.eventId);
  });
});
