// Row → domain record mappers shared by both stores. Column names are the same in both dialects;
// only how JSON columns arrive differs (text in SQLite, already decoded by pg), so each store
// passes its decoder. Endpoint rows, with their several sealed secrets, stay with their store; an
// idempotent answer's one sealed column is handled here, the same way for both.
import type {
  Application, Attempt, DeliveryTask, IdempotentResponse, Message, MessageStatusCode, PortalSession, TriggerTypeCode,
} from '../domain/types.js';
import type { Sealer } from '../security/sealer.js';
import type { BackgroundTask, IdempotencyWrite } from './store.js';

type Row = Record<string, any>;

/** Turns a JSON column's value into the value it holds (null stays null). */
export type JsonDecoder = (v: unknown) => any;

export function rowMappers(json: JsonDecoder) {
  return {
    app: (r: Row): Application => ({
      id: r.id,
      uid: r.uid,
      name: r.name,
      throttleRate: r.throttle_rate,
      metadata: json(r.metadata),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }),
    message: (r: Row): Message => ({
      id: r.id,
      appId: r.app_id,
      eventId: r.uid,
      eventType: r.event_type,
      channels: json(r.channels),
      payload: r.payload,
      expiresAt: r.expires_at,
      createdAt: r.created_at,
    }),
    /** `prefix` reads a task joined under aliased columns (e.g. `t_msg_id`). */
    task: (r: Row, prefix = ''): DeliveryTask => ({
      msgId: r[`${prefix}msg_id`],
      endpointId: r[`${prefix}endpoint_id`],
      appId: r[`${prefix}app_id`],
      status: r[`${prefix}status`],
      attemptCount: r[`${prefix}attempt_count`],
      nextAttemptAt: r[`${prefix}next_attempt_at`],
      createdAt: r[`${prefix}created_at`],
      updatedAt: r[`${prefix}updated_at`],
    }),
    attempt: (r: Row): Attempt => ({
      id: r.id,
      msgId: r.msg_id,
      endpointId: r.endpoint_id,
      appId: r.app_id,
      url: r.url,
      response: r.response,
      responseStatusCode: r.response_status_code,
      responseDurationMs: r.response_duration_ms,
      status: r.status as MessageStatusCode,
      triggerType: r.trigger_type as TriggerTypeCode,
      createdAt: r.created_at,
    }),
    session: (r: Row): PortalSession => ({
      id: r.id,
      appId: r.app_id,
      permissions: json(r.permissions),
      featureFlags: json(r.feature_flags),
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
    }),
    backgroundTask: (r: Row): BackgroundTask => ({
      id: r.id,
      appId: r.app_id ?? null,
      kind: r.kind,
      status: r.status,
      data: json(r.data),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }),
  };
}

/** A stored idempotent answer: its body unsealed, or the message it names. */
export function idempotentResponse(r: Row, sealer: Sealer): IdempotentResponse {
  const out: IdempotentResponse = { status: r.status, body: sealer.openIfSealed(r.body), createdAt: Number(r.created_at) };
  if (r.msg_id !== null && r.msg_id !== undefined) out.msgId = r.msg_id;
  return out;
}

/** The columns an idempotency row holds (key_hash, key, status, body, msg_id, created_at), in that order. */
export const IDEMPOTENCY_COLUMNS = 'key_hash, key, status, body, msg_id, created_at';

/**
 * An idempotent answer's column values. The body is sealed, since an answer may carry a secret (a
 * portal token); an answer that names its message stores no body at all.
 */
export function idempotencyRow<R>(idem: IdempotencyWrite<R>, result: R, sealer: Sealer, keyHash: (key: string) => unknown): unknown[] {
  const msgId = idem.msgId?.(result) ?? null;
  return [keyHash(idem.key), idem.key, idem.status, msgId === null ? sealer.seal(idem.body(result)) : '', msgId, idem.now];
}
