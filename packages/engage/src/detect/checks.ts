/**
 * Input checks and small helpers of the change detector. The server may validate bodies first;
 * these keep the rules true for any caller.
 */
import { EngageInputError } from '../errors.js';
import { COMPUTED_ATTRIBUTES, CONTACT_PREFERENCES, RESERVED_ATTRIBUTES } from './fields.js';
import type { ContactInput, PointBalanceInput, PointTransactionInput, PromotionAssignmentInput, RewardVoucherInput } from './types.js';

export function fail(field: string, message: string): never {
  throw new EngageInputError('invalid_input', field, `${field} ${message}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only: an attribute called `constructor` must not read Object.prototype's. */
export function own<V>(record: { [key: string]: V }, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function round4(n: number): number {
  const r = Math.round(n * 10_000) / 10_000;
  return r === 0 ? 0 : r; // no -0
}

// RFC 3339 date-time, the JSON Schema `date-time` format: seconds and an offset are required
// (RFC 3339 allows a space for the T, and so does ajv-formats).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * A date-time in the form Engage sends (.NET DateTimeOffset as ISO 8601): `T` between date and
 * time and an upper-case `Z`. [design] RFC 3339 also allows a space and lower case, which the
 * checks accept; the events never carry them, so receivers see one form. Fraction and offset are
 * kept as given (Engage sends local offsets).
 */
export function normaliseDateTime(value: string): string;
export function normaliseDateTime(value: string | null): string | null;
export function normaliseDateTime(value: string | null): string | null {
  if (value === null) return null;
  return `${value.slice(0, 10)}T${value.slice(11)}`.toUpperCase();
}

/** A definition id as given (a whole number or a string of digits), as the number events carry. */
export function definitionIdOf(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}

export function isoTime(now: number): string {
  if (!Number.isFinite(now)) throw new RangeError('options.now must be a time in epoch milliseconds');
  return new Date(now).toISOString();
}

function checkRecord(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (!isRecord(value)) fail(field, 'must be an object');
}

function checkString(record: Record<string, unknown>, key: string, field = key, opts: { nullable?: boolean; optional?: boolean } = {}): void {
  const v = record[key];
  if (v === undefined && opts.optional) return;
  if (v === null && opts.nullable) return;
  if (typeof v !== 'string' || v === '') fail(field, `must be a non-empty string${opts.nullable ? ' or null' : ''}`);
}

function checkDateTime(record: Record<string, unknown>, key: string, field = key, opts: { nullable?: boolean; optional?: boolean } = {}): void {
  const v = record[key];
  if (v === undefined && opts.optional) return;
  if (v === null && opts.nullable) return;
  if (typeof v !== 'string' || !DATE_TIME.test(v) || Number.isNaN(Date.parse(v))) {
    fail(field, `must be an ISO 8601 date-time with an offset, e.g. 2024-12-31T23:59:59+01:00${opts.nullable ? ', or null' : ''}`);
  }
}

function checkNumber(record: Record<string, unknown>, key: string, integer = false): void {
  const v = record[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v))) {
    fail(key, integer ? 'must be an integer' : 'must be a finite number');
  }
}

export function checkContactInput(input: unknown): asserts input is ContactInput {
  checkRecord(input, 'contact');
  checkString(input, 'contactId');
  checkString(input, 'contactType', 'contactType', { nullable: true, optional: true });
  if (input.attributes !== undefined) {
    checkRecord(input.attributes, 'attributes');
    for (const [name, value] of Object.entries(input.attributes)) {
      const field = `attributes.${name}`;
      if (RESERVED_ATTRIBUTES.has(name)) fail(field, 'is not an attribute: it has its own field');
      if (COMPUTED_ATTRIBUTES.has(name)) fail(field, 'is computed by Engage and cannot be set');
      const ok = value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
      if (!ok) fail(field, 'must be a string, a finite number, a boolean or null');
    }
  }
  if (input.preferences !== undefined) {
    checkRecord(input.preferences, 'preferences');
    for (const [name, value] of Object.entries(input.preferences)) {
      if (!(CONTACT_PREFERENCES as readonly string[]).includes(name)) {
        fail(`preferences.${name}`, `is not a preference (${CONTACT_PREFERENCES.join(', ')})`);
      }
      if (value !== null && value !== undefined && typeof value !== 'boolean') fail(`preferences.${name}`, 'must be a boolean or null');
    }
  }
  if (input.consents !== undefined) {
    if (!Array.isArray(input.consents)) fail('consents', 'must be an array of {id, value, date?, source?, comment?}');
    const seen = new Set<string>();
    for (const [i, c] of (input.consents as unknown[]).entries()) {
      const at = `consents[${i}]`;
      checkRecord(c, at);
      checkString(c, 'id', `${at}.id`);
      if (c.id === '__proto__') fail(`${at}.id`, 'is not a usable consent id');
      if (seen.has(c.id as string)) fail(`${at}.id`, `repeats consent ${String(c.id)}`);
      seen.add(c.id as string);
      if (c.value !== null && typeof c.value !== 'boolean') fail(`${at}.value`, 'must be true, false or null');
      checkDateTime(c, 'date', `${at}.date`, { nullable: true, optional: true });
      for (const key of ['source', 'comment']) {
        if (c[key] !== undefined && c[key] !== null && typeof c[key] !== 'string') fail(`${at}.${key}`, 'must be a string or null');
      }
    }
  }
}

export function checkBalanceInput(input: unknown): asserts input is PointBalanceInput {
  checkRecord(input, 'balance');
  checkString(input, 'contactId');
  checkNumber(input, 'accountId', true);
  const def = input.definitionId;
  const digits = typeof def === 'string' && /^\d{1,15}$/.test(def);
  if (!digits && !(typeof def === 'number' && Number.isSafeInteger(def))) fail('definitionId', 'must be a whole number, or a string of digits');
  checkNumber(input, 'balance');
  checkDateTime(input, 'balanceExpires', 'balanceExpires', { nullable: true, optional: true });
}

export function checkTransactionInput(input: unknown): asserts input is PointTransactionInput {
  checkRecord(input, 'transaction');
  checkNumber(input, 'amount');
  // [design] loyalty.addPoints reports points added; a deduction is a balance change (detectBalanceChange).
  if ((input.amount as number) < 0) fail('amount', 'must be 0 or more: loyalty.addPoints reports points added; report a deduction as the new balance');
  checkString(input, 'contactId');
  checkNumber(input, 'pointDefinitionId', true);
  // Documented as strings; an automation may have no user, so empty strings are allowed here.
  for (const key of ['source', 'description', 'userId', 'userName', 'reason', 'sourceId']) {
    if (typeof input[key] !== 'string') fail(key, 'must be a string');
  }
}

export function checkVoucherInput(input: unknown): asserts input is RewardVoucherInput {
  checkRecord(input, 'voucher');
  checkString(input, 'id');
  checkString(input, 'contactId');
  checkNumber(input, 'amount');
  if (typeof input.currency !== 'string' || !/^[A-Z]{3}$/.test(input.currency)) fail('currency', 'must be an ISO 4217 code like SEK');
  checkString(input, 'uniqueCode');
  checkDateTime(input, 'validFrom');
  checkDateTime(input, 'validTo');
  if (Date.parse(input.validTo as string) < Date.parse(input.validFrom as string)) fail('validTo', 'is before validFrom');
}

export function checkPromotionInput(input: unknown): asserts input is PromotionAssignmentInput {
  checkRecord(input, 'assignment');
  checkString(input, 'id');
  checkString(input, 'contactId');
  checkString(input, 'promotionId');
  checkString(input, 'externalId', 'externalId', { nullable: true, optional: true });
  checkDateTime(input, 'validFrom', 'validFrom', { nullable: true, optional: true });
  checkDateTime(input, 'validTo', 'validTo', { nullable: true, optional: true });
  const { validFrom, validTo } = input;
  if (typeof validFrom === 'string' && typeof validTo === 'string' && Date.parse(validTo) < Date.parse(validFrom)) {
    fail('validTo', 'is before validFrom');
  }
}
