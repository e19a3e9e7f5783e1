/**
 * The change detector: pure functions that take the last known state and a new input and return
 * exactly the events Engage would emit, plus the state to persist. No I/O, no clock (pass `now`),
 * no ids minted here (the caller supplies them), so the same inputs always give the same output.
 *
 * What Voyado documents (reference/engage.md §1.1, §4.1) and these functions enforce:
 * - a new contact fires `contact.created` and never a `*.changed`;
 * - `contact.accepts{Email,Sms,Postal}.changed` fire only for an existing contact whose value changed;
 * - `contact.consent.changed` fires per consent-typed field that changed;
 * - once set, a consent is only ever Yes or No: it never reverts to "not set";
 * - `point.balance.updated` fires when the balance changed; `loyalty.addPoints` carries the transaction.
 * Everything marked [design] below is Herald's own decision where Voyado is silent.
 */
import { EngageInputError } from './errors.js';
import type { EngageEventType } from './events.js';
import type { DateTimeOffset, EngagePayloadMap, LoyaltyAddPointsPayload } from './payloads.js';

/** One event to send: its type and its payload, built to the catalog's schema. */
export type DetectedEvent<T extends EngageEventType = EngageEventType> = T extends EngageEventType
  ? { eventType: T; payload: EngagePayloadMap[T] }
  : never;

/**
 * What a detector returns. `state` is what to persist (undefined: delete the stored state);
 * `changed` says whether it differs from the previous state (false: no write needed).
 */
export interface Detection<S> {
  events: DetectedEvent[];
  state: S;
  changed: boolean;
}

// ---------------------------------------------------------------------------------------------
// Contacts

/** The three channel preferences Engage keeps on every contact (booleans, Engage is their master). */
export const CONTACT_PREFERENCES = ['acceptsEmail', 'acceptsSms', 'acceptsPostal'] as const;
export type ContactPreference = (typeof CONTACT_PREFERENCES)[number];

/**
 * Engage's standard contact attributes (contact-field-definitions). Tenants add custom ones, so
 * `attributes` stays open; this list is for documentation, simulators and forms.
 */
export const ENGAGE_STANDARD_ATTRIBUTES = [
  'firstName',
  'lastName',
  'memberNumber',
  'socialSecurityNumber',
  'email',
  'mobilePhone',
  'externalId',
  'createdInStore',
  'store',
  'street',
  'zipCode',
  'city',
  'careOf',
  'country',
  'countryCode',
  'birthDay',
  'gender',
] as const;

/**
 * Attributes Engage computes itself (age, RFM and NPS scores). [design] They are refused as input:
 * a recomputation is not a contact update, and accepting them would fire `contact.updated` for it.
 */
export const COMPUTED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'age',
  'rfm',
  'retail.keyvalue.recency',
  'retail.keyvalue.frequency',
  'retail.keyvalue.monetary',
  'nps.grade',
  'nps.datetime',
  'nps.averagegrade',
]);

/** Names that have their own place in the state and may not hide among the attributes. [design] */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'contactId',
  'contactType',
  'preferences',
  'consents',
  ...CONTACT_PREFERENCES,
  '__proto__', // would not survive as a plain-object key
]);

/** Engage: "createdInStore cannot be updated". */
const IMMUTABLE_ATTRIBUTES: readonly string[] = ['createdInStore'];

export type AttributeValue = string | number | boolean;

/** A set consent (REST IApiConsent without the id). A consent absent from the state is "not set". */
export interface ConsentState {
  value: boolean;
  date: DateTimeOffset;
  source: string | null;
  comment: string | null;
}

/**
 * The last known state of a contact, as the server stores it (plain JSON).
 * [design] Shape after the REST contact model `{id, attributes, preferences, consents}`:
 * - `attributes`: standard and custom scalar attributes; a cleared attribute is absent;
 * - `preferences`: the three booleans, false until set;
 * - `consents`: the consent-typed fields, by consent id (alias). A key is added once and never
 *   removed, which is how "never reverts to not set" holds.
 */
export interface ContactState {
  contactId: string;
  contactType: string;
  attributes: { [name: string]: AttributeValue };
  preferences: { [P in ContactPreference]: boolean };
  consents: { [consentId: string]: ConsentState };
}

/** One consent in an upsert, as the REST API takes it. */
export interface ConsentInput {
  id: string;
  /** null (or a missing entry) leaves the consent as it is: it can't be unset. [design] */
  value: boolean | null;
  /** Defaults to `now`. */
  date?: DateTimeOffset | null;
  source?: string | null;
  comment?: string | null;
}

/**
 * A contact upsert. [design] It is a merge, like Engage's contact update: a field left out keeps
 * its value. Per part:
 * - `contactType`: left out or null keeps it; a new contact defaults to `Member` (Engage's default);
 * - `attributes`: a value sets it, null clears it, a name left out keeps it;
 * - `preferences`: true/false sets it; null or left out keeps it (a new contact starts at false);
 * - `consents`: true/false sets it; a consent left out or with `value: null` keeps its value, so
 *   a set consent never reverts to "not set" and an unset one stays unset (no error: a form or a
 *   sync that does not know a consent must not fail, nor erase it). A consent restated with the
 *   value it already has keeps its original date, source and comment and fires nothing.
 */
export interface ContactInput {
  contactId: string;
  contactType?: string | null;
  attributes?: { [name: string]: AttributeValue | null };
  preferences?: { [P in ContactPreference]?: boolean | null };
  consents?: readonly ConsentInput[];
}

/** [design] Engage creates contacts as members unless told otherwise. */
export const DEFAULT_CONTACT_TYPE = 'Member';

/**
 * Upserts a contact. New (`previous` undefined): `contact.created` only. Existing: nothing when
 * nothing changed; otherwise `contact.updated`, then one `contact.<preference>.changed` per
 * preference that changed (email, SMS, postal), then one `contact.consent.changed` per consent
 * that changed (by consent id). `options.now` (epoch ms) dates consents given without a date.
 */
export function detectContactUpsert(
  previous: ContactState | undefined,
  input: ContactInput,
  options: { now: number },
): Detection<ContactState> {
  checkContactInput(input);
  const now = isoTime(options.now);
  if (previous !== undefined && previous.contactId !== input.contactId) {
    fail('contactId', `does not match the stored contact ${previous.contactId}`);
  }
  const base: ContactState = previous ?? {
    contactId: input.contactId,
    contactType: DEFAULT_CONTACT_TYPE,
    attributes: {},
    preferences: { acceptsEmail: false, acceptsSms: false, acceptsPostal: false },
    consents: {},
  };

  const attributes: ContactState['attributes'] = { ...base.attributes };
  for (const [name, value] of Object.entries(input.attributes ?? {})) {
    if (value === null) delete attributes[name];
    else attributes[name] = value;
  }
  if (previous !== undefined) {
    for (const name of IMMUTABLE_ATTRIBUTES) {
      if (own(attributes, name) !== own(previous.attributes, name)) fail(`attributes.${name}`, 'cannot be changed once the contact exists');
    }
  }

  const preferences = { ...base.preferences };
  for (const p of CONTACT_PREFERENCES) {
    const value = input.preferences?.[p];
    if (typeof value === 'boolean') preferences[p] = value;
  }

  const consents: ContactState['consents'] = { ...base.consents };
  for (const c of input.consents ?? []) {
    if (c.value === null) continue; // never back to "not set"
    if (own(consents, c.id)?.value === c.value) continue; // same value: keep when and where it was given
    consents[c.id] = { value: c.value, date: c.date ?? now, source: c.source ?? null, comment: c.comment ?? null };
  }

  const state: ContactState = {
    contactId: input.contactId,
    contactType: input.contactType ?? base.contactType,
    attributes,
    preferences,
    consents,
  };
  const { contactId, contactType } = state;

  if (previous === undefined) {
    return { events: [{ eventType: 'contact.created', payload: { contactId, contactType } }], state, changed: true };
  }

  const changedFields: string[] = [];
  if (state.contactType !== previous.contactType) changedFields.push('contactType');
  for (const name of new Set([...Object.keys(previous.attributes), ...Object.keys(attributes)])) {
    if (own(previous.attributes, name) !== own(attributes, name)) changedFields.push(`attributes.${name}`);
  }
  const changedPreferences = CONTACT_PREFERENCES.filter((p) => previous.preferences[p] !== preferences[p]);
  for (const p of changedPreferences) changedFields.push(`preferences.${p}`);
  const changedConsents = Object.keys(consents)
    .filter((id) => own(previous.consents, id)?.value !== consents[id].value)
    .sort(byCodeUnit);
  for (const id of changedConsents) changedFields.push(`consents.${id}`);

  if (changedFields.length === 0) return { events: [], state: previous, changed: false };

  const events: DetectedEvent[] = [
    { eventType: 'contact.updated', payload: { contactId, contactType, changedFields: changedFields.sort(byCodeUnit) } },
  ];
  for (const p of changedPreferences) {
    events.push({ eventType: PREFERENCE_EVENTS[p], payload: { contactId, value: preferences[p] } });
  }
  for (const consentId of changedConsents) {
    const c = consents[consentId];
    events.push({
      eventType: 'contact.consent.changed',
      payload: { contactId, consentId, value: c.value, date: c.date, source: c.source, comment: c.comment },
    });
  }
  return { events, state, changed: true };
}

const PREFERENCE_EVENTS = {
  acceptsEmail: 'contact.acceptsEmail.changed',
  acceptsSms: 'contact.acceptsSms.changed',
  acceptsPostal: 'contact.acceptsPostal.changed',
} as const satisfies { [P in ContactPreference]: EngageEventType };

/**
 * Deletes a contact: `contact.deleted` and no state left. Deleting a contact that is not known
 * fires nothing (the caller answers 404). [design] Recreating the id later is a new contact.
 */
export function detectContactDelete(previous: ContactState | undefined): Detection<undefined> {
  if (previous === undefined) return { events: [], state: undefined, changed: false };
  return {
    events: [{ eventType: 'contact.deleted', payload: { contactId: previous.contactId } }],
    state: undefined,
    changed: true,
  };
}

// ---------------------------------------------------------------------------------------------
// Points

/** One point account (one per contact and point definition), as stored. */
export interface PointAccountState {
  contactId: string;
  accountId: number;
  /** [design] Sent as a number, as real tenants do (Voyado's page says String). */
  definitionId: number;
  /** Rounded to 4 decimals, Engage's decimal precision. */
  balance: number;
  balanceExpires: DateTimeOffset | null;
}

/** A balance change (e.g. from a point master). `balanceExpires` left out keeps the stored one. */
export interface PointBalanceInput {
  contactId: string;
  accountId: number;
  definitionId: number;
  balance: number;
  balanceExpires?: DateTimeOffset | null;
}

/**
 * Sets a point account's balance. `point.balance.updated` fires only when the balance moved
 * (compared at 4 decimals, so float noise is not a move). [design] An account not seen before
 * starts from 0, as Engage's accounts do: its first balance fires unless it is 0. A change of
 * `balanceExpires` alone is stored but fires nothing (the event is about the balance).
 */
export function detectBalanceChange(
  previous: PointAccountState | undefined,
  input: PointBalanceInput,
): Detection<PointAccountState> {
  checkBalanceInput(input);
  if (previous !== undefined) {
    for (const field of ['contactId', 'accountId', 'definitionId'] as const) {
      if (previous[field] !== input[field]) fail(field, `does not match the stored point account (${previous[field]})`);
    }
  }
  const state: PointAccountState = {
    contactId: input.contactId,
    accountId: input.accountId,
    definitionId: input.definitionId,
    balance: round4(input.balance),
    balanceExpires: input.balanceExpires === undefined ? (previous?.balanceExpires ?? null) : input.balanceExpires,
  };
  const moved = state.balance !== (previous?.balance ?? 0);
  const changed = previous === undefined || moved || state.balanceExpires !== previous.balanceExpires;
  const events: DetectedEvent[] = moved
    ? [
        {
          eventType: 'point.balance.updated',
          // Voyado's documented field order.
          payload: {
            balance: state.balance,
            contactId: state.contactId,
            accountId: state.accountId,
            definitionId: state.definitionId,
            balanceExpires: state.balanceExpires,
          },
        },
      ]
    : [];
  return { events, state: changed ? state : previous!, changed };
}

/** A point transaction added in Engage (the UI or an automation): the documented payload's fields. */
export type PointTransactionInput = LoyaltyAddPointsPayload;

/**
 * A point transaction fires `loyalty.addPoints` carrying it, in Voyado's field order.
 * [design] It keeps no state and does not move the stored balance: Voyado sends this event only
 * in point-follower setups, where the point master owns the balance and reports it back
 * (`detectBalanceChange`). A transaction of 0 points changes nothing and fires nothing. Negative
 * amounts pass through (the documented `amount` is a signed decimal).
 */
export function detectPointTransaction(input: PointTransactionInput): { events: DetectedEvent[] } {
  checkTransactionInput(input);
  const amount = round4(input.amount);
  if (amount === 0) return { events: [] };
  return {
    events: [
      {
        eventType: 'loyalty.addPoints',
        payload: {
          amount,
          contactId: input.contactId,
          pointDefinitionId: input.pointDefinitionId,
          source: input.source,
          description: input.description,
          userId: input.userId,
          userName: input.userName,
          reason: input.reason,
          sourceId: input.sourceId,
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Vouchers and promotions

/** A reward voucher, camelCase like the rest of Herald's input; the event payload is PascalCase. */
export interface RewardVoucherInput {
  id: string;
  contactId: string;
  amount: number;
  /** ISO 4217, e.g. `SEK`. */
  currency: string;
  uniqueCode: string;
  validFrom: DateTimeOffset;
  validTo: DateTimeOffset;
}

export type RewardVoucherState = RewardVoucherInput;

/**
 * Creates a reward voucher: `reward.voucher.created` with Voyado's PascalCase payload.
 * `previous` is the stored voucher with the same id. [design] Vouchers are created once (Engage
 * has no voucher-updated event): the same voucher again is a no-op, the same id with other content
 * is a `conflict`.
 */
export function detectVoucherCreated(
  previous: RewardVoucherState | undefined,
  input: RewardVoucherInput,
): Detection<RewardVoucherState> {
  checkVoucherInput(input);
  const state: RewardVoucherState = {
    id: input.id,
    contactId: input.contactId,
    amount: round4(input.amount),
    currency: input.currency,
    uniqueCode: input.uniqueCode,
    validFrom: input.validFrom,
    validTo: input.validTo,
  };
  if (previous !== undefined) {
    if (previous.id !== state.id) fail('id', `does not match the stored voucher ${previous.id}`);
    const differs = (Object.keys(state) as (keyof RewardVoucherState)[]).find((k) => previous[k] !== state[k]);
    if (differs !== undefined) {
      throw new EngageInputError('conflict', differs, `reward voucher ${state.id} already exists with another ${differs}`);
    }
    return { events: [], state: previous, changed: false };
  }
  return {
    events: [
      {
        eventType: 'reward.voucher.created',
        payload: {
          Amount: state.amount,
          ContactId: state.contactId,
          Currency: state.currency,
          Id: state.id,
          UniqueCode: state.uniqueCode,
          ValidFrom: state.validFrom,
          ValidTo: state.validTo,
        },
      },
    ],
    state,
    changed: true,
  };
}

/** A multichannel promotion assigned to a contact; `id` is the new per-contact instance's id. */
export interface PromotionAssignmentInput {
  id: string;
  contactId: string;
  promotionId: string;
  externalId?: string | null;
  validFrom?: DateTimeOffset | null;
  validTo?: DateTimeOffset | null;
}

export interface PromotionAssignmentState {
  id: string;
  contactId: string;
  promotionId: string;
  externalId: string | null;
  validFrom: DateTimeOffset | null;
  validTo: DateTimeOffset | null;
}

/**
 * Assigns a promotion: `promotion.multichannel.assigned`. `previous` is the contact's stored
 * assignment of the same promotion. [design] A contact holds a promotion once: assigning it again
 * fires nothing and keeps the first instance (its id stays the one to redeem).
 */
export function detectPromotionAssignment(
  previous: PromotionAssignmentState | undefined,
  input: PromotionAssignmentInput,
): Detection<PromotionAssignmentState> {
  checkPromotionInput(input);
  if (previous !== undefined) {
    for (const field of ['contactId', 'promotionId'] as const) {
      if (previous[field] !== input[field]) fail(field, `does not match the stored assignment (${previous[field]})`);
    }
    return { events: [], state: previous, changed: false };
  }
  const state: PromotionAssignmentState = {
    id: input.id,
    contactId: input.contactId,
    promotionId: input.promotionId,
    externalId: input.externalId ?? null,
    validFrom: input.validFrom ?? null,
    validTo: input.validTo ?? null,
  };
  return {
    events: [
      {
        eventType: 'promotion.multichannel.assigned',
        payload: {
          contactId: state.contactId,
          id: state.id,
          promotionId: state.promotionId,
          externalId: state.externalId,
          validFrom: state.validFrom,
          validTo: state.validTo,
        },
      },
    ],
    state,
    changed: true,
  };
}

// ---------------------------------------------------------------------------------------------
// Input checks. The server may validate bodies first; these keep the rules true for any caller.

function fail(field: string, message: string): never {
  throw new EngageInputError('invalid_input', field, `${field} ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only: an attribute called `constructor` must not read Object.prototype's. */
function own<V>(record: { [key: string]: V }, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function round4(n: number): number {
  const r = Math.round(n * 10_000) / 10_000;
  return r === 0 ? 0 : r; // no -0
}

// RFC 3339 date-time, the JSON Schema `date-time` format: seconds and an offset are required
// (RFC 3339 allows a space for the T, and so does ajv-formats).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function isoTime(now: number): string {
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

function checkContactInput(input: unknown): asserts input is ContactInput {
  checkRecord(input, 'contact');
  checkString(input, 'contactId');
  checkString(input, 'contactType', 'contactType', { nullable: true, optional: true });
  if (input.attributes !== undefined) {
    checkRecord(input.attributes, 'attributes');
    for (const [name, value] of Object.entries(input.attributes)) {
      const field = `attributes.${name}`;
      if (RESERVED_ATTRIBUTES.has(name)) fail(field, 'is not an attribute: it has its own field');
      if (COMPUTED_ATTRIBUTES.has(name)) fail(field, 'is computed by Engage and cannot be set');
      const ok =
        value === null ||
        typeof value === 'string' ||
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value));
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

function checkBalanceInput(input: unknown): asserts input is PointBalanceInput {
  checkRecord(input, 'balance');
  checkString(input, 'contactId');
  checkNumber(input, 'accountId', true);
  checkNumber(input, 'definitionId', true);
  checkNumber(input, 'balance');
  checkDateTime(input, 'balanceExpires', 'balanceExpires', { nullable: true, optional: true });
}

function checkTransactionInput(input: unknown): asserts input is PointTransactionInput {
  checkRecord(input, 'transaction');
  checkNumber(input, 'amount');
  checkString(input, 'contactId');
  checkNumber(input, 'pointDefinitionId', true);
  // Documented as strings; an automation may have no user, so empty strings are allowed here.
  for (const key of ['source', 'description', 'userId', 'userName', 'reason', 'sourceId']) {
    if (typeof input[key] !== 'string') fail(key, 'must be a string');
  }
}

function checkVoucherInput(input: unknown): asserts input is RewardVoucherInput {
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

function checkPromotionInput(input: unknown): asserts input is PromotionAssignmentInput {
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
