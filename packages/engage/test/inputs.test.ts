// The input schemas and the detectors' own checks agree: a body the schema accepts passes the
// detector's field checks, and the schema refuses what the detector refuses for its shape.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  detectBalanceChange,
  detectContactUpsert,
  detectPointTransaction,
  detectPromotionAssignment,
  detectVoucherCreated,
  ENGAGE_INPUT_SCHEMAS,
  EngageInputError,
  type EngageInputKind,
} from '../src/index.js';
import { ajv } from './schemas.js';

const validators = Object.fromEntries(Object.entries(ENGAGE_INPUT_SCHEMAS).map(([kind, schema]) => [kind, ajv.compile(schema)])) as Record<
  EngageInputKind,
  ValidateFunction
>;

const detectors: Record<EngageInputKind, (input: never) => unknown> = {
  contact: (input) => detectContactUpsert(undefined, input, { now: 0 }),
  balance: (input) => detectBalanceChange(undefined, input),
  pointTransaction: (input) => detectPointTransaction(input),
  voucher: (input) => detectVoucherCreated(undefined, input),
  promotionAssignment: (input) => detectPromotionAssignment(undefined, input),
};

const valid: Record<EngageInputKind, Record<string, unknown>> = {
  contact: {
    contactId: 'c-1',
    contactType: 'Member',
    attributes: { firstName: 'Anna', shoeSize: 42, vip: true, city: null },
    preferences: { acceptsEmail: true, acceptsSms: null },
    consents: [{ id: 'memberConsent', value: true, date: '2024-05-16T12:20:03+02:00', source: 'ECOM', comment: null }],
  },
  balance: { contactId: 'c-1', accountId: 1, definitionId: 1, balance: 10.5, balanceExpires: '2024-12-31T23:59:59.999+01:00' },
  pointTransaction: {
    amount: 100,
    contactId: 'c-1',
    pointDefinitionId: 1,
    source: 'Manual',
    description: 'Goodwill',
    userId: 'u-17',
    userName: 'Anna Andersson',
    reason: 'Late delivery',
    sourceId: 'case-4711',
  },
  voucher: {
    id: 'v-1',
    contactId: 'c-1',
    amount: 195,
    currency: 'SEK',
    uniqueCode: '2511233093766',
    validFrom: '2024-04-12T07:00:00+02:00',
    validTo: '2024-10-12T23:59:59+02:00',
  },
  promotionAssignment: {
    id: 'i-1',
    contactId: 'c-1',
    promotionId: 'p-1',
    externalId: 'SO-14034',
    validFrom: '2024-06-01T00:00:00+02:00',
    validTo: '2024-06-30T23:59:59+02:00',
  },
};

const kinds = Object.keys(valid) as EngageInputKind[];

/** ajv's error location in the detectors' notation: `consents[1].value`, `attributes.age`. */
function fieldOf(error: ErrorObject): string {
  const parts = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.propertyName !== undefined) parts.push(error.propertyName);
  else if (error.keyword === 'required') parts.push((error.params as { missingProperty: string }).missingProperty);
  return parts.reduce((path, p) => (/^\d+$/.test(p) ? `${path}[${p}]` : path ? `${path}.${p}` : p), '');
}

function detectorField(kind: EngageInputKind, input: unknown): string | undefined {
  try {
    detectors[kind](input as never);
  } catch (err) {
    if (err instanceof EngageInputError) return err.field;
    throw err;
  }
  return undefined;
}

function schemaFields(kind: EngageInputKind, input: unknown): string[] {
  const validate = validators[kind];
  return validate(input) ? [] : validate.errors!.map(fieldOf);
}

describe('ENGAGE_INPUT_SCHEMAS', () => {
  it.each(kinds)('%s: compiles in strict mode and accepts the reference input, as the detector does', (kind) => {
    expect(schemaFields(kind, valid[kind])).toEqual([]);
    expect(detectorField(kind, valid[kind])).toBeUndefined();
  });

  it('are frozen', () => {
    expect(Object.isFrozen(ENGAGE_INPUT_SCHEMAS.contact.properties.consents.items)).toBe(true);
  });

  it.each<[EngageInputKind, string, unknown, string]>([
    ['contact', 'contactId', '', 'contactId'],
    ['contact', 'contactType', 3, 'contactType'],
    ['contact', 'attributes', { age: 34 }, 'attributes.age'],
    ['contact', 'attributes', { acceptsEmail: true }, 'attributes.acceptsEmail'],
    ['contact', 'attributes', { address: { street: 'x' } }, 'attributes.address'],
    ['contact', 'preferences', { acceptsSms: 'yes' }, 'preferences.acceptsSms'],
    ['contact', 'consents', { memberConsent: true }, 'consents'],
    ['contact', 'consents', [{ id: 'a', value: true }, { value: false }], 'consents[1].id'],
    ['contact', 'consents', [{ id: 'a', value: 'true' }], 'consents[0].value'],
    ['contact', 'consents', [{ id: 'a', value: true, date: '2024-05-16' }], 'consents[0].date'],
    ['balance', 'accountId', 1.5, 'accountId'],
    ['balance', 'balance', '10', 'balance'],
    ['balance', 'balanceExpires', 'soon', 'balanceExpires'],
    ['pointTransaction', 'pointDefinitionId', '1', 'pointDefinitionId'],
    ['pointTransaction', 'reason', undefined, 'reason'],
    ['voucher', 'currency', 'sek', 'currency'],
    ['voucher', 'validFrom', '12 April 2024', 'validFrom'],
    ['voucher', 'uniqueCode', '', 'uniqueCode'],
    ['promotionAssignment', 'promotionId', undefined, 'promotionId'],
    ['promotionAssignment', 'externalId', 14034, 'externalId'],
  ])('%s with a bad %s: both refuse, naming %s', (kind, key, value, field) => {
    const input = { ...valid[kind], [key]: value };
    expect(detectorField(kind, input)).toBe(field);
    expect(schemaFields(kind, input)).toContain(field);
  });

  it('leave the rules across fields or state to the detectors', () => {
    const repeated = {
      ...valid.contact,
      consents: [
        { id: 'a', value: true },
        { id: 'a', value: false },
      ],
    };
    expect(schemaFields('contact', repeated)).toEqual([]);
    expect(detectorField('contact', repeated)).toBe('consents[1].id');
    const backwards = { ...valid.voucher, validTo: '2024-01-01T00:00:00Z' };
    expect(schemaFields('voucher', backwards)).toEqual([]);
    expect(detectorField('voucher', backwards)).toBe('validTo');
  });

  it('refuse unknown fields, which the detectors ignore', () => {
    for (const kind of kinds) {
      const input = { ...valid[kind], extra: 1 };
      expect(schemaFields(kind, input), kind).toEqual(['']);
      expect(detectorField(kind, input), kind).toBeUndefined();
    }
  });

  it('agree on 20,000 randomly broken inputs: schema-valid ⇒ the detector accepts; detector refuses ⇒ schema refuses', () => {
    const pool: unknown[] = [
      undefined,
      null,
      '',
      'x',
      'SEK',
      0,
      1,
      1.5,
      -2,
      true,
      [],
      {},
      '2024-01-01T00:00:00Z',
      '2030-01-01 00:00:00+01:00',
      [{ id: 'a', value: null }],
      { firstName: null },
      { acceptsPostal: false },
    ];
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const crossField = new Set(['validTo']); // an end before the start is the detectors' call
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const kind = kinds[Math.floor(rand() * kinds.length)];
      const input: Record<string, unknown> = { ...valid[kind] };
      const keys = Object.keys(input);
      for (let n = 1 + Math.floor(rand() * 2); n > 0; n--) {
        const key = keys[Math.floor(rand() * keys.length)];
        const value = pool[Math.floor(rand() * pool.length)];
        if (value === undefined) delete input[key];
        else input[key] = value;
      }
      const schemaOk = schemaFields(kind, input).length === 0;
      const field = detectorField(kind, input);
      const where = `${kind} ${JSON.stringify(input)}`;
      if (schemaOk) {
        accepted++;
        if (field !== undefined) expect(crossField.has(field), `${where} → ${field}`).toBe(true);
      }
      if (field !== undefined && !crossField.has(field)) expect(schemaOk, where).toBe(false);
    }
    expect(accepted).toBeGreaterThan(1_000);
  });
});
