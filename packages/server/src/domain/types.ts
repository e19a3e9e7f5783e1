// Domain records as the store returns them. Times are epoch milliseconds.
import type { EndpointAuth } from './endpoint-auth.js';
import type { EndpointOrdering } from './ordering.js';
import type { ContentFilter } from './content-filter.js';
import type { DeliveryPolicy } from './policy.js';
import type { EndpointTransformation } from './transformation.js';

export type Metadata = Record<string, string>;

export interface Application {
  id: string;
  uid: string | null;
  name: string;
  throttleRate: number | null;
  metadata: Metadata;
  /** Retry schedule and timeout for its endpoints (domain/policy.ts); null or absent: the server's. */
  deliveryPolicy?: DeliveryPolicy | null;
  createdAt: number;
  updatedAt: number;
}

export interface EventType {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  schemas: Record<string, unknown> | null;
  featureFlag: string | null;
  groupName: string | null;
  /** Whether new messages' payloads are checked against the latest schema; absent means 'off'. */
  schemaEnforcement?: SchemaEnforcement;
  createdAt: number;
  updatedAt: number;
}

/** off: not checked; warn: accepted, violations recorded on the message; reject: refused (422), nothing stored. */
export type SchemaEnforcement = 'off' | 'warn' | 'reject';
export const SCHEMA_ENFORCEMENTS: readonly SchemaEnforcement[] = ['off', 'warn', 'reject'];

/** One way a payload breaks its event type's schema: where (a JSON Pointer) and what. */
export interface SchemaViolation {
  path: string;
  message: string;
}

/** A signing secret that is no longer current but still signs until `expiresAt`. */
export interface RetiredSecret {
  key: string;
  expiresAt: number;
}

/** Herald: the broker destination types, each delivered through an endpoint row of its kind (domain/destinations.ts). */
export type BrokerKind = 'rabbitMq' | 'redisStream' | 'natsJetStream';

export interface Endpoint {
  id: string;
  appId: string;
  uid: string | null;
  url: string;
  description: string;
  throttleRate: number | null;
  disabled: boolean;
  /** Why the endpoint was disabled by Herald (not by a user), if it was. */
  disabledReason: string | null;
  eventTypes: string[] | null;
  channels: string[] | null;
  metadata: Metadata;
  /** Custom request headers, names in the case the user gave them. */
  headers: Record<string, string>;
  /** The current signing secret, e.g. `whsec_...`. */
  secret: string;
  previousSecrets: RetiredSecret[];
  /** Herald: 'key' delivers each ordering key's messages in order (domain/ordering.ts); 'none' orders nothing. */
  ordering: EndpointOrdering;
  /** Its own retry schedule and timeout (domain/policy.ts); null or absent: its application's. */
  deliveryPolicy?: DeliveryPolicy | null;
  /** Only messages whose payload matches go to it (domain/content-filter.ts); null or absent: all. */
  filter?: ContentFilter | null;
  /** How Herald authenticates to it beyond the signature (domain/endpoint-auth.ts); null or absent: none. */
  auth?: EndpointAuth | null;
  /**
   * Herald: set when this row is a broker destination's (its id is the destination's): the
   * dispatcher publishes to the broker instead of POSTing to `url`, which only names the target.
   * Such rows are not endpoints to the API. Null or absent: an HTTP endpoint.
   */
  kind?: BrokerKind | null;
  /** JavaScript that rewrites or cancels each delivery before it is signed (domain/transformation.ts); null or absent: none. */
  transformation?: EndpointTransformation | null;
  createdAt: number;
  updatedAt: number;
}

export interface Message {
  id: string;
  appId: string;
  eventId: string | null;
  eventType: string;
  channels: string[] | null;
  /** The JSON text of the payload, exactly as it is delivered; null once expired or expunged. */
  payload: string | null;
  /** When the payload is purged. */
  expiresAt: number;
  /** Schema violations found at ingest under 'warn' enforcement; null or absent when none. */
  schemaViolations?: SchemaViolation[] | null;
  /** The W3C traceparent of the span that accepted it, when tracing was on; attempts continue that trace. */
  traceparent?: string | null;
  createdAt: number;
  /** Herald: the key that orders this message's deliveries at endpoints with ordering 'key'. */
  orderingKey?: string | null;
}

/** Svix's MessageStatus numbers, used for attempts, tasks and per-endpoint message status. */
export const MessageStatus = { success: 0, pending: 1, fail: 2, sending: 3, canceled: 4 } as const;
export type MessageStatusCode = (typeof MessageStatus)[keyof typeof MessageStatus];
export const STATUS_TEXT: Record<MessageStatusCode, string> = {
  0: 'success',
  1: 'pending',
  2: 'fail',
  3: 'sending',
  4: 'canceled',
};

export const TriggerType = { scheduled: 0, manual: 1 } as const;
export type TriggerTypeCode = (typeof TriggerType)[keyof typeof TriggerType];

/** One (message, endpoint) delivery, created with the message in the same commit. */
export interface DeliveryTask {
  msgId: string;
  endpointId: string;
  appId: string;
  status: MessageStatusCode;
  attemptCount: number;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Why it was put back without an attempt (domain/hold.ts), until it is tried again; null otherwise. */
  heldBy?: 'module' | 'circuit' | null;
  /** The key ordering this delivery (fan-out sets it; the store then numbers the delivery), or null. */
  orderedBy?: string | null;
  /** The delivery's place in its (endpoint, key) order, from 1; null when not ordered. */
  orderingSeq?: number | null;
  /** While parked: the message ahead of it in its key. */
  waitingFor?: string | null;
}

export interface Attempt {
  id: string;
  msgId: string;
  endpointId: string;
  appId: string;
  url: string;
  response: string;
  responseStatusCode: number;
  responseDurationMs: number;
  /** The request's headers, JSON object text, credentials masked (request-headers.ts); null when not recorded. */
  requestHeaders: string | null;
  status: MessageStatusCode;
  triggerType: TriggerTypeCode;
  createdAt: number;
}

export type Permission = 'view' | 'manage' | 'secrets';

/** A portal session: a token scoped to one application and a permission set. */
export interface PortalSession {
  id: string;
  appId: string;
  permissions: Permission[];
  featureFlags: string[];
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** The first 2xx answer to an idempotent POST, replayed for the same key. */
export interface IdempotentResponse {
  status: number;
  /** The answer's body; '' when it names a message instead (msgId). */
  body: string;
  createdAt: number;
  /** A message create's answer: the message, rendered as it is when replayed. */
  msgId?: string;
}
