import { describe, expect, it } from 'vitest';
import { detectContactDelete, detectContactUpsert, EngageInputError, type ContactInput, type ContactState, type DetectedEvent } from '../src/index.js';
import { payloadErrors } from './schemas.js';

const NOW = Date.UTC(2024, 4, 16, 10, 20, 3); // 2024-05-16T10:20:03.000Z
const at = { now: NOW };
const ID = 'cbe3f42c-c1d0-4721-b8ce-ab35001ce051';

/** Every emitted payload must match its catalog schema exactly (closed schemas: casing matters). */
function checked(events: DetectedEvent[]): DetectedEvent[] {
  for (const e of events) expect(payloadErrors(e.eventType, e.payload), e.eventType).toBe('');
  return events;
}

function upsert(previous: ContactState | undefined, input: ContactInput, options = at) {
  const result = detectContactUpsert(previous, input, options);
  checked(result.events);
  return result;
}

const types = (events: DetectedEvent[]) => events.map((e) => e.eventType);

function inputError(fn: () => unknown): { code: string; field: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngageInputError) return { code: err.code, field: err.field };
    throw err;
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A stored member with everything off and one consent given. */
function existing(): ContactState {
  return upsert(undefined, {
    contactId: ID,
    attributes: { firstName: 'Anna', city: 'Göteborg', createdInStore: 'S-01' },
    preferences: { acceptsEmail: false, acceptsSms: false, acceptsPostal: false },
    consents: [{ id: 'memberConsent', value: true, date: '2024-01-02T03:04:05+01:00', source: 'POS', comment: null }],
  }).state;
}

describe('a new contact', () => {
  it('fires contact.created and nothing else, whatever it carries', () => {
    const { events, state, changed } = upsert(undefined, {
      contactId: ID,
      attributes: { firstName: 'Anna', email: 'anna@example.com' },
      preferences: { acceptsEmail: true, acceptsSms: true, acceptsPostal: true },
      consents: [
        { id: 'memberConsent', value: true },
        { id: 'profiling', value: false },
      ],
    });
    expect(events).toEqual([{ eventType: 'contact.created', payload: { contactId: ID, contactType: 'Member' } }]);
    expect(changed).toBe(true);
    expect(state).toEqual({
      contactId: ID,
      contactType: 'Member',
      attributes: { firstName: 'Anna', email: 'anna@example.com' },
      preferences: { acceptsEmail: true, acceptsSms: true, acceptsPostal: true },
      consents: {
        memberConsent: { value: true, date: '2024-05-16T10:20:03.000Z', source: null, comment: null },
        profiling: { value: false, date: '2024-05-16T10:20:03.000Z', source: null, comment: null },
      },
    });
  });

  it('keeps its contact type, defaults preferences to false and leaves null consents "not set"', () => {
    const { events, state } = upsert(undefined, {
      contactId: ID,
      contactType: 'Contact',
      preferences: { acceptsEmail: null },
      consents: [{ id: 'memberConsent', value: null }],
    });
    expect(events[0].payload).toEqual({ contactId: ID, contactType: 'Contact' });
    expect(state.preferences).toEqual({ acceptsEmail: false, acceptsSms: false, acceptsPostal: false });
    expect(state.consents).toEqual({});
  });

  it('payload is exactly {contactId, contactType}', () => {
    const { events } = upsert(undefined, { contactId: ID, attributes: { firstName: 'Anna' } });
    expect(Object.keys(events[0].payload)).toEqual(['contactId', 'contactType']);
  });
});

describe('an update that changes nothing sends nothing', () => {
  it.each<[string, Omit<ContactInput, 'contactId'>]>([
    ['the id alone', {}],
    [
      'every value restated',
      {
        contactType: 'Member',
        attributes: { firstName: 'Anna', city: 'Göteborg', createdInStore: 'S-01' },
        preferences: { acceptsEmail: false, acceptsSms: false, acceptsPostal: false },
        consents: [{ id: 'memberConsent', value: true }],
      },
    ],
    [
      'nulls for preferences, consents and contact type',
      {
        contactType: null,
        preferences: { acceptsEmail: null, acceptsSms: null, acceptsPostal: null },
        consents: [
          { id: 'memberConsent', value: null },
          { id: 'neverSet', value: null },
        ],
      },
    ],
    ['clearing an attribute that is not set', { attributes: { lastName: null } }],
    [
      'a consent restated with a new date, source and comment',
      {
        consents: [{ id: 'memberConsent', value: true, date: '2024-05-01T00:00:00Z', source: 'ECOM', comment: 'again' }],
      },
    ],
    ['empty objects and lists', { attributes: {}, preferences: {}, consents: [] }],
  ])('%s', (_label, rest) => {
    const previous = deepFreeze(existing());
    const result = upsert(previous, { contactId: ID, ...rest });
    expect(result.events).toEqual([]);
    expect(result.changed).toBe(false);
    expect(result.state).toBe(previous);
  });

  it('also after a JSON round trip of the stored state', () => {
    const stored = JSON.parse(JSON.stringify(existing())) as ContactState;
    expect(upsert(stored, { contactId: ID, attributes: { firstName: 'Anna' } }).events).toEqual([]);
  });
});

describe('attributes and contact type', () => {
  it('an attribute change fires contact.updated naming it, and no *.changed', () => {
    const { events, state } = upsert(existing(), { contactId: ID, attributes: { firstName: 'Annie' } });
    expect(events).toEqual([{ eventType: 'contact.updated', payload: { contactId: ID, contactType: 'Member', changedFields: ['attributes.firstName'] } }]);
    expect(state.attributes.firstName).toBe('Annie');
  });

  it('null clears an attribute; leaving it out keeps it', () => {
    const { events, state } = upsert(existing(), { contactId: ID, attributes: { city: null } });
    expect(events[0].payload).toEqual({ contactId: ID, contactType: 'Member', changedFields: ['attributes.city'] });
    expect(state.attributes).toEqual({ firstName: 'Anna', createdInStore: 'S-01' });
  });

  it('a new attribute and a type change are named, sorted', () => {
    const { events } = upsert(existing(), {
      contactId: ID,
      contactType: 'Contact',
      attributes: { zipCode: '41101', birthDay: '1990-01-31' },
    });
    expect(events).toHaveLength(1);
    expect(events[0].payload).toEqual({
      contactId: ID,
      contactType: 'Contact',
      changedFields: ['attributes.birthDay', 'attributes.zipCode', 'contactType'],
    });
  });

  it('compares by value and type: 1 and "1" differ, equal numbers do not', () => {
    const withNumber = upsert(existing(), { contactId: ID, attributes: { shoeSize: 42 } }).state;
    expect(upsert(withNumber, { contactId: ID, attributes: { shoeSize: 42 } }).events).toEqual([]);
    expect(types(upsert(withNumber, { contactId: ID, attributes: { shoeSize: '42' } }).events)).toEqual(['contact.updated']);
  });

  it('createdInStore cannot change once the contact exists', () => {
    expect(inputError(() => detectContactUpsert(existing(), { contactId: ID, attributes: { createdInStore: 'S-02' } }, at))).toEqual({
      code: 'invalid_input',
      field: 'attributes.createdInStore',
    });
    expect(inputError(() => detectContactUpsert(existing(), { contactId: ID, attributes: { createdInStore: null } }, at))?.field).toBe(
      'attributes.createdInStore',
    );
    expect(upsert(existing(), { contactId: ID, attributes: { createdInStore: 'S-01' } }).events).toEqual([]);
  });

  it('attribute names like constructor are plain attributes', () => {
    const { events, state } = upsert(existing(), { contactId: ID, attributes: { constructor: 'x', toString: 'y' } });
    expect(events[0].payload).toMatchObject({ changedFields: ['attributes.constructor', 'attributes.toString'] });
    expect(upsert(state, { contactId: ID, attributes: { constructor: 'x' } }).events).toEqual([]);
  });
});

describe('preferences', () => {
  it('a changed preference fires contact.updated then its own *.changed with the new value', () => {
    const { events, state } = upsert(existing(), { contactId: ID, preferences: { acceptsEmail: true } });
    expect(events).toEqual([
      {
        eventType: 'contact.updated',
        payload: { contactId: ID, contactType: 'Member', changedFields: ['preferences.acceptsEmail'] },
      },
      { eventType: 'contact.acceptsEmail.changed', payload: { contactId: ID, value: true } },
    ]);
    expect(Object.keys(events[1].payload)).toEqual(['contactId', 'value']);
    expect(state.preferences.acceptsEmail).toBe(true);
  });

  it('only the preferences that really changed fire, in email, SMS, postal order', () => {
    const previous = upsert(existing(), { contactId: ID, preferences: { acceptsSms: true } }).state;
    const { events } = upsert(previous, {
      contactId: ID,
      preferences: { acceptsPostal: true, acceptsSms: true, acceptsEmail: true },
    });
    expect(types(events)).toEqual(['contact.updated', 'contact.acceptsEmail.changed', 'contact.acceptsPostal.changed']);
    expect(events[0].payload).toMatchObject({ changedFields: ['preferences.acceptsEmail', 'preferences.acceptsPostal'] });
  });

  it('turning one off fires with value false', () => {
    const on = upsert(existing(), { contactId: ID, preferences: { acceptsSms: true } }).state;
    const { events } = upsert(on, { contactId: ID, preferences: { acceptsSms: false } });
    expect(events[1]).toEqual({ eventType: 'contact.acceptsSms.changed', payload: { contactId: ID, value: false } });
  });

  it('null or a missing preference keeps the stored value', () => {
    const on = upsert(existing(), { contactId: ID, preferences: { acceptsPostal: true } }).state;
    const { events, state } = upsert(on, { contactId: ID, preferences: { acceptsPostal: null }, attributes: { city: 'Malmö' } });
    expect(types(events)).toEqual(['contact.updated']);
    expect(state.preferences.acceptsPostal).toBe(true);
  });
});

describe('consents', () => {
  it('a consent set for the first time on an existing contact fires contact.consent.changed, dated now', () => {
    const { events, state } = upsert(existing(), { contactId: ID, consents: [{ id: 'smsConsent', value: false }] });
    expect(events).toEqual([
      { eventType: 'contact.updated', payload: { contactId: ID, contactType: 'Member', changedFields: ['consents.smsConsent'] } },
      {
        eventType: 'contact.consent.changed',
        payload: { contactId: ID, consentId: 'smsConsent', value: false, date: '2024-05-16T10:20:03.000Z', source: null, comment: null },
      },
    ]);
    expect(Object.keys(events[1].payload)).toEqual(['contactId', 'consentId', 'value', 'date', 'source', 'comment']);
    expect(state.consents.smsConsent.value).toBe(false);
  });

  it('a withdrawn consent carries its own date, source and comment', () => {
    const { events, state } = upsert(existing(), {
      contactId: ID,
      consents: [{ id: 'memberConsent', value: false, date: '2024-05-16T12:20:03+02:00', source: 'ECOM', comment: 'via My Pages' }],
    });
    expect(events[1].payload).toEqual({
      contactId: ID,
      consentId: 'memberConsent',
      value: false,
      date: '2024-05-16T12:20:03+02:00',
      source: 'ECOM',
      comment: 'via My Pages',
    });
    expect(state.consents.memberConsent).toEqual({ value: false, date: '2024-05-16T12:20:03+02:00', source: 'ECOM', comment: 'via My Pages' });
  });

  it('never reverts to "not set": null or leaving it out keeps the value and fires nothing', () => {
    const previous = existing();
    for (const consents of [[{ id: 'memberConsent', value: null }], [], undefined]) {
      const { events, state } = upsert(previous, { contactId: ID, consents });
      expect(events).toEqual([]);
      expect(state.consents.memberConsent).toEqual(previous.consents.memberConsent);
    }
    // Even alongside a real change, the consent stays.
    const { events, state } = upsert(previous, {
      contactId: ID,
      attributes: { city: 'Malmö' },
      consents: [{ id: 'memberConsent', value: null }],
    });
    expect(types(events)).toEqual(['contact.updated']);
    expect(state.consents.memberConsent.value).toBe(true);
  });

  it('restating a consent keeps when and where it was first given', () => {
    const previous = existing();
    const { state } = upsert(previous, {
      contactId: ID,
      attributes: { city: 'Malmö' },
      consents: [{ id: 'memberConsent', value: true, date: '2025-01-01T00:00:00Z', source: 'ECOM' }],
    });
    expect(state.consents.memberConsent).toEqual({ value: true, date: '2024-01-02T03:04:05+01:00', source: 'POS', comment: null });
  });

  it('one event per changed consent, by consent id, after the preference events', () => {
    const { events } = upsert(existing(), {
      contactId: ID,
      preferences: { acceptsEmail: true },
      consents: [
        { id: 'profiling', value: true },
        { id: 'memberConsent', value: false },
        { id: 'alreadyNull', value: null },
      ],
    });
    expect(types(events)).toEqual(['contact.updated', 'contact.acceptsEmail.changed', 'contact.consent.changed', 'contact.consent.changed']);
    expect(events.slice(2).map((e) => (e.payload as { consentId: string }).consentId)).toEqual(['memberConsent', 'profiling']);
    expect(events[0].payload).toMatchObject({
      changedFields: ['consents.memberConsent', 'consents.profiling', 'preferences.acceptsEmail'],
    });
  });
});

describe('purity', () => {
  it('never changes its arguments and returns fresh state', () => {
    const previous = deepFreeze(existing());
    const input = deepFreeze<ContactInput>({
      contactId: ID,
      attributes: { city: null, lastName: 'Ek' },
      preferences: { acceptsSms: true },
      consents: [{ id: 'memberConsent', value: false }],
    });
    const before = JSON.stringify(previous);
    const a = detectContactUpsert(previous, input, at);
    const b = detectContactUpsert(previous, input, at);
    expect(a).toEqual(b);
    expect(JSON.stringify(previous)).toBe(before);
    expect(a.state.attributes).not.toBe(previous.attributes);
    expect(a.state.consents).not.toBe(previous.consents);
  });

  it('needs a real clock value', () => {
    expect(() => detectContactUpsert(undefined, { contactId: ID }, { now: Number.NaN })).toThrow(RangeError);
  });
});

describe('bad input names the field', () => {
  const previous = existing();
  it.each<[string, unknown, string]>([
    ['not an object', null, 'contact'],
    ['an empty contactId', { contactId: '' }, 'contactId'],
    ['another contact’s id', { contactId: 'someone-else' }, 'contactId'],
    ['a contactType that is not a string', { contactId: ID, contactType: 3 }, 'contactType'],
    ['attributes that are a list', { contactId: ID, attributes: [] }, 'attributes'],
    ['an object attribute', { contactId: ID, attributes: { address: { street: 'x' } } }, 'attributes.address'],
    ['a NaN attribute', { contactId: ID, attributes: { score: Number.NaN } }, 'attributes.score'],
    ['a computed attribute', { contactId: ID, attributes: { age: 34 } }, 'attributes.age'],
    ['a preference posing as an attribute', { contactId: ID, attributes: { acceptsEmail: true } }, 'attributes.acceptsEmail'],
    ['__proto__ as an attribute', JSON.parse(`{"contactId":"${ID}","attributes":{"__proto__":"x"}}`), 'attributes.__proto__'],
    ['an unknown preference', { contactId: ID, preferences: { acceptsFax: true } }, 'preferences.acceptsFax'],
    ['a preference that is not a boolean', { contactId: ID, preferences: { acceptsSms: 'yes' } }, 'preferences.acceptsSms'],
    ['consents as an object', { contactId: ID, consents: { memberConsent: true } }, 'consents'],
    ['a consent without id', { contactId: ID, consents: [{ value: true }] }, 'consents[0].id'],
    [
      'a repeated consent',
      {
        contactId: ID,
        consents: [
          { id: 'a', value: true },
          { id: 'a', value: false },
        ],
      },
      'consents[1].id',
    ],
    ['a consent value "true"', { contactId: ID, consents: [{ id: 'a', value: 'true' }] }, 'consents[0].value'],
    ['a consent without value', { contactId: ID, consents: [{ id: 'a' }] }, 'consents[0].value'],
    ['a consent dated without offset', { contactId: ID, consents: [{ id: 'a', value: true, date: '2024-05-16 12:00' }] }, 'consents[0].date'],
    ['a consent source that is a number', { contactId: ID, consents: [{ id: 'a', value: true, source: 1 }] }, 'consents[0].source'],
  ])('%s', (_label, input, field) => {
    expect(inputError(() => detectContactUpsert(previous, input as ContactInput, at))).toEqual({ code: 'invalid_input', field });
  });
});

describe('delete', () => {
  it('fires contact.deleted with the id and leaves no state', () => {
    const { events, state, changed } = detectContactDelete(existing());
    expect(checked(events)).toEqual([{ eventType: 'contact.deleted', payload: { contactId: ID } }]);
    expect(state).toBeUndefined();
    expect(changed).toBe(true);
  });

  it('fires nothing for a contact it does not know', () => {
    expect(detectContactDelete(undefined)).toEqual({ events: [], state: undefined, changed: false });
  });

  it('the same id afterwards is a new contact: created, not updated', () => {
    const gone = detectContactDelete(existing()).state;
    expect(types(upsert(gone, { contactId: ID, preferences: { acceptsEmail: true } }).events)).toEqual(['contact.created']);
  });
});
