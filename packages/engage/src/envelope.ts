/**
 * The Engage envelope: the JSON body Engage posts, `{eventId, eventType, isEncrypted, payload, tenant}`.
 * On the wire `payload` is the object, or the ciphertext string when `isEncrypted` is true.
 */
import { randomUUID } from 'node:crypto';
import { decryptPayloadJson, encryptPayload, parseEncryptionKey, type EngageKeyInput } from './encryption.js';
import { EngageError } from './errors.js';
import type { EngageEventType } from './events.js';
import type { EngagePayloadMap } from './payloads.js';

interface EnvelopeBase<T extends string> {
  eventId: string;
  eventType: T;
  tenant: string;
}

/** A decrypted event of type T, as handlers see it. `isEncrypted` says how it arrived. */
export type EngageEvent<T extends EngageEventType = EngageEventType> = T extends EngageEventType
  ? EnvelopeBase<T> & { isEncrypted: boolean; payload: EngagePayloadMap[T] }
  : never;

/** An envelope whose payload is still ciphertext. */
export type EncryptedEngageEnvelope<T extends string = EngageEventType> = EnvelopeBase<T> & {
  isEncrypted: true;
  payload: string;
};

/** What Engage sends for event type T: plaintext or encrypted. */
export type EngageEnvelope<T extends EngageEventType = EngageEventType> = T extends EngageEventType
  ? (EnvelopeBase<T> & { isEncrypted: false; payload: EngagePayloadMap[T] }) | EncryptedEngageEnvelope<T>
  : never;

/**
 * Any structurally valid envelope, including event types this version does not know yet
 * (Engage adds events over time; receivers should acknowledge them, not fail).
 */
export interface UnknownEngageEnvelope {
  eventId: string;
  eventType: string;
  isEncrypted: boolean;
  payload: unknown;
  tenant: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the envelope's structure (not the payload's fields). Accepts the legacy `id` field that
 * two of Voyado's examples use in place of `eventId`, and always returns `eventId`.
 */
export function parseEnvelope(value: unknown): UnknownEngageEnvelope {
  if (!isRecord(value)) throw new EngageError('invalid_envelope', 'the envelope must be a JSON object');
  const eventId = value.eventId ?? value.id;
  const { eventType, isEncrypted, payload, tenant } = value;
  const problems: string[] = [];
  if (typeof eventId !== 'string' || eventId === '') problems.push('eventId (or id) must be a non-empty string');
  if (typeof eventType !== 'string' || eventType === '') problems.push('eventType must be a non-empty string');
  if (typeof isEncrypted !== 'boolean') problems.push('isEncrypted must be a boolean');
  if (typeof tenant !== 'string') problems.push('tenant must be a string');
  if (isEncrypted === true && typeof payload !== 'string') problems.push('an encrypted payload must be a string');
  if (isEncrypted === false && !isRecord(payload)) problems.push('a plaintext payload must be an object');
  if (problems.length > 0) throw new EngageError('invalid_envelope', `invalid Engage envelope: ${problems.join('; ')}`);
  return {
    eventId: eventId as string,
    eventType: eventType as string,
    isEncrypted: isEncrypted as boolean,
    payload,
    tenant: tenant as string,
  };
}

/**
 * Returns the envelope with its payload in plaintext. Encrypted envelopes need the key;
 * plaintext envelopes pass through (the key is then unused).
 *
 * While the tenant's key is being rotated, pass the keys newest first: messages accepted before
 * the switch (and their retries and resends) keep the old key's ciphertext. Each key is tried in
 * turn; a key that does not open the payload (`invalid_ciphertext` or `invalid_payload_json`)
 * passes it to the next, and when none does, the first key's error is thrown. Only ever decrypt
 * after the webhook signature was verified (CBC has no integrity of its own).
 */
export function decryptEnvelope(envelope: UnknownEngageEnvelope, key?: EngageKeyInput | readonly EngageKeyInput[]): UnknownEngageEnvelope {
  if (!envelope.isEncrypted) return envelope;
  const keys: readonly EngageKeyInput[] = key === undefined ? [] : Array.isArray(key) ? key : [key as EngageKeyInput];
  if (keys.length === 0) {
    throw new EngageError('missing_key', 'the payload is encrypted but no Engage encryption key is configured');
  }
  let first: unknown;
  for (const k of keys) {
    try {
      const payload = decryptPayloadJson(envelope.payload as string, k);
      if (!isRecord(payload)) throw new EngageError('invalid_payload_json', 'the decrypted payload is not a JSON object');
      return { ...envelope, payload };
    } catch (err) {
      const wrongKey = err instanceof EngageError && (err.code === 'invalid_ciphertext' || err.code === 'invalid_payload_json');
      if (!wrongKey) throw err;
      first ??= err;
    }
  }
  throw first;
}

/** Encrypts an event's payload for sending (the sender side; sign after encrypting). */
export function encryptEnvelope<T extends EngageEventType>(
  event: EnvelopeBase<T> & { payload: EngagePayloadMap[T] },
  key: EngageKeyInput,
): EncryptedEngageEnvelope<T> {
  return {
    eventId: event.eventId,
    eventType: event.eventType,
    isEncrypted: true,
    payload: encryptPayload(JSON.stringify(event.payload), key),
    tenant: event.tenant,
  };
}

export interface BuildEnvelopeOptions {
  /** The Engage tenant (in Herald, the application uid). */
  tenant: string;
  /** The event id; a fresh GUID when left out. Keep it when retrying, so receivers can dedupe. */
  eventId?: string | undefined;
  /**
   * The tenant's 32-character alphanumeric key. Set: the payload is encrypted and `isEncrypted`
   * is true. Left out or null: plaintext. An invalid key throws `invalid_key` (never a silent
   * fallback to plaintext).
   */
  key?: EngageKeyInput | null | undefined;
  /** A fixed 16-byte IV, for test vectors only: production must use a fresh random IV. */
  iv?: Uint8Array | undefined;
}

/**
 * Builds the body Engage posts for one event: `{eventId, eventType, isEncrypted, payload, tenant}`,
 * in that key order. With a key, `payload` becomes base64url(IV ‖ AES-256-CBC(JSON of the payload)).
 * Takes a detector's DetectedEvent as is. Sign the JSON of the result after this step.
 */
export function buildEnvelope<T extends EngageEventType>(
  event: { eventType: T; payload: EngagePayloadMap[T] },
  options: BuildEnvelopeOptions,
): EngageEnvelope<T> {
  if (typeof options.tenant !== 'string') throw new TypeError('options.tenant must be a string');
  const eventId = options.eventId ?? randomUUID();
  if (typeof eventId !== 'string' || eventId === '') throw new TypeError('options.eventId must be a non-empty string');
  const { eventType, payload } = event;
  if (options.key === undefined || options.key === null) {
    return { eventId, eventType, isEncrypted: false, payload, tenant: options.tenant } as EngageEnvelope<T>;
  }
  const key = typeof options.key === 'string' ? parseEncryptionKey(options.key) : options.key;
  return {
    eventId,
    eventType,
    isEncrypted: true,
    payload: encryptPayload(JSON.stringify(payload), key, options.iv),
    tenant: options.tenant,
  } as EngageEnvelope<T>;
}
