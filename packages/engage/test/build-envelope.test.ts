import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildEnvelope,
  decryptEnvelope,
  decryptPayloadJson,
  detectBalanceChange,
  detectContactUpsert,
  detectPointTransaction,
  EngageError,
  ENGAGE_CATALOG,
  engageExample,
  generateEncryptionKey,
  parseEncryptionKey,
  parseEnvelope,
  type LoyaltyAddPointsPayload,
} from '../src/index.js';
import { envelopeErrors } from './schemas.js';

interface EncryptionVector {
  key: string;
  ivHex: string;
  plaintext: string;
  ciphertext: string;
}
const vector: EncryptionVector = JSON.parse(readFileSync(new URL('./vectors/engage-encryption.json', import.meta.url), 'utf8')).engageEncryption[0];

const event = {
  eventType: 'point.balance.updated' as const,
  payload: { balance: 10, contactId: 'c-1', accountId: 1, definitionId: 1, balanceExpires: null },
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngageError) return err.code;
    throw err;
  }
  return undefined;
}

describe('buildEnvelope without a key', () => {
  it('is the plaintext Engage envelope, keys in Engage’s order', () => {
    const envelope = buildEnvelope(event, { tenant: 'acme', eventId: 'evt-1' });
    expect(envelope).toEqual({ eventId: 'evt-1', eventType: 'point.balance.updated', isEncrypted: false, payload: event.payload, tenant: 'acme' });
    expect(Object.keys(envelope)).toEqual(['eventId', 'eventType', 'isEncrypted', 'payload', 'tenant']);
    expect(envelopeErrors('point.balance.updated', envelope)).toBe('');
  });

  it('treats a null key as no key', () => {
    expect(buildEnvelope(event, { tenant: 'acme', key: null }).isEncrypted).toBe(false);
  });

  it('mints a GUID event id when none is given, a new one each time', () => {
    const a = buildEnvelope(event, { tenant: 'acme' });
    const b = buildEnvelope(event, { tenant: 'acme' });
    expect(a.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.eventId).not.toBe(b.eventId);
  });

  it('refuses an empty event id or a missing tenant', () => {
    expect(() => buildEnvelope(event, { tenant: 'acme', eventId: '' })).toThrow(TypeError);
    expect(() => buildEnvelope(event, { tenant: undefined as unknown as string })).toThrow(TypeError);
  });
});

describe('buildEnvelope with a tenant key', () => {
  it('gives exactly the shared vector’s ciphertext for its key and IV', () => {
    const payload = JSON.parse(vector.plaintext) as LoyaltyAddPointsPayload;
    const envelope = buildEnvelope(
      { eventType: 'loyalty.addPoints', payload },
      { tenant: 'acme', eventId: 'evt-1', key: vector.key, iv: Buffer.from(vector.ivHex, 'hex') },
    );
    expect(envelope).toEqual({ eventId: 'evt-1', eventType: 'loyalty.addPoints', isEncrypted: true, payload: vector.ciphertext, tenant: 'acme' });
    expect(Object.keys(envelope)).toEqual(['eventId', 'eventType', 'isEncrypted', 'payload', 'tenant']);
  });

  it('end to end: the detector’s loyalty.addPoints gives the vector’s ciphertext', () => {
    const [detected] = detectPointTransaction(JSON.parse(vector.plaintext)).events;
    const envelope = buildEnvelope(detected, { tenant: 'acme', key: vector.key, iv: Buffer.from(vector.ivHex, 'hex') });
    expect(envelope.payload).toBe(vector.ciphertext);
  });

  it('uses a fresh IV per envelope and round-trips through the receiving side', () => {
    const key = generateEncryptionKey();
    const a = buildEnvelope(event, { tenant: 'acme', eventId: 'evt-1', key });
    const b = buildEnvelope(event, { tenant: 'acme', eventId: 'evt-1', key });
    expect(a.isEncrypted).toBe(true);
    expect(a.payload).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a.payload).not.toBe(b.payload);
    const wire = parseEnvelope(JSON.parse(JSON.stringify(a)));
    expect(decryptEnvelope(wire, key)).toEqual({ ...a, payload: event.payload });
    expect(JSON.stringify(a)).not.toContain('c-1'); // no plaintext beside the ciphertext
  });

  it('takes a parsed key object', () => {
    const key = parseEncryptionKey(vector.key);
    const envelope = buildEnvelope(event, { tenant: 'acme', key });
    expect(decryptPayloadJson(envelope.payload as string, vector.key)).toEqual(event.payload);
  });

  it.each([
    ['empty', ''],
    ['31 characters', vector.key.slice(1)],
    ['33 characters', `${vector.key}x`],
    ['a special character', `${vector.key.slice(1)}-`],
  ])('refuses a key that is %s, never falling back to plaintext', (_label, key) => {
    expect(codeOf(() => buildEnvelope(event, { tenant: 'acme', key }))).toBe('invalid_key');
  });
});

describe('envelopes of detected events match the catalog', () => {
  it('for every kind of event, plaintext and encrypted', () => {
    const key = generateEncryptionKey();
    const contact = detectContactUpsert(undefined, { contactId: 'c-1' }, { now: 0 });
    const updated = detectContactUpsert(
      contact.state,
      { contactId: 'c-1', preferences: { acceptsSms: true }, consents: [{ id: 'memberConsent', value: true }] },
      { now: 0 },
    );
    const detected = [
      ...contact.events,
      ...updated.events,
      ...detectBalanceChange(undefined, { contactId: 'c-1', accountId: 1, definitionId: 1, balance: 5 }).events,
      ...detectPointTransaction(engageExample('loyalty.addPoints').payload).events,
    ];
    expect(detected.map((e) => e.eventType)).toEqual([
      'contact.created',
      'contact.updated',
      'contact.acceptsSms.changed',
      'contact.consent.changed',
      'point.balance.updated',
      'loyalty.addPoints',
    ]);
    for (const e of detected) {
      expect(envelopeErrors(e.eventType, buildEnvelope(e, { tenant: 'acme' })), e.eventType).toBe('');
      expect(envelopeErrors(e.eventType, buildEnvelope(e, { tenant: 'acme', key })), e.eventType).toBe('');
    }
  });

  it('every catalog example re-enveloped is its own example', () => {
    for (const { name } of ENGAGE_CATALOG) {
      const example = engageExample(name);
      expect(buildEnvelope(example, { tenant: example.tenant, eventId: example.eventId })).toEqual(example);
    }
  });
});
