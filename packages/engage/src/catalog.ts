/**
 * The Engage event catalog as data, in the shape a Svix `EventTypeIn` takes
 * (`name`, `description`, `groupName`, `schemas: {"1": JSON Schema}`), so one loop installs it.
 *
 * Each event type's schema describes the whole webhook body, the Engage envelope
 * `{eventId, eventType, isEncrypted, payload, tenant}` (`id` is accepted in place of `eventId`), because that is what Engage posts through
 * Svix and what `send-example` delivers (`examples[0]`): a bare payload would be refused by every
 * receiver that parses the envelope. The payload's own schema sits at `properties.payload.oneOf[0]`
 * and is exported on its own as ENGAGE_PAYLOAD_SCHEMAS.
 *
 * Documented payloads (loyalty.addPoints, point.balance.updated, reward.voucher.created) keep
 * Voyado's field names, casing and order. The other eight are Herald's design (see payloads.ts).
 * Payload schemas close `additionalProperties`: Herald is the producer and sends exactly these.
 */
import type { EngageEventType } from './events.js';
import { deepFreeze } from './freeze.js';
import type { EngagePayloadMap } from './payloads.js';

/** A JSON Schema (draft-07) document. */
export type JsonSchema = { readonly [keyword: string]: unknown };

export type EngageEventGroup = 'contact' | 'loyalty' | 'point' | 'reward' | 'promotion';

/** One catalog entry: exactly the fields of a Svix `EventTypeIn` that Herald sets. */
export interface EngageEventTypeIn {
  readonly name: EngageEventType;
  readonly description: string;
  readonly groupName: EngageEventGroup;
  readonly schemas: { readonly '1': JsonSchema };
}

/** A plaintext envelope of type T, the shape of every catalog example. */
export interface PlainEngageEnvelope<T extends EngageEventType = EngageEventType> {
  eventId: string;
  eventType: T;
  isEncrypted: false;
  payload: EngagePayloadMap[T];
  tenant: string;
}

const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

const contactId = {
  type: 'string',
  description: 'The Engage contact id (a GUID).',
} as const;

const preferenceSchema = (field: 'acceptsEmail' | 'acceptsSms' | 'acceptsPostal', channel: string) =>
  ({
    type: 'object',
    description: `The contact's new ${field} preference. [Herald design: Engage does not document this payload]`,
    required: ['contactId', 'value'],
    additionalProperties: false,
    properties: {
      contactId,
      value: { type: 'boolean', description: `The new value of ${field}: whether the contact accepts ${channel}.` },
    },
  }) as const;

/** The payload schemas, one per event type (`as const`, so a type-level test can compare them with the TS types). */
export const ENGAGE_PAYLOAD_SCHEMAS = {
  'contact.acceptsEmail.changed': preferenceSchema('acceptsEmail', 'email'),
  'contact.acceptsSms.changed': preferenceSchema('acceptsSms', 'SMS'),
  'contact.acceptsPostal.changed': preferenceSchema('acceptsPostal', 'postal mail'),
  'contact.consent.changed': {
    type: 'object',
    description: 'One consent-typed field that changed, with its new value (fields per the Engage REST consent model). [Herald design]',
    required: ['contactId', 'consentId', 'value', 'date', 'source', 'comment'],
    additionalProperties: false,
    properties: {
      contactId,
      consentId: { type: 'string', description: "The consent's id (its alias), e.g. `memberConsent`." },
      value: {
        type: 'boolean',
        description: 'The new value. Once set, a consent is only ever true or false; it never reverts to "not set".',
      },
      date: { type: 'string', format: 'date-time', description: 'When the consent was given or withdrawn.' },
      source: {
        type: ['string', 'null'],
        description: 'Where it was given, e.g. `ECOM`, `POS`, `ContactForm`; null when unknown.',
      },
      comment: { type: ['string', 'null'], description: 'A free-text comment, or null.' },
    },
  },
  'loyalty.addPoints': {
    type: 'object',
    description: 'The point transaction added in Engage (documented by Voyado; point-follower setups).',
    required: ['amount', 'contactId', 'pointDefinitionId', 'source', 'description', 'userId', 'userName', 'reason', 'sourceId'],
    additionalProperties: false,
    properties: {
      amount: { type: 'number', description: 'The points added (a decimal).' },
      contactId,
      pointDefinitionId: { type: 'integer', description: 'The point definition (points type) the points belong to.' },
      source: { type: 'string', description: 'Where the points came from, e.g. `Manual` or `Automation`.' },
      description: { type: 'string', description: 'The transaction description.' },
      userId: { type: 'string', description: 'The Engage user who added the points.' },
      userName: { type: 'string', description: "That user's name." },
      reason: { type: 'string', description: 'Why the points were added.' },
      sourceId: { type: 'string', description: 'The id of the source (e.g. the automation or case).' },
    },
  },
  'point.balance.updated': {
    type: 'object',
    description: "The contact's new point balance on one point account (documented by Voyado).",
    required: ['balance', 'contactId', 'accountId', 'definitionId', 'balanceExpires'],
    additionalProperties: false,
    properties: {
      balance: { type: 'number', description: 'The new balance (a decimal, up to 4 places).' },
      contactId,
      accountId: { type: 'integer', description: 'The point account id.' },
      definitionId: {
        type: ['integer', 'string'],
        description: "The point definition id. Voyado's page types it String; real tenants and Herald send a number. Receivers accept both.",
      },
      balanceExpires: {
        type: ['string', 'null'],
        format: 'date-time',
        description: 'When the balance expires, or null.',
      },
    },
  },
  'reward.voucher.created': {
    type: 'object',
    description: 'The reward voucher created for the contact (documented by Voyado; PascalCase as Engage sends it).',
    required: ['Amount', 'ContactId', 'Currency', 'Id', 'UniqueCode', 'ValidFrom', 'ValidTo'],
    additionalProperties: false,
    properties: {
      Amount: { type: 'number', description: "The voucher's value (a decimal)." },
      ContactId: { type: 'string', description: 'The Engage contact id (a GUID).' },
      Currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code, e.g. `SEK`.' },
      Id: { type: 'string', description: 'The voucher id (a GUID).' },
      UniqueCode: { type: 'string', description: 'The code the contact redeems, e.g. the voucher number.' },
      ValidFrom: { type: 'string', format: 'date-time', description: 'When the voucher becomes valid.' },
      ValidTo: { type: 'string', format: 'date-time', description: 'When the voucher expires.' },
    },
  },
  'promotion.multichannel.assigned': {
    type: 'object',
    description: 'A multichannel promotion assigned to the contact. [Herald design: field names from the REST promotion model]',
    required: ['contactId', 'id', 'promotionId', 'externalId', 'validFrom', 'validTo'],
    additionalProperties: false,
    properties: {
      contactId,
      id: { type: 'string', description: "The contact's promotion instance (a GUID); redeem with this id." },
      promotionId: { type: 'string', description: 'The promotion (template) id.' },
      externalId: { type: ['string', 'null'], description: 'The promotion external id, or null.' },
      validFrom: { type: ['string', 'null'], format: 'date-time', description: 'Start of validity, or null.' },
      validTo: { type: ['string', 'null'], format: 'date-time', description: 'End of validity, or null.' },
    },
  },
  'contact.created': {
    type: 'object',
    description: 'The new contact. [Herald design: thin, no personal data]',
    required: ['contactId', 'contactType'],
    additionalProperties: false,
    properties: {
      contactId,
      contactType: { type: 'string', description: '`Member`, `Contact` or a tenant-defined contact type.' },
    },
  },
  'contact.updated': {
    type: 'object',
    description: 'Which fields of the contact changed. [Herald design: names, not values]',
    required: ['contactId', 'contactType', 'changedFields'],
    additionalProperties: false,
    properties: {
      contactId,
      contactType: { type: 'string', description: '`Member`, `Contact` or a tenant-defined contact type.' },
      changedFields: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { type: 'string' },
        description: 'Sorted paths of what changed: `contactType`, `attributes.<name>`, `preferences.<name>`, `consents.<id>`.',
      },
    },
  },
  'contact.deleted': {
    type: 'object',
    description: 'The deleted contact. [Herald design]',
    required: ['contactId'],
    additionalProperties: false,
    properties: { contactId },
  },
} as const satisfies { readonly [T in EngageEventType]: JsonSchema };

export type EngagePayloadSchemas = typeof ENGAGE_PAYLOAD_SCHEMAS;

const CONTACT = 'cbe3f42c-c1d0-4721-b8ce-ab35001ce051';

/** The examples, typed against the payload types (so `tsc` checks them); `examples[0]` of each schema. */
const EXAMPLES: { readonly [T in EngageEventType]: PlainEngageEnvelope<T> } = {
  'contact.acceptsEmail.changed': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a01',
    eventType: 'contact.acceptsEmail.changed',
    isEncrypted: false,
    payload: { contactId: CONTACT, value: false },
    tenant: 'acme',
  },
  'contact.acceptsSms.changed': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a02',
    eventType: 'contact.acceptsSms.changed',
    isEncrypted: false,
    payload: { contactId: CONTACT, value: true },
    tenant: 'acme',
  },
  'contact.acceptsPostal.changed': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a03',
    eventType: 'contact.acceptsPostal.changed',
    isEncrypted: false,
    payload: { contactId: CONTACT, value: true },
    tenant: 'acme',
  },
  'contact.consent.changed': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a04',
    eventType: 'contact.consent.changed',
    isEncrypted: false,
    payload: {
      contactId: CONTACT,
      consentId: 'memberConsent',
      value: true,
      date: '2024-05-16T12:20:03+02:00',
      source: 'ECOM',
      comment: null,
    },
    tenant: 'acme',
  },
  'loyalty.addPoints': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a05',
    eventType: 'loyalty.addPoints',
    isEncrypted: false,
    payload: {
      amount: 100,
      contactId: CONTACT,
      pointDefinitionId: 1,
      source: 'Manual',
      description: 'Goodwill',
      userId: 'u-17',
      userName: 'Anna Andersson',
      reason: 'Late delivery',
      sourceId: 'case-4711',
    },
    tenant: 'acme',
  },
  'point.balance.updated': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a06',
    eventType: 'point.balance.updated',
    isEncrypted: false,
    payload: {
      balance: 2500.75,
      contactId: CONTACT,
      accountId: 999,
      definitionId: 1,
      balanceExpires: '2024-12-31T23:59:59.999+01:00',
    },
    tenant: 'acme',
  },
  'reward.voucher.created': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a07',
    eventType: 'reward.voucher.created',
    isEncrypted: false,
    payload: {
      Amount: 195,
      ContactId: CONTACT,
      Currency: 'SEK',
      Id: 'af61c5c8-7ff8-4a34-9b67-c75300738cd3',
      UniqueCode: '2511233093766',
      ValidFrom: '2024-04-12T07:00:00+02:00',
      ValidTo: '2024-10-12T23:59:59+02:00',
    },
    tenant: 'acme',
  },
  'promotion.multichannel.assigned': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a08',
    eventType: 'promotion.multichannel.assigned',
    isEncrypted: false,
    payload: {
      contactId: CONTACT,
      id: 'bb247ef7-3c1e-4d7a-9f21-b14d00a1c0de',
      promotionId: '1a50b7aa-8e2f-4b6c-a0d3-b14c00f2e8a1',
      externalId: 'SO-14034',
      validFrom: '2024-06-01T00:00:00+02:00',
      validTo: '2024-06-30T23:59:59+02:00',
    },
    tenant: 'acme',
  },
  'contact.created': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a09',
    eventType: 'contact.created',
    isEncrypted: false,
    payload: { contactId: CONTACT, contactType: 'Member' },
    tenant: 'acme',
  },
  'contact.updated': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a0a',
    eventType: 'contact.updated',
    isEncrypted: false,
    payload: { contactId: CONTACT, contactType: 'Member', changedFields: ['attributes.city', 'preferences.acceptsSms'] },
    tenant: 'acme',
  },
  'contact.deleted': {
    eventId: '0f3c2a6e-5b1d-4c8e-9a7f-2d4e6b8c1a0b',
    eventType: 'contact.deleted',
    isEncrypted: false,
    payload: { contactId: CONTACT },
    tenant: 'acme',
  },
};

const DESCRIPTIONS: { readonly [T in EngageEventType]: string } = {
  'contact.acceptsEmail.changed': "A contact's acceptsEmail preference changed. Only for existing contacts: creating a contact never fires it.",
  'contact.acceptsSms.changed': "A contact's acceptsSms preference changed. Only for existing contacts: creating a contact never fires it.",
  'contact.acceptsPostal.changed': "A contact's acceptsPostal preference changed. Only for existing contacts: creating a contact never fires it.",
  'contact.consent.changed': 'A consent-typed field on an existing contact changed; one event per consent. A consent never reverts to "not set".',
  'loyalty.addPoints': 'Points were added to a contact in the Engage UI or by an automation; the transaction is sent (point-follower setups).',
  'point.balance.updated': "A contact's point balance changed.",
  'reward.voucher.created': 'A reward voucher was created for a contact.',
  'promotion.multichannel.assigned': 'A multichannel promotion was assigned to a contact.',
  'contact.created': 'A new contact was created in Engage.',
  'contact.updated': 'An existing contact was updated in Engage (any field, preference or consent).',
  'contact.deleted': 'A contact was deleted from Engage.',
};

/** The ciphertext form of the payload, for tenants with an encryption key. */
const CIPHERTEXT_SCHEMA = {
  type: 'string',
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'When isEncrypted is true: base64url(IV[16] ‖ AES-256-CBC(JSON of the payload object)).',
} as const;

function envelopeSchema<T extends EngageEventType>(name: T): JsonSchema {
  return {
    $schema: DRAFT_07,
    title: name,
    description: DESCRIPTIONS[name],
    type: 'object',
    // The event id is `eventId`, as Herald sends it and live Engage tenants do; two of Voyado's own
    // examples (loyalty.addPoints, point.balance.updated) call it `id`, so either is valid here
    // and receivers built from those examples keep working.
    required: ['eventType', 'isEncrypted', 'payload', 'tenant'],
    anyOf: [
      { required: ['eventId'], properties: { eventId: { type: 'string' } } },
      { required: ['id'], properties: { id: { type: 'string' } } },
    ],
    additionalProperties: false,
    properties: {
      eventId: { type: 'string', description: 'The event id (a GUID), the same on every delivery attempt.' },
      id: { type: 'string', description: "The event id under the name two of Voyado's examples use; Herald sends eventId." },
      eventType: { type: 'string', const: name, description: 'The event type.' },
      isEncrypted: {
        type: 'boolean',
        description: "Whether payload is encrypted with the tenant's key (then it is a base64url string).",
      },
      payload: {
        description: 'The event data: the object below, or its ciphertext when isEncrypted is true.',
        oneOf: [ENGAGE_PAYLOAD_SCHEMAS[name], CIPHERTEXT_SCHEMA],
      },
      tenant: { type: 'string', description: 'The Engage tenant (in Herald, the application uid).' },
    },
    if: { required: ['isEncrypted'], properties: { isEncrypted: { const: true } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, never awaited
    then: { properties: { payload: { type: 'string' } } },
    else: { properties: { payload: { type: 'object' } } },
    examples: [EXAMPLES[name]],
  };
}

function groupOf(name: EngageEventType): EngageEventGroup {
  return name.slice(0, name.indexOf('.')) as EngageEventGroup;
}

const ORDER: readonly EngageEventType[] = [
  'contact.created',
  'contact.updated',
  'contact.deleted',
  'contact.acceptsEmail.changed',
  'contact.acceptsSms.changed',
  'contact.acceptsPostal.changed',
  'contact.consent.changed',
  'loyalty.addPoints',
  'point.balance.updated',
  'reward.voucher.created',
  'promotion.multichannel.assigned',
];

/**
 * The 11 Engage event types as Svix `EventTypeIn` bodies. Deeply frozen: copy before changing.
 * Installing is idempotent if each entry is written with PUT-or-create semantics by name.
 */
export const ENGAGE_CATALOG: readonly EngageEventTypeIn[] = deepFreeze(
  ORDER.map((name) => ({
    name,
    description: DESCRIPTIONS[name],
    groupName: groupOf(name),
    schemas: { '1': envelopeSchema(name) },
  })),
);

/** The catalog example for T (`schemas["1"].examples[0]`), as a fresh copy the caller may change. */
export function engageExample<T extends EngageEventType>(eventType: T): PlainEngageEnvelope<T> {
  return structuredClone(EXAMPLES[eventType]) as PlainEngageEnvelope<T>;
}

deepFreeze(ENGAGE_PAYLOAD_SCHEMAS);
deepFreeze(EXAMPLES);
