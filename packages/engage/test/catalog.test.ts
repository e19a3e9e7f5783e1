import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  ENGAGE_CATALOG,
  ENGAGE_EVENT_TYPES,
  ENGAGE_PAYLOAD_SCHEMAS,
  encryptEnvelope,
  engageExample,
  generateEncryptionKey,
  parseEnvelope,
  type EngageEventType,
  type JsonSchema,
} from '../src/index.js';
import { envelopeErrors, validEnvelope, validPayload } from './schemas.js';

type SchemaNode = {
  type?: unknown;
  properties?: Record<string, SchemaNode & { description?: string }>;
  required?: string[];
  examples?: unknown[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
};
const node = (schema: JsonSchema) => schema as SchemaNode;

describe('ENGAGE_CATALOG', () => {
  it('holds the 11 Engage event types once each', () => {
    const names = ENGAGE_CATALOG.map((e) => e.name);
    expect(names).toHaveLength(11);
    expect([...names].sort()).toEqual([...ENGAGE_EVENT_TYPES].sort());
  });

  it.each(ENGAGE_CATALOG.map((e) => [e.name, e] as const))('%s is a Svix EventTypeIn', (name, entry) => {
    expect(Object.keys(entry).sort()).toEqual(['description', 'groupName', 'name', 'schemas']);
    expect(name).toMatch(/^[a-zA-Z0-9\-_.]+$/);
    expect(name.length).toBeLessThanOrEqual(256);
    expect(entry.description.length).toBeGreaterThan(10);
    expect(Object.keys(entry.schemas)).toEqual(['1']);
  });

  it('groups by prefix', () => {
    const groups = Object.fromEntries(ENGAGE_CATALOG.map((e) => [e.name, e.groupName]));
    expect(groups).toEqual({
      'contact.created': 'contact',
      'contact.updated': 'contact',
      'contact.deleted': 'contact',
      'contact.acceptsEmail.changed': 'contact',
      'contact.acceptsSms.changed': 'contact',
      'contact.acceptsPostal.changed': 'contact',
      'contact.consent.changed': 'contact',
      'loyalty.addPoints': 'loyalty',
      'point.balance.updated': 'point',
      'reward.voucher.created': 'reward',
      'promotion.multichannel.assigned': 'promotion',
    });
  });

  it('is frozen, so no caller can change the installed catalog by accident', () => {
    const entry = ENGAGE_CATALOG[0];
    expect(Object.isFrozen(ENGAGE_CATALOG)).toBe(true);
    expect(Object.isFrozen(entry.schemas['1'])).toBe(true);
    expect(Object.isFrozen(node(entry.schemas['1']).examples![0])).toBe(true);
  });

  it('passes the schema check the server applies to event types', () => {
    const serverLike = new Ajv({ strict: false, validateSchema: true });
    for (const entry of ENGAGE_CATALOG) {
      expect(serverLike.validateSchema(entry.schemas['1']), entry.name).toBe(true);
    }
  });
});

describe.each(ENGAGE_CATALOG.map((e) => [e.name, e] as const))('%s schema', (name, entry) => {
  const schema = node(entry.schemas['1']);
  const example = schema.examples![0] as { payload: Record<string, unknown> } & Record<string, unknown>;

  it('is a draft-07 object schema of the whole envelope', () => {
    expect(entry.schemas['1'].$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['eventType', 'isEncrypted', 'payload', 'tenant']);
    expect(schema.anyOf).toEqual([
      { required: ['eventId'], properties: { eventId: { type: 'string' } } },
      { required: ['id'], properties: { id: { type: 'string' } } },
    ]);
    expect(schema.properties!.payload.oneOf![0]).toBe(ENGAGE_PAYLOAD_SCHEMAS[name]);
  });

  it('describes every property, in the envelope and in the payload', () => {
    for (const [key, prop] of Object.entries(schema.properties!)) expect(prop.description, key).toBeTruthy();
    const payload = node(ENGAGE_PAYLOAD_SCHEMAS[name]);
    expect(payload.type).toBe('object');
    for (const [key, prop] of Object.entries(payload.properties!)) expect(prop.description, key).toBeTruthy();
  });

  it('requires every payload field (Herald always sends all of them, null when empty)', () => {
    const payload = node(ENGAGE_PAYLOAD_SCHEMAS[name]);
    expect([...payload.required!].sort()).toEqual(Object.keys(payload.properties!).sort());
  });

  it('has an example (examples[0], what send-example delivers) that validates', () => {
    expect(schema.examples!.length).toBeGreaterThanOrEqual(1);
    expect(envelopeErrors(name, example)).toBe('');
    expect(validEnvelope(name, example)).toBe(true);
    expect(validPayload(name, example.payload)).toBe(true);
    expect(example.eventType).toBe(name);
    expect(example.isEncrypted).toBe(false);
  });

  it('has an example the receiver kit parses as an Engage envelope', () => {
    expect(parseEnvelope(JSON.parse(JSON.stringify(example)))).toEqual(example);
  });

  it('engageExample returns examples[0] as a copy', () => {
    const copy = engageExample(name);
    expect(copy).toEqual(example);
    expect(copy).not.toBe(example);
    copy.tenant = 'changed';
    expect(example.tenant).toBe('acme');
  });

  it('accepts the encrypted form of the example', () => {
    const encrypted = encryptEnvelope(engageExample(name), generateEncryptionKey());
    expect(validEnvelope(name, encrypted)).toBe(true);
  });

  it('refuses a payload missing any required field', () => {
    for (const field of Object.keys(example.payload)) {
      const { [field]: _dropped, ...rest } = example.payload;
      expect(validEnvelope(name, { ...example, payload: rest }), field).toBe(false);
      expect(validPayload(name, rest), field).toBe(false);
    }
  });

  it('refuses extra payload fields and other mismatches', () => {
    expect(validPayload(name, { ...example.payload, extra: 1 })).toBe(false);
    expect(validEnvelope(name, { ...example, extra: 1 })).toBe(false);
    const other = ENGAGE_EVENT_TYPES.find((t) => t !== name)!;
    expect(validEnvelope(name, { ...example, eventType: other })).toBe(false);
    expect(validEnvelope(name, { ...example, isEncrypted: true })).toBe(false); // object payload
    expect(validEnvelope(name, { ...example, payload: 'QUJD' })).toBe(false); // string but not encrypted
    const { eventId: _id, ...noId } = example;
    expect(validEnvelope(name, noId)).toBe(false);
  });
});

describe('the event id: eventId, or id as two of Voyado’s examples call it', () => {
  // Voyado's page writes the loyalty.addPoints and point.balance.updated envelopes with `id`; the
  // live sample (and Herald) use `eventId`. Receivers built from either must validate and parse.
  it.each<EngageEventType>(['loyalty.addPoints', 'point.balance.updated'])('%s: Voyado’s example shape with id validates and parses', (name) => {
    const { eventId, ...rest } = engageExample(name);
    const voyado = { eventType: rest.eventType, id: eventId, isEncrypted: false, payload: rest.payload, tenant: rest.tenant };
    expect(envelopeErrors(name, voyado)).toBe('');
    expect(parseEnvelope(voyado)).toEqual({ ...rest, eventId });
  });

  it('one of the two is required, and each must be a string', () => {
    const { eventId: _drop, ...none } = engageExample('point.balance.updated');
    expect(validEnvelope('point.balance.updated', none)).toBe(false);
    expect(validEnvelope('point.balance.updated', { ...none, id: 17 })).toBe(false);
    expect(validEnvelope('point.balance.updated', { ...none, eventId: 'e', id: 'e' })).toBe(true);
  });

  it('accepts definitionId as Voyado documents it (String) as well as the number tenants send', () => {
    const example = engageExample('point.balance.updated');
    expect(validEnvelope('point.balance.updated', { ...example, payload: { ...example.payload, definitionId: '1' } })).toBe(true);
    expect(validEnvelope('point.balance.updated', example)).toBe(true);
  });
});

describe('documented payloads keep Voyado’s names, casing and order', () => {
  const keysOf = (t: EngageEventType) => Object.keys(node(ENGAGE_PAYLOAD_SCHEMAS[t]).properties!);

  it('loyalty.addPoints', () => {
    expect(keysOf('loyalty.addPoints')).toEqual([
      'amount',
      'contactId',
      'pointDefinitionId',
      'source',
      'description',
      'userId',
      'userName',
      'reason',
      'sourceId',
    ]);
    expect(Object.keys(engageExample('loyalty.addPoints').payload)).toEqual(keysOf('loyalty.addPoints'));
  });

  it('point.balance.updated', () => {
    expect(keysOf('point.balance.updated')).toEqual(['balance', 'contactId', 'accountId', 'definitionId', 'balanceExpires']);
  });

  it('reward.voucher.created is PascalCase', () => {
    const keys = ['Amount', 'ContactId', 'Currency', 'Id', 'UniqueCode', 'ValidFrom', 'ValidTo'];
    expect(keysOf('reward.voucher.created')).toEqual(keys);
    expect(Object.keys(engageExample('reward.voucher.created').payload)).toEqual(keys);
    const camel = Object.fromEntries(Object.entries(engageExample('reward.voucher.created').payload).map(([k, v]) => [k[0].toLowerCase() + k.slice(1), v]));
    expect(validPayload('reward.voucher.created', camel)).toBe(false);
  });

  it('point.balance.updated takes definitionId as a number or a string, balanceExpires as a date-time or null', () => {
    const p = engageExample('point.balance.updated').payload;
    expect(validPayload('point.balance.updated', { ...p, definitionId: '1' })).toBe(true);
    expect(validPayload('point.balance.updated', { ...p, balanceExpires: null })).toBe(true);
    expect(validPayload('point.balance.updated', { ...p, balanceExpires: '31/12/2024' })).toBe(false);
    expect(validPayload('point.balance.updated', { ...p, accountId: 1.5 })).toBe(false);
  });

  it('the addPoints example is the plaintext of the shared encryption vector', async () => {
    const { readFileSync } = await import('node:fs');
    const vector = JSON.parse(readFileSync(new URL('./vectors/engage-encryption.json', import.meta.url), 'utf8')).engageEncryption[0];
    expect(JSON.stringify(engageExample('loyalty.addPoints').payload)).toBe(vector.plaintext);
  });
});

describe('thin payloads', () => {
  it('the three preference events carry the contact id and the new value', () => {
    for (const t of ['contact.acceptsEmail.changed', 'contact.acceptsSms.changed', 'contact.acceptsPostal.changed'] as const) {
      expect(Object.keys(node(ENGAGE_PAYLOAD_SCHEMAS[t]).properties!)).toEqual(['contactId', 'value']);
      expect(validPayload(t, { contactId: 'c', value: 'yes' })).toBe(false);
    }
  });

  it('contact.updated needs at least one changed field', () => {
    const p = engageExample('contact.updated').payload;
    expect(validPayload('contact.updated', { ...p, changedFields: [] })).toBe(false);
    expect(validPayload('contact.updated', { ...p, changedFields: ['a', 'a'] })).toBe(false);
  });

  it('contact.consent.changed allows null source and comment but a real date', () => {
    const p = engageExample('contact.consent.changed').payload;
    expect(validPayload('contact.consent.changed', { ...p, source: null, comment: null })).toBe(true);
    expect(validPayload('contact.consent.changed', { ...p, date: null })).toBe(false);
    expect(validPayload('contact.consent.changed', { ...p, value: null })).toBe(false); // never "not set"
  });
});
