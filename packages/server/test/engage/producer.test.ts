// The Engage producer routes against a real SQLite file, in process: every trigger rule of the
// change detector (including the ones that must NOT fire), the module switch, bad input, the
// one-commit path to delivery tasks, idempotency keys and concurrent upserts.
import { generateEncryptionKey } from '@herald/engage';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { count, createEndpoint, createEventType, portalToken, tasksOf, type TaskRow } from '../helpers/fixtures.js';
import { rawRows, snapshotTables } from '../helpers/rows.js';
import { Clock, isHttpErrorBody, isValidationErrorBody, useInProcess } from '../helpers/inproc.js';
import { call, emit, envelopeOf, guid, tenant } from './helpers.js';

describe('engage producer: contacts', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('a new contact fires contact.created only, even with preferences and consents set', async () => {
    const t = await tenant(h());
    const { types, r } = await emit(
      h(),
      t.uid,
      'contact',
      {
        contactId: guid(1),
        attributes: { firstName: 'Ada', email: 'ada@example.com' },
        preferences: { acceptsEmail: true, acceptsSms: true },
        consents: [{ id: 'memberConsent', value: true, source: 'ECOM' }],
      },
      { status: 202 },
    );
    expect(types).toEqual(['contact.created']);
    const env = await envelopeOf(h(), t.uid, r.json.messageIds[0]);
    expect(env).toEqual({
      eventId: r.json.events[0].eventId,
      eventType: 'contact.created',
      isEncrypted: false,
      payload: { contactId: guid(1), contactType: 'Member' },
      tenant: t.uid,
    });
    // The message's eventId is the envelope's, so it can be looked up by it.
    await call(h(), 'GET', `/api/v1/app/${t.uid}/msg/${env.eventId}`, 200);
  });

  it('an update that changes nothing sends nothing and writes nothing', async () => {
    const t = await tenant(h());
    const body = { contactId: guid(2), attributes: { firstName: 'Bo' }, preferences: { acceptsEmail: true }, consents: [{ id: 'c1', value: true }] };
    await emit(h(), t.uid, 'contact', body, { status: 202 });
    const before = await count(h(), 'message', 'app_id = ?', t.id);
    const stateVersions = () => rawRows(h(), 'SELECT kind, key, version FROM engage_state WHERE app_id = ? ORDER BY kind, key', [t.id]);
    const stateBefore = await stateVersions();
    clock.advance(1000);
    const { types, r } = await emit(h(), t.uid, 'contact', body, { status: 200 });
    expect(types).toEqual([]);
    expect(r.json).toEqual({ messageIds: [], events: [] });
    // Left-out fields and null preferences/consents keep their values: still nothing.
    await emit(h(), t.uid, 'contact', { contactId: guid(2), preferences: { acceptsEmail: null }, consents: [{ id: 'c1', value: null }] }, { status: 200 });
    await emit(h(), t.uid, 'contact', { contactId: guid(2) }, { status: 200 });
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(before);
    expect(await stateVersions()).toEqual(stateBefore);
  });

  it('*.changed fire only for the preference or consent that really changed, after contact.updated', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(3), preferences: { acceptsEmail: true, acceptsSms: false } }, { status: 202 });

    let e = await emit(h(), t.uid, 'contact', { contactId: guid(3), attributes: { firstName: 'Cy' } }, { status: 202 });
    expect(e.types).toEqual(['contact.updated']);
    const upd = await envelopeOf(h(), t.uid, e.r.json.messageIds[0]);
    expect(upd.payload).toEqual({ contactId: guid(3), contactType: 'Member', changedFields: ['attributes.firstName'] });

    // acceptsEmail restated (no change), acceptsSms flipped: only acceptsSms fires.
    e = await emit(h(), t.uid, 'contact', { contactId: guid(3), preferences: { acceptsEmail: true, acceptsSms: true } }, { status: 202 });
    expect(e.types).toEqual(['contact.updated', 'contact.acceptsSms.changed']);
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[1])).payload).toEqual({ contactId: guid(3), value: true });

    e = await emit(
      h(),
      t.uid,
      'contact',
      {
        contactId: guid(3),
        preferences: { acceptsPostal: true, acceptsEmail: false },
        consents: [
          { id: 'memberConsent', value: true, source: 'POS' },
          { id: 'smsConsent', value: false },
        ],
      },
      { status: 202 },
    );
    expect(e.types).toEqual([
      'contact.updated',
      'contact.acceptsEmail.changed',
      'contact.acceptsPostal.changed',
      'contact.consent.changed',
      'contact.consent.changed',
    ]);
    const consent = await envelopeOf(h(), t.uid, e.r.json.messageIds[3]);
    expect(consent.payload).toMatchObject({ contactId: guid(3), consentId: 'memberConsent', value: true, source: 'POS' });
  });

  it('a consent never goes back to "not set": null or left out keeps it; only a real flip fires', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(4), consents: [{ id: 'memberConsent', value: true }] }, { status: 202 });
    expect((await emit(h(), t.uid, 'contact', { contactId: guid(4), consents: [{ id: 'memberConsent', value: null }] }, { status: 200 })).types).toEqual([]);
    expect((await emit(h(), t.uid, 'contact', { contactId: guid(4), consents: [] }, { status: 200 })).types).toEqual([]);
    const e = await emit(h(), t.uid, 'contact', { contactId: guid(4), consents: [{ id: 'memberConsent', value: false }] }, { status: 202 });
    expect(e.types).toEqual(['contact.updated', 'contact.consent.changed']);
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[1])).payload).toMatchObject({ consentId: 'memberConsent', value: false });
  });

  it('delete fires contact.deleted; an unknown contact is a 404; the id can then be created anew', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(5) }, { status: 202 });
    const d = await emit(h(), t.uid, `contact/${guid(5)}`, undefined, { method: 'DELETE', status: 202 });
    expect(d.types).toEqual(['contact.deleted']);
    expect((await envelopeOf(h(), t.uid, d.r.json.messageIds[0])).payload).toEqual({ contactId: guid(5) });
    const again = await h().inject('DELETE', `/api/v1/app/${t.uid}/engage/contact/${guid(5)}`);
    expect(again.status).toBe(404);
    expect(isHttpErrorBody(again.json)).toBe(true);
    expect((await emit(h(), t.uid, 'contact', { contactId: guid(5) }, { status: 202 })).types).toEqual(['contact.created']);
  });

  it('the tenant is addressed by uid or id; an unknown tenant is a 404', async () => {
    const t = await tenant(h());
    expect((await emit(h(), t.id, 'contact', { contactId: guid(6) }, { status: 202 })).types).toEqual(['contact.created']);
    expect((await emit(h(), t.uid, 'contact', { contactId: guid(6) }, { status: 200 })).types).toEqual([]);
    const r = await h().inject('POST', '/api/v1/app/no-such-tenant/engage/contact', { body: { contactId: guid(6) } });
    expect(r.status).toBe(404);
  });
});

describe('engage producer: points, vouchers, promotions', () => {
  const h = useInProcess();

  it('loyalty.addPoints carries the transaction; 0 points sends nothing', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(10) }, { status: 202 });
    const tx = {
      amount: 150,
      contactId: guid(10),
      pointDefinitionId: 1,
      source: 'Manual',
      description: 'Goodwill',
      userId: 'u1',
      userName: 'Una',
      reason: 'Late delivery',
      sourceId: 's1',
    };
    const e = await emit(h(), t.uid, 'point-transaction', tx, { status: 202 });
    expect(e.types).toEqual(['loyalty.addPoints']);
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[0])).payload).toEqual(tx);
    // A transaction is not deduplicated: the same one again is another transaction.
    expect((await emit(h(), t.uid, 'point-transaction', tx, { status: 202 })).types).toEqual(['loyalty.addPoints']);
    expect((await emit(h(), t.uid, 'point-transaction', { ...tx, amount: 0 }, { status: 200 })).types).toEqual([]);
  });

  it('point.balance.updated fires only when the balance moved', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(11) }, { status: 202 });
    const b = { contactId: guid(11), accountId: 7, definitionId: 1, balance: 100 };
    const e = await emit(h(), t.uid, 'point-balance', b, { status: 202 });
    expect(e.types).toEqual(['point.balance.updated']);
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[0])).payload).toEqual({ ...b, balanceExpires: null });
    expect((await emit(h(), t.uid, 'point-balance', b, { status: 200 })).types).toEqual([]);
    // Float noise below 4 decimals is not a move; balanceExpires alone is stored, fires nothing.
    expect((await emit(h(), t.uid, 'point-balance', { ...b, balance: 100.00001 }, { status: 200 })).types).toEqual([]);
    expect((await emit(h(), t.uid, 'point-balance', { ...b, balanceExpires: '2027-01-01T00:00:00+01:00' }, { status: 200 })).types).toEqual([]);
    const moved = await emit(h(), t.uid, 'point-balance', { ...b, balance: 90.5 }, { status: 202 });
    expect((await envelopeOf(h(), t.uid, moved.r.json.messageIds[0])).payload).toEqual({ ...b, balance: 90.5, balanceExpires: '2027-01-01T00:00:00+01:00' });
    // A new account at 0 has not moved.
    expect((await emit(h(), t.uid, 'point-balance', { ...b, accountId: 8, balance: 0 }, { status: 200 })).types).toEqual([]);
  });

  it('reward.voucher.created once, PascalCase; the same voucher again is nothing, other content is a 409', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(11) }, { status: 202 });
    const v = {
      id: guid(12),
      contactId: guid(11),
      amount: 195,
      currency: 'SEK',
      uniqueCode: '2511233093766',
      validFrom: '2026-01-01T00:00:00+01:00',
      validTo: '2026-12-31T23:59:59+01:00',
    };
    const e = await emit(h(), t.uid, 'reward-voucher', v, { status: 202 });
    expect(e.types).toEqual(['reward.voucher.created']);
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[0])).payload).toEqual({
      Amount: 195,
      ContactId: guid(11),
      Currency: 'SEK',
      Id: guid(12),
      UniqueCode: '2511233093766',
      ValidFrom: v.validFrom,
      ValidTo: v.validTo,
    });
    expect((await emit(h(), t.uid, 'reward-voucher', v, { status: 200 })).types).toEqual([]);
    const clash = await emit(h(), t.uid, 'reward-voucher', { ...v, amount: 200 }, { status: 409 });
    expect(clash.r.json.code).toBe('conflict');
  });

  it('promotion.multichannel.assigned once per contact and promotion', async () => {
    const t = await tenant(h());
    for (const n of [11, 16]) await emit(h(), t.uid, 'contact', { contactId: guid(n) }, { status: 202 });
    const p = { id: guid(13), contactId: guid(11), promotionId: guid(14), externalId: 'SO-14034' };
    const e = await emit(h(), t.uid, 'promotion-assignment', p, { status: 202 });
    expect(e.types).toEqual(['promotion.multichannel.assigned']);
    expect((await envelopeOf(h(), t.uid, e.r.json.messageIds[0])).payload).toEqual({ ...p, validFrom: null, validTo: null });
    expect((await emit(h(), t.uid, 'promotion-assignment', { ...p, id: guid(15) }, { status: 200 })).types).toEqual([]);
    expect((await emit(h(), t.uid, 'promotion-assignment', { ...p, id: guid(15), contactId: guid(16) }, { status: 202 })).types).toEqual([
      'promotion.multichannel.assigned',
    ]);
  });
});

describe('engage producer: module switch, bad input, access', () => {
  const h = useInProcess();

  it('module off (the default): 409 module_disabled on every producer route, and nothing is written', async () => {
    const t = await tenant(h(), { moduleOn: false });
    const settings = await call(h(), 'GET', `/api/v1/app/${t.uid}/engage`, 200);
    expect(settings.json).toEqual({ moduleEnabled: false, encryptionEnabled: false, keySetAt: null });
    const calls: [string, unknown, 'POST' | 'DELETE'][] = [
      ['contact', { contactId: guid(20) }, 'POST'],
      [`contact/${guid(20)}`, undefined, 'DELETE'],
      [
        'point-transaction',
        { amount: 1, contactId: guid(20), pointDefinitionId: 1, source: 's', description: 'd', userId: 'u', userName: 'n', reason: 'r', sourceId: 'i' },
        'POST',
      ],
      ['point-balance', { contactId: guid(20), accountId: 1, definitionId: 1, balance: 5 }, 'POST'],
      [
        'reward-voucher',
        { id: guid(21), contactId: guid(20), amount: 1, currency: 'SEK', uniqueCode: 'X1', validFrom: '2026-01-01T00:00:00Z', validTo: '2026-02-01T00:00:00Z' },
        'POST',
      ],
      ['promotion-assignment', { id: guid(22), contactId: guid(20), promotionId: guid(23) }, 'POST'],
    ];
    for (const [route, body, method] of calls) {
      const r = await h().inject(method, `/api/v1/app/${t.uid}/engage/${route}`, { body });
      expect(r.status, route).toBe(409);
      expect(r.json.code).toBe('module_disabled');
      expect(typeof r.json.detail).toBe('string');
    }
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(0);
    expect(await count(h(), 'engage_state', 'app_id = ?', t.id)).toBe(0);

    // On, it emits; off again, it stops (and the state written while on stays).
    await call(h(), 'PUT', `/api/v1/app/${t.uid}/engage/module`, 200, { body: { enabled: true } });
    await emit(h(), t.uid, 'contact', { contactId: guid(20) }, { status: 202 });
    await call(h(), 'PUT', `/api/v1/app/${t.uid}/engage/module`, 200, { body: { enabled: false } });
    expect((await h().inject('POST', `/api/v1/app/${t.uid}/engage/contact`, { body: { contactId: guid(20), attributes: { a: 1 } } })).status).toBe(409);
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(1);
  });

  it('a body that breaks the schema is a 422 naming the field, and nothing is stored', async () => {
    const t = await tenant(h());
    const bad: [string, unknown, string[]][] = [
      ['contact', {}, ['body', 'contactId']],
      ['contact', { contactId: guid(30), preferences: { acceptsEmail: 'yes' } }, ['body', 'preferences', 'acceptsEmail']],
      ['contact', { contactId: guid(30), consents: [{ id: 'c', value: true, date: 'yesterday' }] }, ['body', 'consents', '0', 'date']],
      ['contact', { contactId: guid(30), shoeSize: 42 }, ['body', 'shoeSize']],
      ['point-balance', { contactId: guid(30), accountId: 1.5, definitionId: 1, balance: 1 }, ['body', 'accountId']],
      [
        'reward-voucher',
        {
          id: guid(31),
          contactId: guid(30),
          amount: 1,
          currency: 'kronor',
          uniqueCode: 'X',
          validFrom: '2026-01-01T00:00:00Z',
          validTo: '2026-02-01T00:00:00Z',
        },
        ['body', 'currency'],
      ],
      [
        'point-transaction',
        { amount: '10', contactId: guid(30), pointDefinitionId: 1, source: 's', description: 'd', userId: 'u', userName: 'n', reason: 'r', sourceId: 'i' },
        ['body', 'amount'],
      ],
      [
        'point-transaction',
        { amount: 10, contactId: guid(30), pointDefinitionId: 1, source: 's', description: 'd', userId: 'u', userName: 'n', reason: 'r' },
        ['body', 'sourceId'],
      ],
      ['promotion-assignment', { id: guid(32), contactId: guid(30) }, ['body', 'promotionId']],
      ['promotion-assignment', { id: guid(32), contactId: guid(30), promotionId: guid(33), validFrom: 'soon' }, ['body', 'validFrom']],
    ];
    for (const [route, body, loc] of bad) {
      const r = await h().inject('POST', `/api/v1/app/${t.uid}/engage/${route}`, { body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
      expect(r.json.detail.map((d: { loc: string[] }) => d.loc)).toContainEqual(loc);
    }
    // Rules only the detector knows (two values, or the stored state) are 422s naming the field too.
    const dup = await h().inject('POST', `/api/v1/app/${t.uid}/engage/contact`, {
      body: {
        contactId: guid(30),
        consents: [
          { id: 'c', value: true },
          { id: 'c', value: false },
        ],
      },
    });
    expect(dup.status).toBe(422);
    expect(dup.json.detail[0].loc).toEqual(['body', 'consents', '1', 'id']);
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(0);
    expect(await count(h(), 'engage_state', 'app_id = ?', t.id)).toBe(0);
    // A voucher is checked against the stored contact, so it needs one to get that far.
    await emit(h(), t.uid, 'contact', { contactId: guid(30) }, { status: 202 });
    const backwards = await h().inject('POST', `/api/v1/app/${t.uid}/engage/reward-voucher`, {
      body: {
        id: guid(31),
        contactId: guid(30),
        amount: 1,
        currency: 'SEK',
        uniqueCode: 'X',
        validFrom: '2026-02-01T00:00:00Z',
        validTo: '2026-01-01T00:00:00Z',
      },
    });
    expect(backwards.status).toBe(422);
    expect(backwards.json.detail[0].loc).toEqual(['body', 'validTo']);
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(1);
    expect(await count(h(), 'engage_state', 'app_id = ?', t.id)).toBe(1);
  });

  it('nothing is stored for a rejected request, whatever the reason, on every producer route (idempotency keys included)', async () => {
    const t = await tenant(h());
    const off = await tenant(h(), { moduleOn: false });
    const portal = await portalToken(h(), t.uid, { permissions: ['view', 'manage', 'secrets'] });
    const v = {
      id: guid(81),
      contactId: guid(80),
      amount: 1,
      currency: 'SEK',
      uniqueCode: 'X1',
      validFrom: '2026-01-01T00:00:00Z',
      validTo: '2026-02-01T00:00:00Z',
    };
    const tx = { amount: 1, contactId: guid(80), pointDefinitionId: 1, source: 's', description: 'd', userId: 'u', userName: 'n', reason: 'r', sourceId: 'i' };
    const good: [string, unknown, 'POST' | 'DELETE'][] = [
      ['contact', { contactId: guid(80), attributes: { firstName: 'Ed' } }, 'POST'],
      [`contact/${guid(80)}`, undefined, 'DELETE'],
      ['point-transaction', tx, 'POST'],
      ['point-balance', { contactId: guid(80), accountId: 9, definitionId: 1, balance: 5 }, 'POST'],
      ['reward-voucher', v, 'POST'],
      ['promotion-assignment', { id: guid(82), contactId: guid(80), promotionId: guid(83) }, 'POST'],
    ];
    // Some state to protect: the contact, and the voucher a conflicting one must not replace.
    await emit(h(), t.uid, 'contact', { contactId: guid(80) }, { status: 202 });
    await emit(h(), t.uid, 'reward-voucher', v, { status: 202 });
    // Every table except the audit log (which records refused 403s by design) and the migrations ledger.
    const snapshot = () => snapshotTables(h(), ['audit_log']);
    const before = await snapshot();
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['message', 'delivery_task', 'engage_state', 'engage_tenant', 'idempotency']));

    let n = 0;
    const refuse = async (app: string, route: string, body: unknown, method: 'POST' | 'DELETE', status: number, token?: string) => {
      const headers = method === 'POST' ? { 'idempotency-key': `rejected-${n++}` } : undefined;
      const r = await h().inject(method, `/api/v1/app/${app}/engage/${route}`, { body, headers, token });
      expect(r.status, `${method} ${app} ${route} ${r.text}`).toBe(status);
    };
    for (const [route, body, method] of good) {
      await refuse('no-such-tenant', route, body, method, 404); // unknown tenant
      await refuse(off.uid, route, body, method, 409); // module off
      await refuse(t.uid, route, body, method, 403, portal); // not the producer
      if (method === 'POST') await refuse(t.uid, route, { ...(body as object), unknownField: 1 }, method, 422); // schema
    }
    await refuse(
      t.uid,
      'contact',
      {
        contactId: guid(80),
        consents: [
          { id: 'c', value: true },
          { id: 'c', value: false },
        ],
      },
      'POST',
      422,
    );
    await refuse(t.uid, 'contact', { contactId: guid(80), attributes: { createdInStore: 'S1' } }, 'POST', 422);
    await refuse(t.uid, 'reward-voucher', { ...v, amount: 2 }, 'POST', 409); // same id, other content
    await refuse(t.uid, `contact/${guid(89)}`, undefined, 'DELETE', 404); // unknown contact
    await refuse(t.uid, 'reward-voucher', { ...v, validTo: '2025-01-01T00:00:00Z' }, 'POST', 422); // before validFrom
    // Events about a contact never created: 404 contact_not_found.
    await refuse(t.uid, 'point-transaction', { ...tx, contactId: guid(88) }, 'POST', 404);
    await refuse(t.uid, 'point-balance', { contactId: guid(88), accountId: 99, definitionId: 1, balance: 5 }, 'POST', 404);
    await refuse(t.uid, 'reward-voucher', { ...v, id: guid(87), contactId: guid(88) }, 'POST', 404);
    await refuse(t.uid, 'promotion-assignment', { id: guid(86), contactId: guid(88), promotionId: guid(83) }, 'POST', 404);
    // Bad encryption keys are refused the same way and change nothing.
    for (const key of ['short', 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2x', 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBC-2']) {
      expect((await h().inject('PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, { body: { key } })).status).toBe(422);
    }
    expect(await snapshot()).toEqual(before);
    // The keys used by rejected requests are free: the same key on a good request does the work.
    const ok = await h().inject('POST', `/api/v1/app/${t.uid}/engage/point-transaction`, { body: tx, headers: { 'idempotency-key': 'rejected-0' } });
    expect(ok.status).toBe(202);
    expect(ok.headers['idempotent-replayed']).toBeUndefined();
  });

  it('portal tokens cannot call producer routes or switch the module, whatever their permissions', async () => {
    const t = await tenant(h());
    const token = await portalToken(h(), t.uid, { permissions: ['view', 'manage', 'secrets'] });
    for (const [method, route, body] of [
      ['POST', 'contact', { contactId: guid(40) }],
      ['DELETE', `contact/${guid(40)}`, undefined],
      ['POST', 'point-balance', { contactId: guid(40), accountId: 1, definitionId: 1, balance: 5 }],
      ['PUT', 'module', { enabled: false }],
    ] as const) {
      const r = await h().inject(method, `/api/v1/app/${t.uid}/engage/${route}`, { body, token });
      expect(r.status, route).toBe(403);
    }
    expect((await h().inject('POST', '/api/v1/engage/catalog/install', { token })).status).toBe(403);
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(0);
    // Reading the settings is a `view` thing.
    expect((await h().inject('GET', `/api/v1/app/${t.uid}/engage`, { token })).status).toBe(200);
  });
});

describe('engage producer: the durable path', () => {
  const h = useInProcess();

  it('each message gets its delivery tasks in the same commit, filtered by event type like POST /msg', async () => {
    await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    await createEventType(h(), { name: 'other.event' });
    const t = await tenant(h());
    const all = (await createEndpoint(h(), t.uid)).id;
    const created = (await createEndpoint(h(), t.uid, { eventTypes: ['contact.created'] })).id;
    const consent = (await createEndpoint(h(), t.uid, { eventTypes: ['contact.consent.changed'] })).id;
    const e1 = await emit(h(), t.uid, 'contact', { contactId: guid(50) }, { status: 202 });
    expect([...(await tasksOf(h(), e1.r.json.messageIds[0])).keys()].sort()).toEqual([all, created].sort());
    const e2 = await emit(h(), t.uid, 'contact', { contactId: guid(50), consents: [{ id: 'c', value: true }] }, { status: 202 });
    expect(e2.types).toEqual(['contact.updated', 'contact.consent.changed']);
    expect([...(await tasksOf(h(), e2.r.json.messageIds[0])).keys()]).toEqual([all]);
    expect([...(await tasksOf(h(), e2.r.json.messageIds[1])).keys()].sort()).toEqual([all, consent].sort());
  });

  it('every producer route stores its messages with delivery tasks, as POST /msg does for the same event type', async () => {
    await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    const t = await tenant(h());
    const all = (await createEndpoint(h(), t.uid)).id;
    const routes: [string, unknown, 'POST' | 'DELETE', string][] = [
      ['contact', { contactId: guid(55) }, 'POST', 'contact.created'],
      [
        'point-transaction',
        { amount: 3, contactId: guid(55), pointDefinitionId: 1, source: 's', description: 'd', userId: 'u', userName: 'n', reason: 'r', sourceId: 'i' },
        'POST',
        'loyalty.addPoints',
      ],
      ['point-balance', { contactId: guid(55), accountId: 5, definitionId: 1, balance: 3 }, 'POST', 'point.balance.updated'],
      [
        'reward-voucher',
        { id: guid(56), contactId: guid(55), amount: 1, currency: 'SEK', uniqueCode: 'X', validFrom: '2026-01-01T00:00:00Z', validTo: '2026-02-01T00:00:00Z' },
        'POST',
        'reward.voucher.created',
      ],
      ['promotion-assignment', { id: guid(57), contactId: guid(55), promotionId: guid(58) }, 'POST', 'promotion.multichannel.assigned'],
      [`contact/${guid(55)}`, undefined, 'DELETE', 'contact.deleted'],
    ];
    for (const [route, body, method, type] of routes) {
      const only = (await createEndpoint(h(), t.uid, { eventTypes: [type] })).id;
      const e = await emit(h(), t.uid, route, body, { method, status: 202 });
      expect(e.types).toEqual([type]);
      const id = e.r.json.messageIds[0];
      // The same message row and tasks POST /msg makes: pending, due now, one per matching endpoint.
      const ref = (await call(h(), 'POST', `/api/v1/app/${t.uid}/msg`, 202, { body: { eventType: type, payload: { ref: true } } })).json.id;
      const tasks = await tasksOf(h(), id);
      expect([...tasks.keys()].sort(), route).toEqual([all, only].sort());
      const shape = (m: Map<string, TaskRow>) =>
        [...m.values()].map((r) => [r.endpoint_id, r.status, r.attempt_count, r.trigger_type, r.next_attempt_at !== null]).sort();
      expect(shape(tasks)).toEqual(shape(await tasksOf(h(), ref)));
      expect(await count(h(), 'message', 'id = ? AND event_type = ?', id, type)).toBe(1);
    }
  });

  it('an idempotency key replays the first answer and emits nothing new', async () => {
    const t = await tenant(h());
    const headers = { 'idempotency-key': 'engage-key-1' };
    await emit(h(), t.uid, 'contact', { contactId: guid(60) }, { status: 202 });
    const tx = { amount: 5, contactId: guid(60), pointDefinitionId: 1, source: 's', description: 'd', userId: 'u', userName: 'n', reason: 'r', sourceId: 'i' };
    const a = await emit(h(), t.uid, 'point-transaction', tx, { status: 202, headers });
    const b = await h().inject('POST', `/api/v1/app/${t.uid}/engage/point-transaction`, { body: tx, headers });
    expect(b.status).toBe(202);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.json).toEqual(a.r.json);
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(2);
  });

  it('concurrent upserts of one new contact: exactly one contact.created, the rest are updates or nothing', async () => {
    const t = await tenant(h());
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => emit(h(), t.uid, 'contact', { contactId: guid(70), attributes: { n: i } })));
    for (const r of results) expect(r.r.status === 200 || r.r.status === 202).toBe(true);
    const types = results.flatMap((r) => r.types);
    expect(types.filter((x) => x === 'contact.created')).toHaveLength(1);
    expect(types.filter((x) => x !== 'contact.created' && x !== 'contact.updated')).toEqual([]);
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(types.length);
  });
});

describe('engage producer: what is stored is what the catalog describes', () => {
  const h = useInProcess();
  // ajv-formats is CommonJS; under NodeNext its default import is the module object.
  const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

  it("all 11 event types, plaintext and encrypted, validate against the installed event types' schemas", async () => {
    await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
    addFormats(ajv);
    for (const key of [undefined, generateEncryptionKey()]) {
      const t = await tenant(h(), { key });
      const c = guid(90);
      const sent = [
        ...(await emit(h(), t.uid, 'contact', { contactId: c, attributes: { firstName: 'Vi' } }, { status: 202 })).r.json.events,
        ...(
          await emit(
            h(),
            t.uid,
            'contact',
            {
              contactId: c,
              attributes: { city: 'Lund' },
              preferences: { acceptsEmail: true, acceptsSms: true, acceptsPostal: true },
              consents: [{ id: 'memberConsent', value: true, source: 'ECOM', comment: 'signed up in store' }],
            },
            { status: 202 },
          )
        ).r.json.events,
        ...(
          await emit(
            h(),
            t.uid,
            'point-transaction',
            {
              amount: 50,
              contactId: c,
              pointDefinitionId: 1,
              source: 'Manual',
              description: 'Goodwill',
              userId: 'u-1',
              userName: 'Ulla',
              reason: 'Late delivery',
              sourceId: 'case-1',
            },
            { status: 202 },
          )
        ).r.json.events,
        ...(
          await emit(
            h(),
            t.uid,
            'point-balance',
            { contactId: c, accountId: 77, definitionId: 1, balance: 50, balanceExpires: '2027-12-31T23:59:59+01:00' },
            { status: 202 },
          )
        ).r.json.events,
        ...(
          await emit(
            h(),
            t.uid,
            'reward-voucher',
            {
              id: guid(91),
              contactId: c,
              amount: 100,
              currency: 'SEK',
              uniqueCode: '2511233093766',
              validFrom: '2026-01-01T00:00:00+01:00',
              validTo: '2026-06-30T23:59:59+02:00',
            },
            { status: 202 },
          )
        ).r.json.events,
        ...(await emit(h(), t.uid, 'promotion-assignment', { id: guid(92), contactId: c, promotionId: guid(93), externalId: 'SO-1' }, { status: 202 })).r.json
          .events,
        ...(await emit(h(), t.uid, `contact/${c}`, undefined, { method: 'DELETE', status: 202 })).r.json.events,
      ] as { msgId: string; eventType: string }[];
      expect(new Set(sent.map((e) => e.eventType)).size).toBe(11);
      for (const e of sent) {
        const schema = (await call(h(), 'GET', `/api/v1/event-type/${e.eventType}`, 200)).json.schemas['1'];
        if (!ajv.getSchema(e.eventType)) ajv.addSchema(schema, e.eventType);
        const validate = ajv.getSchema(e.eventType)!;
        const env = await envelopeOf(h(), t.uid, e.msgId);
        expect(validate(env), `${e.eventType}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        expect(env.isEncrypted).toBe(key !== undefined);
        expect(Object.keys(env)).toEqual(['eventId', 'eventType', 'isEncrypted', 'payload', 'tenant']);
      }
    }
  });
});

describe('engage producer: one contact’s events are ordered by its id', () => {
  const h = useInProcess();

  it('every event about a contact carries the contact id as orderingKey, so an ordering endpoint takes them one at a time in order', async () => {
    const t = await tenant(h());
    const ep = await createEndpoint(h(), t.uid, { ordering: 'key' });
    const c = guid(40);
    const ids: string[] = [];
    const add = async (route: string, body: unknown, opts: { method?: 'DELETE' } = {}) => {
      const e = await emit(h(), t.uid, route, body, { status: 202, ...opts });
      ids.push(...(e.r.json.messageIds as string[]));
    };
    await add('contact', { contactId: c });
    await emit(h(), t.uid, 'contact', { contactId: guid(41) }, { status: 202 }); // another contact
    await add('contact', { contactId: c, attributes: { firstName: 'Ola' } });
    await add('point-transaction', {
      amount: 5,
      contactId: c,
      pointDefinitionId: 1,
      source: 'Manual',
      description: 'd',
      userId: 'u',
      userName: 'U',
      reason: 'r',
      sourceId: 's',
    });
    await add('point-balance', { contactId: c, accountId: 1, definitionId: 1, balance: 5 });
    await add('reward-voucher', {
      id: guid(42),
      contactId: c,
      amount: 1,
      currency: 'SEK',
      uniqueCode: 'x1',
      validFrom: '2026-01-01T00:00:00Z',
      validTo: '2026-12-31T00:00:00Z',
    });
    await add(`contact/${c}`, undefined, { method: 'DELETE' });
    expect(ids).toHaveLength(6);
    for (const id of ids) expect((await call(h(), 'GET', `/api/v1/app/${t.uid}/msg/${id}`, 200)).json.orderingKey).toBe(c);
    // In the order accepted: numbered 1..6 at the endpoint, each waiting for the one before.
    const tasks = await Promise.all(ids.map(async (id) => (await tasksOf(h(), id)).get(ep.id)!));
    expect(tasks.map((x) => Number(x.ordering_seq))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tasks.map((x) => x.waiting_for)).toEqual([null, ...ids.slice(0, -1)]);
  });
});
