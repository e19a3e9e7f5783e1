// @herald/receiver: verify and sign webhooks, decrypt Engage payloads, allowlist, dedupe, route, adapters.
export { WebhookVerificationError } from './errors.js';
export type { VerificationFailureReason } from './errors.js';
export { getHeader } from './headers.js';
export type { HeadersGetter, HeadersLike, HeaderValue } from './headers.js';
export { generateKeyPair, generateSecret, parseSecret, publicKeyOf } from './secrets.js';
export type { Ed25519PublicKey, Ed25519SecretKey, HmacSecret, ParsedSecret, SecretInput } from './secrets.js';
export { hmacDigest, sign, signatureHeaders, signedContent, signOne, toUnixSeconds } from './sign.js';
export type { HeaderPrefix, SignInput, WebhookBody } from './sign.js';
export { createVerifier, DEFAULT_TOLERANCE_SECONDS, verify, verifyWebhook } from './verify.js';
export type { VerifiedWebhook, Verifier, VerifyOptions } from './verify.js';
export { createClientIpResolver, createIpAllowlist, normalizeIp } from './ip.js';
export type { ClientIpOptions, ClientIpResolver, IpAllowlist } from './ip.js';
export {
  createMemoryDedupeStore,
  DEFAULT_DEDUPE_MAX_ENTRIES,
  DEFAULT_DEDUPE_TTL_MS,
  openFileDedupeStore,
} from './dedupe.js';
export type {
  DedupeStore,
  FileDedupeOptions,
  FileDedupeStore,
  MemoryDedupeOptions,
  MemoryDedupeStore,
} from './dedupe.js';
export { createRouter } from './router.js';
export type { DeliveryContext, DispatchResult, EngageRouter, EventHandler, FallbackHandler } from './router.js';
export { createReceiver, DEFAULT_MAX_BODY_BYTES, HANDLER_FAILED_DETAIL, ReceiverError } from './receiver.js';
export type { InboundRequest, Receiver, ReceiverErrorCode, ReceiverOptions, ReceiverResponse } from './receiver.js';
export { BodyTooLargeError, handleNodeRequest, nodeHandler, readRawBody } from './adapters/node.js';
export { expressHandler } from './adapters/express.js';
export type { ExpressLikeNext, ExpressLikeRequest } from './adapters/express.js';
export { fastifyPlugin } from './adapters/fastify.js';
export type { FastifyLikeInstance, FastifyPluginOptions } from './adapters/fastify.js';
export { handleFetchRequest } from './adapters/fetch.js';
export { honoHandler } from './adapters/hono.js';
export type { HonoHandlerOptions, HonoLikeContext } from './adapters/hono.js';
// Engage decryption and types, re-exported so receivers need one import.
export {
  decryptEnvelope,
  decryptPayload,
  decryptPayloadJson,
  ENGAGE_EVENT_TYPES,
  EngageError,
  isEngageEventType,
  parseEncryptionKey,
  parseEnvelope,
} from '@herald/engage';
export type {
  ContactChangedPayload,
  ContactConsentChangedPayload,
  ContactCreatedPayload,
  ContactDeletedPayload,
  ContactPreferenceChangedPayload,
  ContactUpdatedPayload,
  EngageEnvelope,
  EngageErrorCode,
  EngageEvent,
  EngageEventType,
  EngageKey,
  EngagePayload,
  EngagePayloadMap,
  LoyaltyAddPointsPayload,
  PointBalanceUpdatedPayload,
  PromotionMultichannelAssignedPayload,
  RewardVoucherCreatedPayload,
  UnknownEngageEnvelope,
} from '@herald/engage';
