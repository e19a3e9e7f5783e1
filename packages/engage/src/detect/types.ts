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

/** The change detector's inputs, stored states and results (types only). */
import type { EngageEventType } from '../events.js';
import type { DateTimeOffset, EngagePayloadMap, LoyaltyAddPointsPayload } from '../payloads.js';
import type { ContactPreference } from './fields.js';

export type { ContactPreference };

/** One event to send: its type and its payload, built to the catalog's schema. */
export type DetectedEvent<T extends EngageEventType = EngageEventType> = T extends EngageEventType ? { eventType: T; payload: EngagePayloadMap[T] } : never;

/**
 * What a detector returns. `state` is what to persist (undefined: delete the stored state);
 * `changed` says whether it differs from the previous state (false: no write needed).
 */
export interface Detection<S> {
  events: DetectedEvent[];
  state: S;
  changed: boolean;
}

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
  date?: DateTimeOffset | null | undefined;
  source?: string | null | undefined;
  comment?: string | null | undefined;
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
  contactType?: string | null | undefined;
  attributes?: { [name: string]: AttributeValue | null } | undefined;
  preferences?: { [P in ContactPreference]?: boolean | null | undefined } | undefined;
  consents?: readonly ConsentInput[] | undefined;
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
  /**
   * The point definition id. [design] Voyado's page types it String, its REST API and real
   * tenants use a number: a whole number or a string of digits is taken, and the event carries the
   * number.
   */
  definitionId: number | string;
  balance: number;
  balanceExpires?: DateTimeOffset | null | undefined;
}

/** A point transaction added in Engage (the UI or an automation): the documented payload's fields. */
export type PointTransactionInput = LoyaltyAddPointsPayload;

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

/** A multichannel promotion assigned to a contact; `id` is the new per-contact instance's id. */
export interface PromotionAssignmentInput {
  id: string;
  contactId: string;
  promotionId: string;
  externalId?: string | null | undefined;
  validFrom?: DateTimeOffset | null | undefined;
  validTo?: DateTimeOffset | null | undefined;
}

export interface PromotionAssignmentState {
  id: string;
  contactId: string;
  promotionId: string;
  externalId: string | null;
  validFrom: DateTimeOffset | null;
  validTo: DateTimeOffset | null;
}
