// Row → domain record mappers shared by both stores. Column names are the same in both dialects;
// only how JSON and boolean columns arrive differs (text and 0/1 in SQLite, decoded by pg), so
// each store passes its decoders. Sealed columns are opened here, the same way for both.
import type { AuditEntry } from '../../domain/audit.js';
import type { Destination } from '../../domain/destinations.js';
import { CLOSED_CIRCUIT, type Circuit } from '../../domain/hold.js';
import type {
  Application,
  Attempt,
  DeliveryTask,
  Endpoint,
  EventType,
  IdempotentResponse,
  Message,
  MessageStatusCode,
  PortalSession,
  TriggerTypeCode,
} from '../../domain/types.js';
import type { Sealer } from '../../security/sealer.js';
import type { BackgroundTask, EngageSettings, IdempotencyWrite } from '../store.js';

type Row = Record<string, any>;

/** Turns a JSON column's value into the value it holds (null stays null). */
export type JsonDecoder = (v: unknown) => any;
/** Turns a boolean column's value into a boolean. */
export type BoolDecoder = (v: unknown) => boolean;

export function rowMappers(json: JsonDecoder, bool: BoolDecoder, sealer: Sealer) {
  return {
    /** An endpoint, its secrets and headers unsealed. */
    endpoint: (r: Row): Endpoint => ({
      id: r.id,
      appId: r.app_id,
      uid: r.uid,
      url: r.url,
      description: r.description,
      throttleRate: r.throttle_rate,
      disabled: bool(r.disabled),
      disabledReason: r.disabled_reason,
      eventTypes: json(r.event_types),
      channels: json(r.channels),
      metadata: json(r.metadata),
      headers: JSON.parse(sealer.unseal(r.headers_sealed)),
      secret: sealer.unseal(r.secret_sealed),
      previousSecrets: JSON.parse(sealer.unseal(r.previous_secrets_sealed)),
      ordering: r.ordering === 'key' ? 'key' : 'none',
      deliveryPolicy: json(r.delivery_policy) ?? null,
      filter: json(r.content_filter) ?? null,
      auth: r.auth_sealed ? JSON.parse(sealer.unseal(r.auth_sealed)) : null,
      kind: r.kind ?? undefined,
      transformation: json(r.transformation) ?? null,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }),
    /** A destination of any type, its config unsealed. */
    destination: (r: Row): Destination => ({
      id: r.id,
      appId: r.app_id,
      uid: r.uid,
      type: r.type,
      status: r.status,
      eventTypes: json(r.event_types),
      channels: json(r.channels),
      metadata: json(r.metadata),
      batchSize: Number(r.batch_size),
      maxWaitSecs: Number(r.max_wait_secs),
      config: JSON.parse(sealer.unseal(r.config_sealed)),
      leaseMs: r.lease_ms === null ? null : Number(r.lease_ms),
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }),
    eventType: (r: Row): EventType => ({
      name: r.name,
      description: r.description,
      archived: bool(r.archived),
      deprecated: bool(r.deprecated),
      schemas: json(r.schemas),
      featureFlag: r.feature_flag,
      groupName: r.group_name,
      schemaEnforcement: r.schema_enforcement ?? 'off',
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }),
    /** An application's Engage settings; no row means the defaults (module off, no key). */
    /** An endpoint_circuit row (columns under `prefix`), or the closed circuit when there is none. */
    circuit: (r: Row | undefined, prefix = ''): Circuit =>
      !r || r[`${prefix}state`] == null
        ? CLOSED_CIRCUIT
        : {
            state: r[`${prefix}state`],
            consecutiveFailures: Number(r[`${prefix}consecutive_failures`]),
            since: r[`${prefix}since`] ?? null,
            nextProbeAt: r[`${prefix}next_probe_at`] ?? null,
            probeUntil: r[`${prefix}probe_until`] ?? null,
            cooldownMs: Number(r[`${prefix}cooldown_ms`]),
            version: Number(r[`${prefix}version`]),
          },
    engageSettings: (appId: string, r: Row | undefined): EngageSettings => ({
      appId,
      moduleEnabled: r !== undefined && bool(r.module_enabled),
      encryptionKey: r?.key_sealed ? sealer.unseal(r.key_sealed) : null,
      keySetAt: r?.key_set_at ?? null,
      updatedAt: r?.updated_at ?? null,
    }),
    app: (r: Row): Application => ({
      id: r.id,
      uid: r.uid,
      name: r.name,
      throttleRate: r.throttle_rate,
      metadata: json(r.metadata),
      deliveryPolicy: json(r.delivery_policy) ?? null,
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
      schemaViolations: json(r.schema_violations) ?? null,
      traceparent: r.traceparent ?? null,
      createdAt: r.created_at,
      orderingKey: r.ordering_key ?? null,
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
      heldBy: r[`${prefix}held_by`] ?? null,
      orderingSeq: r[`${prefix}ordering_seq`] ?? null,
      waitingFor: r[`${prefix}waiting_for`] ?? null,
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
      requestHeaders: r.request_headers ?? null,
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

/** An audit_log row (integers come back as numbers or numeric strings, hence Number()). */
export function auditRow(r: Record<string, unknown>): AuditEntry {
  return {
    id: r.id as string,
    at: Number(r.at),
    actor: r.actor as AuditEntry['actor'],
    sessionId: (r.session_id as string | null) ?? null,
    actorAppId: (r.actor_app_id as string | null) ?? null,
    operationId: r.operation_id as string,
    method: r.method as string,
    path: r.path as string,
    status: Number(r.status),
    appId: (r.app_id as string | null) ?? null,
    endpointId: (r.endpoint_id as string | null) ?? null,
    msgId: (r.msg_id as string | null) ?? null,
  };
}

/** The audit_log columns in the order appendAudit writes them. */
export const AUDIT_COLUMNS = 'id, at, actor, session_id, actor_app_id, operation_id, method, path, status, app_id, endpoint_id, msg_id';

export const auditValues = (e: AuditEntry): unknown[] => [
  e.id,
  e.at,
  e.actor,
  e.sessionId,
  e.actorAppId,
  e.operationId,
  e.method,
  e.path,
  e.status,
  e.appId,
  e.endpointId,
  e.msgId,
];

/** The attempt columns in the order attemptValues gives them (also the leading columns of the batched PostgreSQL completion). */
export const ATTEMPT_COLUMNS =
  'id, msg_id, endpoint_id, app_id, url, response, response_status_code, response_duration_ms, status, trigger_type, created_at, attempt_number, request_headers';

export const attemptValues = (a: Attempt, attemptNumber: number): unknown[] => [
  a.id,
  a.msgId,
  a.endpointId,
  a.appId,
  a.url,
  a.response,
  a.responseStatusCode,
  a.responseDurationMs,
  a.status,
  a.triggerType,
  a.createdAt,
  attemptNumber,
  a.requestHeaders,
];
