import { describe, expect, it } from 'vitest';
import {
  decryptEnvelope,
  parseEncryptionKey,
  ENGAGE_EVENT_TYPES,
  EngageError,
  encryptEnvelope,
  generateEncryptionKey,
  isEngageEventType,
  parseEnvelope,
  type EngageEvent,
} from '../src/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngageError) return err.code;
    throw err;
  }
  return undefined;
}

describe('event catalog', () => {
  it('lists the 11 documented Engage event types once each', () => {
    expect(ENGAGE_EVENT_TYPES).toHaveLength(11);
    expect(new Set(ENGAGE_EVENT_TYPES).size).toBe(11);
    expect(ENGAGE_EVENT_TYPES).toContain('point.balance.updated');
    expect(ENGAGE_EVENT_TYPES).toContain('reward.voucher.created');
  });

  it('recognises only catalog names', () => {
    expect(isEngageEventType('loyalty.addPoints')).toBe(true);
    expect(isEngageEventType('loyalty.addpoints')).toBe(false);
    expect(isEngageEventType(42)).toBe(false);
  });
});

const balance: EngageEvent<'point.balance.updated'> = {
  eventId: '31e61713-dd4d-4c3f-a470-990ef50b47c0',
  eventType: 'point.balance.updated',
  isEncrypted: false,
  payload: {
    accountId: 999,
    balance: 2500.75,
    balanceExpires: '2024-12-31T23:59:59.999+01:00',
    contactId: 'test-contact-123',
    definitionId: 1,
  },
  tenant: 'test-tenant',
};

describe('parseEnvelope', () => {
  it('accepts a documented envelope', () => {
    expect(parseEnvelope(JSON.parse(JSON.stringify(balance)))).toEqual(balance);
  });

  it('maps the legacy `id` field to eventId', () => {
    const { eventId, ...rest } = balance;
    expect(parseEnvelope({ ...rest, id: eventId }).eventId).toBe(eventId);
  });

  it('keeps event types it does not know, so receivers can acknowledge them', () => {
    expect(parseEnvelope({ ...balance, eventType: 'order.created' }).eventType).toBe('order.created');
  });

  it.each([
    ['not an object', []],
    ['no id', { ...balance, eventId: undefined }],
    ['no eventType', { ...balance, eventType: '' }],
    ['isEncrypted not boolean', { ...balance, isEncrypted: 'false' }],
    ['no tenant', { ...balance, tenant: undefined }],
    ['encrypted but payload is an object', { ...balance, isEncrypted: true }],
    ['plaintext but payload is a string', { ...balance, payload: 'abc' }],
  ])('refuses an envelope with %s', (_label, bad) => {
    expect(codeOf(() => parseEnvelope(bad))).toBe('invalid_envelope');
  });
});

describe('encryptEnvelope / decryptEnvelope', () => {
  const key = generateEncryptionKey();

  it('round-trips the payload and keeps the plaintext envelope fields', () => {
    const encrypted = encryptEnvelope(balance, key);
    expect(encrypted.isEncrypted).toBe(true);
    expect(typeof encrypted.payload).toBe('string');
    expect(encrypted.tenant).toBe('test-tenant');
    const wire = parseEnvelope(JSON.parse(JSON.stringify(encrypted)));
    const plain = decryptEnvelope(wire, key);
    expect(plain.payload).toEqual(balance.payload);
    expect(plain.isEncrypted).toBe(true); // how it arrived
  });

  it('passes plaintext envelopes through without a key', () => {
    const wire = parseEnvelope(balance);
    expect(decryptEnvelope(wire)).toBe(wire);
  });

  it('needs the key for encrypted envelopes', () => {
    const wire = parseEnvelope(encryptEnvelope(balance, key));
    expect(codeOf(() => decryptEnvelope(wire))).toBe('missing_key');
    expect(codeOf(() => decryptEnvelope(wire, generateEncryptionKey()))).toMatch(/^invalid_(ciphertext|payload_json)$/);
    expect(codeOf(() => decryptEnvelope(wire, []))).toBe('missing_key');
  });

  it('during a key rotation, opens a payload with whichever of the keys it was encrypted under', () => {
    const next = generateEncryptionKey();
    const underOld = parseEnvelope(encryptEnvelope(balance, key));
    const underNew = parseEnvelope(encryptEnvelope(balance, next));
    for (const keys of [
      [next, key],
      [key, next],
      [parseEncryptionKey(next), parseEncryptionKey(key)],
    ]) {
      expect(decryptEnvelope(underOld, keys).payload).toEqual(balance.payload);
      expect(decryptEnvelope(underNew, keys).payload).toEqual(balance.payload);
    }
    // Neither key: the first key's error; a malformed key is a configuration error, at once.
    expect(codeOf(() => decryptEnvelope(underOld, [generateEncryptionKey(), next]))).toMatch(/^invalid_(ciphertext|payload_json)$/);
    expect(codeOf(() => decryptEnvelope(underOld, ['short', key]))).toBe('invalid_key');
  });
});
