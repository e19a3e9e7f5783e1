/** The contact fields Engage defines: preferences, standard, computed and reserved attribute names. */

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
export const IMMUTABLE_ATTRIBUTES: readonly string[] = ['createdInStore'];

/** [design] Engage creates contacts as members unless told otherwise. */
export const DEFAULT_CONTACT_TYPE = 'Member';
