/**
 * Payload types per Engage event.
 *
 * Three shapes are documented by Voyado (loyalty.addPoints, point.balance.updated,
 * reward.voucher.created) and keep their documented casing, including the PascalCase voucher
 * fields. The other eight are not documented anywhere public; their shapes follow the proposal
 * in reference/engage.md §1.4 (field names from the Engage REST models) and may change: they are
 * a Herald design decision, kept thin (the contact id and what changed).
 *
 * The JSON Schemas in catalog.ts describe the same shapes; a type-level test keeps the two equal.
 */
import type { EngageEventType } from './events.js';

/** ISO-8601 date-time with offset, e.g. `2024-12-31T23:59:59.999+01:00` (.NET DateTimeOffset). */
export type DateTimeOffset = string;

/** contact.acceptsEmail|acceptsSms|acceptsPostal.changed: the new preference value. [inferred] */
export interface ContactPreferenceChangedPayload {
  contactId: string;
  value: boolean;
}

/**
 * contact.consent.changed, fields per the REST consent model (IApiConsent). One event per consent
 * whose value changed; `value` is the new value (a consent is never "not set" again once set). [inferred]
 */
export interface ContactConsentChangedPayload {
  contactId: string;
  /** The consent-typed attribute's id (its alias), e.g. `memberConsent`. */
  consentId: string;
  value: boolean;
  /** When the consent was given or withdrawn. */
  date: DateTimeOffset;
  /** Where it was given, e.g. `ECOM`, `POS`, `ContactForm`; null when the producer did not say. */
  source: string | null;
  comment: string | null;
}

/** loyalty.addPoints (documented; point-follower setups only). */
export interface LoyaltyAddPointsPayload {
  amount: number;
  contactId: string;
  pointDefinitionId: number;
  source: string;
  description: string;
  userId: string;
  userName: string;
  reason: string;
  sourceId: string;
}

/** point.balance.updated (documented). */
export interface PointBalanceUpdatedPayload {
  balance: number;
  contactId: string;
  accountId: number;
  /** Documented as String, seen as a number from real tenants: accept both. */
  definitionId: number | string;
  balanceExpires: DateTimeOffset | null;
}

/** reward.voucher.created (documented, PascalCase as Engage sends it). */
export interface RewardVoucherCreatedPayload {
  Amount: number;
  ContactId: string;
  /** ISO 4217 code. */
  Currency: string;
  Id: string;
  UniqueCode: string;
  ValidFrom: DateTimeOffset;
  ValidTo: DateTimeOffset;
}

/** promotion.multichannel.assigned. `id` is the per-contact instance, `promotionId` the template. [inferred] */
export interface PromotionMultichannelAssignedPayload {
  contactId: string;
  id: string;
  promotionId: string;
  externalId: string | null;
  validFrom: DateTimeOffset | null;
  validTo: DateTimeOffset | null;
}

/** contact.created: the new contact's id and type, nothing personal. [inferred] */
export interface ContactCreatedPayload {
  contactId: string;
  /** `Member`, `Contact` or a tenant-defined type. */
  contactType: string;
}

/**
 * contact.updated: the contact's id and type and the paths of what changed, e.g.
 * `attributes.firstName`, `preferences.acceptsEmail`, `consents.memberConsent`, `contactType`.
 * Names, not values: a receiver that needs the values fetches the contact. [inferred]
 */
export interface ContactUpdatedPayload {
  contactId: string;
  contactType: string;
  /** Sorted, never empty (an update that changes nothing sends nothing). */
  changedFields: string[];
}

/** @deprecated use ContactCreatedPayload or ContactUpdatedPayload. */
export type ContactChangedPayload = ContactCreatedPayload | ContactUpdatedPayload;

/** contact.deleted. [inferred] */
export interface ContactDeletedPayload {
  contactId: string;
}

/** Event type → payload type; the single source the typed router and envelope use. */
export interface EngagePayloadMap {
  'contact.acceptsEmail.changed': ContactPreferenceChangedPayload;
  'contact.acceptsSms.changed': ContactPreferenceChangedPayload;
  'contact.acceptsPostal.changed': ContactPreferenceChangedPayload;
  'contact.consent.changed': ContactConsentChangedPayload;
  'loyalty.addPoints': LoyaltyAddPointsPayload;
  'point.balance.updated': PointBalanceUpdatedPayload;
  'reward.voucher.created': RewardVoucherCreatedPayload;
  'promotion.multichannel.assigned': PromotionMultichannelAssignedPayload;
  'contact.created': ContactCreatedPayload;
  'contact.updated': ContactUpdatedPayload;
  'contact.deleted': ContactDeletedPayload;
}

export type EngagePayload<T extends EngageEventType = EngageEventType> = EngagePayloadMap[T];

// Compile-time guard: the payload map must cover exactly the event catalog.
type Assert<T extends true> = T;
export type _PayloadMapCoversCatalog = Assert<
  [EngageEventType] extends [keyof EngagePayloadMap] ? ([keyof EngagePayloadMap] extends [EngageEventType] ? true : false) : false
>;
