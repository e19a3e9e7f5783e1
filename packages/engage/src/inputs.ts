/**
 * JSON Schemas (draft-07) of the detectors' inputs, for a producer API's request bodies and its
 * OpenAPI document. They are stricter than the detectors on shape (unknown fields are refused
 * here, ignored there) and cannot express the rules that need more than one value or the stored
 * state (repeated consent ids, validTo before validFrom, createdInStore changing): the detectors
 * check those and throw EngageInputError. A body these schemas accept passes the detectors' own
 * field checks; a test holds the two to that.
 */
import { COMPUTED_ATTRIBUTES, CONTACT_PREFERENCES, RESERVED_ATTRIBUTES } from './detect/fields.js';
import { deepFreeze } from './freeze.js';

const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';
const id = (description: string) => ({ type: 'string', minLength: 1, description }) as const;
// Date-times are RFC 3339 with seconds and an offset; events carry them as Engage writes them
// (`T`, upper-case `Z`), whatever the separator and case of the input.
const dateTime = (description: string) => ({ type: 'string', format: 'date-time', description }) as const;
const nullableDateTime = (description: string) => ({ type: ['string', 'null'], format: 'date-time', description }) as const;

/** Attribute names that are refused: they have their own field, or Engage computes them. */
const NOT_ATTRIBUTES = [...RESERVED_ATTRIBUTES, ...COMPUTED_ATTRIBUTES];

/** The input schemas, by detector: contact, balance, pointTransaction, voucher, promotionAssignment. */
export const ENGAGE_INPUT_SCHEMAS = deepFreeze({
  contact: {
    $schema: DRAFT_07,
    title: 'ContactInput',
    description: 'A contact upsert, merged into the stored contact: what is left out is kept. A consent left out or null keeps its value.',
    type: 'object',
    required: ['contactId'],
    additionalProperties: false,
    properties: {
      contactId: id('The contact id (a GUID).'),
      contactType: { type: ['string', 'null'], minLength: 1, description: '`Member` (the default), `Contact` or a custom type; null keeps it.' },
      attributes: {
        type: 'object',
        description: 'Standard and custom attributes by name; null clears one. createdInStore cannot change once set.',
        propertyNames: { not: { enum: NOT_ATTRIBUTES } },
        additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
      },
      preferences: {
        type: 'object',
        description: 'The channel preferences; null or left out keeps a value.',
        additionalProperties: false,
        properties: Object.fromEntries(CONTACT_PREFERENCES.map((p) => [p, { type: ['boolean', 'null'], description: `The new ${p}.` }])),
      },
      consents: {
        type: 'array',
        description: 'Consent-typed fields, by id. Each id at most once.',
        items: {
          type: 'object',
          required: ['id', 'value'],
          additionalProperties: false,
          properties: {
            id: { ...id("The consent's id (alias), e.g. `memberConsent`."), not: { const: '__proto__' } },
            value: { type: ['boolean', 'null'], description: 'true or false; null keeps the current value (never "not set" again).' },
            date: nullableDateTime('When it was given; defaults to now.'),
            source: { type: ['string', 'null'], description: 'Where it was given, e.g. `ECOM`.' },
            comment: { type: ['string', 'null'], description: 'A free-text comment.' },
          },
        },
      },
    },
  },
  balance: {
    $schema: DRAFT_07,
    title: 'PointBalanceInput',
    description: "A point account's new balance (e.g. from the point master).",
    type: 'object',
    required: ['contactId', 'accountId', 'definitionId', 'balance'],
    additionalProperties: false,
    properties: {
      contactId: id('The contact id.'),
      accountId: { type: 'integer', description: 'The point account id.' },
      definitionId: {
        type: ['integer', 'string'],
        pattern: '^[0-9]{1,15}$',
        description: "The point definition id: a whole number, or a string of digits (Voyado's page types it String). Events carry the number.",
      },
      balance: { type: 'number', description: 'The new balance; compared at 4 decimals.' },
      balanceExpires: nullableDateTime('When the balance expires; left out keeps the stored value.'),
    },
  },
  pointTransaction: {
    $schema: DRAFT_07,
    title: 'PointTransactionInput',
    description: 'Points added in Engage (UI or automation), as loyalty.addPoints carries them.',
    type: 'object',
    required: ['amount', 'contactId', 'pointDefinitionId', 'source', 'description', 'userId', 'userName', 'reason', 'sourceId'],
    additionalProperties: false,
    properties: {
      amount: {
        type: 'number',
        minimum: 0,
        description: 'The points added, 0 or more (0 sends nothing). A deduction is reported as the new balance instead.',
      },
      contactId: id('The contact id.'),
      pointDefinitionId: { type: 'integer', description: 'The point definition id.' },
      source: { type: 'string', description: 'e.g. `Manual` or `Automation`.' },
      description: { type: 'string', description: 'The transaction description.' },
      userId: { type: 'string', description: 'The user who added the points (empty for an automation).' },
      userName: { type: 'string', description: "That user's name." },
      reason: { type: 'string', description: 'Why.' },
      sourceId: { type: 'string', description: 'The id of the source.' },
    },
  },
  voucher: {
    $schema: DRAFT_07,
    title: 'RewardVoucherInput',
    description: 'A reward voucher to create (the event payload is the PascalCase form of these fields).',
    type: 'object',
    required: ['id', 'contactId', 'amount', 'currency', 'uniqueCode', 'validFrom', 'validTo'],
    additionalProperties: false,
    properties: {
      id: id('The voucher id (a GUID).'),
      contactId: id('The contact id.'),
      amount: { type: 'number', description: "The voucher's value." },
      currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217, e.g. `SEK`.' },
      uniqueCode: id('The code the contact redeems.'),
      validFrom: dateTime('Start of validity.'),
      validTo: dateTime('End of validity, not before validFrom.'),
    },
  },
  promotionAssignment: {
    $schema: DRAFT_07,
    title: 'PromotionAssignmentInput',
    description: 'A multichannel promotion assigned to a contact.',
    type: 'object',
    required: ['id', 'contactId', 'promotionId'],
    additionalProperties: false,
    properties: {
      id: id("The new per-contact instance's id (a GUID)."),
      contactId: id('The contact id.'),
      promotionId: id('The promotion (template) id.'),
      externalId: { type: ['string', 'null'], minLength: 1, description: 'The promotion external id.' },
      validFrom: nullableDateTime('Start of validity.'),
      validTo: nullableDateTime('End of validity, not before validFrom.'),
    },
  },
} as const);

export type EngageInputKind = keyof typeof ENGAGE_INPUT_SCHEMAS;
