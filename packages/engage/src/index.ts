// @herald/engage: the Engage domain (event catalog, payload types, envelope, payload encryption).
export { ENGAGE_EVENT_TYPES, isEngageEventType } from './events.js';
export type { EngageEventType } from './events.js';
export type {
  ContactChangedPayload,
  ContactConsentChangedPayload,
  ContactDeletedPayload,
  ContactPreferenceChangedPayload,
  DateTimeOffset,
  EngagePayload,
  EngagePayloadMap,
  LoyaltyAddPointsPayload,
  PointBalanceUpdatedPayload,
  PromotionMultichannelAssignedPayload,
  RewardVoucherCreatedPayload,
} from './payloads.js';
export { decryptEnvelope, encryptEnvelope, parseEnvelope } from './envelope.js';
export type {
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
export { EngageError } from './errors.js';
export type { EngageErrorCode } from './errors.js';
