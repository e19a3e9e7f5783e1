// @herald/engage: the Engage domain (event catalog, payload types, change detector, envelope, payload encryption).
export { ENGAGE_EVENT_TYPES, isEngageEventType } from './events.js';
export type { EngageEventType } from './events.js';
export type {
  ContactChangedPayload,
  ContactConsentChangedPayload,
  ContactCreatedPayload,
  ContactDeletedPayload,
  ContactPreferenceChangedPayload,
  ContactUpdatedPayload,
  DateTimeOffset,
  EngagePayload,
  EngagePayloadMap,
  LoyaltyAddPointsPayload,
  PointBalanceUpdatedPayload,
  PromotionMultichannelAssignedPayload,
  RewardVoucherCreatedPayload,
} from './payloads.js';
export { ENGAGE_CATALOG, ENGAGE_PAYLOAD_SCHEMAS, engageExample } from './catalog.js';
export type {
  EngageEventGroup,
  EngageEventTypeIn,
  EngagePayloadSchemas,
  JsonSchema,
  PlainEngageEnvelope,
} from './catalog.js';
export { CONTACT_PREFERENCES, DEFAULT_CONTACT_TYPE, ENGAGE_STANDARD_ATTRIBUTES } from './detect/fields.js';
export { detectContactDelete, detectContactUpsert } from './detect/contact.js';
export { detectBalanceChange, detectPointTransaction, detectPromotionAssignment, detectVoucherCreated } from './detect/loyalty.js';
export { ENGAGE_INPUT_SCHEMAS } from './inputs.js';
export type { EngageInputKind } from './inputs.js';
export type {
  AttributeValue,
  ConsentInput,
  ConsentState,
  ContactInput,
  ContactPreference,
  ContactState,
  DetectedEvent,
  Detection,
  PointAccountState,
  PointBalanceInput,
  PointTransactionInput,
  PromotionAssignmentInput,
  PromotionAssignmentState,
  RewardVoucherInput,
  RewardVoucherState,
} from './detect/types.js';
export { buildEnvelope, decryptEnvelope, encryptEnvelope, parseEnvelope } from './envelope.js';
export type {
  BuildEnvelopeOptions,
  EncryptedEngageEnvelope,
  EngageEnvelope,
  EngageEvent,
  UnknownEngageEnvelope,
} from './envelope.js';
export {
  decryptPayload,
  decryptPayloadJson,
  encryptPayload,
  generateEncryptionKey,
  parseEncryptionKey,
} from './encryption.js';
export type { EngageKey, EngageKeyInput } from './encryption.js';
export { EngageError, EngageInputError } from './errors.js';
export type { EngageErrorCode, EngageInputErrorCode } from './errors.js';
