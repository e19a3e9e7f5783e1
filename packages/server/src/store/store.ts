// The Store contract: domain operations only, no driver types. SQLite (embedded default) and
// PostgreSQL implement it, and one conformance suite runs on both. Every mutation is atomic: it
// commits whole or not at all. Secrets are sealed by the implementation on the way in and unsealed
// on the way out; callers only ever see plaintext domain records.

import type { ResealCursor, ResealResult } from './reseal.js';
import type { Page, PageQuery } from '../domain/pagination.js';
import type { AuditEntry, AuditListQuery } from '../domain/audit.js';
import type { Circuit, CircuitChange, HeldBy } from '../domain/hold.js';
import type { EndpointChange } from '../domain/outcome.js';
import type { Destination } from '../domain/destinations.js';
import type { DeliveryPolicy } from '../domain/policy.js';
import type { ClaimRoom } from '../domain/fairness.js';
import type { SchemaVerdict } from './migrate.js';
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
} from '../domain/types.js';

/** Store the first 2xx answer of an idempotent POST in the same commit as the write it answers. */
export interface IdempotencyWrite<R> {
  key: string;
  status: number;
  body: (result: R) => string;
  now: number;
  /**
   * For an answer that is a message: store the message's id, not the body. The replay renders the
   * message as it is then, so an expunged payload leaves no copy behind in the stored answers.
   */
  msgId?: (result: R) => string;
}

export interface CreateMessageOptions {
  /** Deliver only to this endpoint (send-example), bypassing the filters but not `disabled`. */
  onlyEndpointId?: string;
  triggerType?: number;
  createApp?: Application;
  idem?: IdempotencyWrite<Message>;
}

/**
 * Several messages accepted in one commit (the Engage producer routes: one message per detected
 * event), each with its delivery tasks exactly as `createMessage` makes them.
 */
export interface CreateMessagesOptions {
  triggerType?: number;
  idem?: IdempotencyWrite<Message[]>;
  /**
   * An Engage change, committed with the messages or not at all. The commit first re-checks, in
   * the same transaction, that the tenant's webhooks module is on (else a StorePreconditionError
   * `module_disabled`) and that the state is still at `expectedVersion` (else `StaleStateError`,
   * and the caller detects again from the fresh state).
   */
  engage?: { appId: string; state?: EngageStateWrite };
}

/** Engage tenant settings, per application. Defaults (no row): module off, no key. */
export interface EngageSettings {
  appId: string;
  moduleEnabled: boolean;
  /** The 32-character payload key, unsealed; null when payloads go in plaintext. */
  encryptionKey: string | null;
  keySetAt: number | null;
  updatedAt: number | null;
}

/** What the Engage change detector keeps, by kind: contacts, point accounts, vouchers, promotion assignments. */
export type EngageStateKind = 'contact' | 'pointAccount' | 'voucher' | 'promotion';

/** A stored state: `state` null when never stored or deleted; `version` 0 when never stored. */
export interface EngageStateRecord {
  state: unknown;
  version: number;
}

/** Replace one state (null deletes it) if it is still at `expectedVersion`. */
export interface EngageStateWrite {
  kind: EngageStateKind;
  key: string;
  expectedVersion: number;
  state: unknown;
  now: number;
}

/** The state changed between read and commit: detect again from the fresh state. */
export { StaleStateError } from './errors.js';

/** A delivery task claimed by a dispatcher under a lease. Later writes must present the fence. */
export interface ClaimedTask {
  msgId: string;
  endpointId: string;
  appId: string;
  /** Attempts made before this one. */
  attemptCount: number;
  triggerType: number;
  fence: number;
  leaseExpiresAt: number;
  /** The throttle slot reserved for this delivery when it was put back (see deferTask), or null. */
  throttleSlot: number | null;
  /** Its place in its (endpoint, ordering key) order, sent as herald-sequence; null (or absent) when not ordered. */
  orderingSeq?: number | null;
}

/** What one claim took, and whether it left due deliveries behind. */
export interface Claim {
  tasks: ClaimedTask[];
  /**
   * The claim saw due deliveries it did not take: an endpoint it looked at had more due than its
   * room (none, when its room was 0), or more were due than the claim's limit. False says only that
   * it saw none (another process's claim may have had them locked).
   */
  leftDue: boolean;
  /**
   * When it left none: the earliest time a task falls due after this claim (its own leases'
   * expiry included), as the claim saw the queue, i.e. what nextDueAt would answer then; null when
   * nothing waits. Null, and not to be read, when leftDue.
   */
  nextDue: number | null;
  /**
   * What each task needs to be attempted, in task order, when the store read it with the claim
   * (PostgreSQL: in the claim's own statement). Absent, the dispatcher reads it (loadDeliveries).
   */
  contexts?: DeliveryContext[];
}

/** What a dispatcher needs to attempt one claimed delivery; read for a whole claim at once. */
export interface DeliveryContext {
  /** Null when the endpoint was deleted (or belongs to another application). */
  endpoint: Endpoint | null;
  /** Null when the message is gone; its payload is null once purged. */
  message: Message | null;
  /** The endpoint's throttle rate, else its application's, else null (unthrottled). */
  throttleRate: number | null;
  /** The application's Engage webhooks module: on, off, or null when it has no Engage settings. */
  moduleEnabled: boolean | null;
  /** The endpoint's circuit as stored (CLOSED_CIRCUIT when it has none). */
  circuit: Circuit;
  /** The application's retry schedule and timeout, which the endpoint's own override (domain/policy.ts). */
  appPolicy?: DeliveryPolicy | null;
}

/** How a delivery attempt ends, recorded atomically with the attempt row. */
export interface AttemptResult {
  attempt: Attempt;
  /** The task's new state: due again at `nextAttemptAt`, or finished (success, fail, canceled). */
  task: { status: MessageStatusCode; nextAttemptAt: number | null };
  /** Endpoint bookkeeping (domain/outcome.ts): clear the failure streak, start one, or disable it. */
  endpoint?: EndpointChange;
}

export interface MessageListQuery extends PageQuery {
  eventTypes?: string[];
  channel?: string;
  /** Only messages created strictly after/before these epoch-ms instants. */
  afterMs?: number;
  beforeMs?: number;
}

export interface AttemptListQuery extends PageQuery {
  status?: MessageStatusCode;
  statusCodeClass?: number;
  eventTypes?: string[];
  channel?: string;
  endpointId?: string;
  afterMs?: number;
  beforeMs?: number;
}

export interface TaskListQuery extends PageQuery {
  status?: MessageStatusCode;
  eventTypes?: string[];
  channel?: string;
  afterMs?: number;
  beforeMs?: number;
}

/** A message as one endpoint sees it: the message plus that delivery's state. */
export interface EndpointMessage {
  message: Message;
  task: DeliveryTask;
}

/** An endpoint as one message sees it: the endpoint plus that delivery's state. */
export interface MessageDestination {
  endpoint: Endpoint;
  task: DeliveryTask;
}

export interface EndpointStats {
  success: number;
  pending: number;
  sending: number;
  fail: number;
  /** Ended without being sent: canceled by the endpoint's transformation, or by its deletion or disabling. */
  canceled: number;
}

/** One bucket of an endpoint's attempts (EndpointHealthStore). */
export interface HealthBucket {
  /** The bucket's start, epoch ms. */
  start: number;
  succeeded: number;
  failed: number;
  /** Nearest-rank percentiles of the attempts' durations; null when the bucket has no attempts. */
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface BackgroundTask {
  id: string;
  /** The application the task works on (null on tasks from before this was recorded). */
  appId: string | null;
  kind: string;
  status: 'running' | 'finished' | 'failed';
  data: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/**
 * What one retention batch removes. `payloads`: clear the payload of messages whose retention
 * ended at or before `cutoff` (the message row stays, listed with an expired payload).
 * `attempts`: delete attempts created before `cutoff`. `idempotency`: delete stored idempotent
 * answers created before `cutoff`. Payloads and attempts of a message with a delivery still due
 * or in flight are kept, whatever their age.
 */
export type PurgeKind = 'payloads' | 'attempts' | 'idempotency';

export interface PurgeBatchResult {
  /** Payloads cleared or rows deleted. */
  purged: number;
  /** Another process is purging right now (PostgreSQL); this one should leave the pass to it. */
  busy: boolean;
}

/** What every store is: its kind and place, and the connection's life. */
export interface StoreLifecycle {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data lives, for start-up output (never includes credentials). */
  readonly location: string;
  close(): Promise<void>;
  /** Resolves when the store can answer a trivial query. */
  ping(): Promise<void>;
  /**
   * One batch of a master-key rotation's sweep: the next `limit` rows (from `cursor`; null starts
   * a sweep) of the tables holding sealed values; those under another key are re-sealed under the
   * current one. Go on with `next` until it is null.
   */
  resealBatch(limit: number, cursor: ResealCursor | null): Promise<ResealResult>;
  /** Up to `limit` endpoints' signing secrets as stored (sealed), deleted endpoints' too: what a start checks its master key against. */
  sealedSecretSample(limit: number): Promise<string[]>;
}

/**
 * The migration ledger, read while running: whether this Herald may still run on the schema (a
 * newer one may have run a breaking migration since this process opened it; store/migrate.ts).
 */
export interface SchemaLedger {
  checkSchema(): Promise<SchemaVerdict>;
}

/** Records: applications. */
export interface ApplicationStore {
  createApplication(app: Application, idem?: IdempotencyWrite<Application>): Promise<Application>;
  getApplication(idOrUid: string): Promise<Application | null>;
  listApplications(q: PageQuery): Promise<Page<Application>>;
  updateApplication(app: Application): Promise<Application>;
  /**
   * Delete an application and its endpoints, then cancel their pending deliveries, in batches of
   * `cancelBatch` (see deleteEndpoint).
   */
  deleteApplication(id: string, now: number): Promise<void>;
  /** Pending deliveries canceled per statement when an endpoint or application is deleted. Settable for tests. */
  cancelBatch: number;
}

/**
 * Pending deliveries canceled per statement when an endpoint or application is deleted: each batch
 * is a short transaction of its own, so a large backlog's tasks are never all locked (or the
 * SQLite writer held) for the whole cancel.
 */
export const CANCEL_BATCH = 1000;

/** Records: event types (global to the installation). */
export interface EventTypeStore {
  getEventType(name: string): Promise<EventType | null>;
  listEventTypes(q: PageQuery, includeArchived: boolean): Promise<Page<EventType>>;
  /** Insert or replace by name. */
  putEventType(et: EventType, idem?: IdempotencyWrite<EventType>): Promise<EventType>;
  expungeEventType(name: string): Promise<void>;
  /** The names among `names` that are not existing, non-archived event types. */
  missingEventTypes(names: string[]): Promise<string[]>;
}

/** Records: endpoints. */
export interface EndpointStore {
  createEndpoint(ep: Endpoint, idem?: IdempotencyWrite<Endpoint>): Promise<Endpoint>;
  getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null>;
  listEndpoints(appId: string, q: PageQuery): Promise<Page<Endpoint>>;
  updateEndpoint(ep: Endpoint): Promise<Endpoint>;
  /**
   * Delete an endpoint, then cancel its pending deliveries (parked ones too) in batches of
   * `cancelBatch`, each its own transaction, and drop its key-order tails. The deletion commits
   * first: a claim that meets a delivery of a deleted endpoint cancels it itself, so a cancel cut
   * short (a crash) loses nothing.
   */
  deleteEndpoint(appId: string, id: string, now: number): Promise<void>;
}

/**
 * Records: messages, and what they became (deliveries, attempts). The message and one delivery
 * task per endpoint it goes to (domain/fanout.ts) commit together. `createApp` creates the
 * application in the same commit, unless one with its uid exists by then, in which case the
 * message goes to that one.
 */
export interface MessageStore {
  createMessage(msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }>;
  /** Several messages (and optionally an Engage state change) in ONE commit; see CreateMessagesOptions. */
  createMessages(msgs: Message[], opts: CreateMessagesOptions): Promise<{ messages: Message[]; tasks: DeliveryTask[] }>;
  getMessage(appId: string, idOrEventId: string): Promise<Message | null>;
  listMessages(appId: string, q: MessageListQuery): Promise<Page<Message>>;
  expungeMessageContent(appId: string, msgId: string): Promise<void>;
  listEndpointMessages(appId: string, endpointId: string, q: TaskListQuery): Promise<Page<EndpointMessage>>;
  listMessageDestinations(appId: string, msgId: string, q: PageQuery): Promise<Page<MessageDestination>>;
  listAttemptsByEndpoint(appId: string, endpointId: string, q: AttemptListQuery): Promise<Page<Attempt>>;
  listAttemptsByMessage(appId: string, msgId: string, q: AttemptListQuery): Promise<Page<Attempt>>;
  getAttempt(appId: string, msgId: string, attemptId: string): Promise<Attempt | null>;
  expungeAttemptContent(appId: string, attemptId: string): Promise<void>;
  endpointStats(appId: string, endpointId: string, sinceMs: number, untilMs: number): Promise<EndpointStats>;
}

/**
 * An endpoint's health over time: its attempts created in [sinceMs, untilMs), counted per bucket
 * of `bucketMs` from `sinceMs` on (every bucket present, empty ones with zeros), aggregated in
 * the database; the window is decided by domain/timeseries.ts.
 */
export interface EndpointHealthStore {
  endpointTimeseries(appId: string, endpointId: string, sinceMs: number, untilMs: number, bucketMs: number): Promise<HealthBucket[]>;
}

/**
 * The delivery queue. Claims are under a lease with a fencing token; every later write checks the
 * fence, so a dispatcher that lost its lease can never overwrite the newer owner's outcome. The
 * decisions (outcome, auto-disable, manual attempts, throttle) are made in domain/; the queue
 * persists what it is told, atomically.
 */
export interface DeliveryQueue {
  /**
   * Make one delivery due now as a manual attempt, creating its task if the message never went to
   * that endpoint. A scheduled retry still pending is kept for after a failed manual attempt; a
   * lease in progress is fenced out (its attempt is still recorded).
   */
  requeueDelivery(msgId: string, endpointId: string, appId: string, now: number): Promise<void>;
  /** Make every failed delivery of the endpoint within the window due again; returns how many. */
  recoverEndpoint(appId: string, endpointId: string, sinceMs: number, untilMs: number, now: number): Promise<number>;
  /**
   * Claim up to `limit` due tasks under a lease, in domain/fairness.ts's fair order (applications
   * take turns, then their endpoints, oldest first within an endpoint), at most `room` per endpoint
   * (no cap when absent). The cost does not grow with the number of due tasks nor with the number
   * of endpoints waiting: at most `claimWalk` endpoints with waiting tasks are visited, through an
   * index, plus those of the oldest due tasks, and each gives at most its room.
   */
  claim(owner: string, now: number, leaseMs: number, limit: number, room?: ClaimRoom): Promise<Claim>;
  /** claim's tasks alone. */
  claimDueTasks(owner: string, now: number, leaseMs: number, limit: number, room?: ClaimRoom): Promise<ClaimedTask[]>;
  /**
   * The most (application, endpoint) pairs with waiting tasks one claim walks (domain/fairness.ts
   * CLAIM_WALK), continuing from where the previous claim of this store stopped. Settable for
   * tests and benchmarks.
   */
  claimWalk: number;
  /**
   * Read what the claimed tasks need (endpoint, message, throttle rate), in claim order. A store
   * behind a network reads a whole claim in a few statements instead of three per delivery.
   */
  loadDeliveries(tasks: ClaimedTask[]): Promise<DeliveryContext[]>;
  /** The earliest time any task becomes due (or its lease expires), or null when none is pending. */
  nextDueAt(): Promise<number | null>;
  /**
   * Record an attempt and, under the task's fence, its next state and the endpoint bookkeeping.
   * `fenced`: the fence still held, so the task's state was written (false: a newer owner has the
   * task; the attempt is recorded all the same). `disabled`: this completion disabled the
   * endpoint. `failSince`: the start of the endpoint's failure streak when the attempt exhausted
   * its retries, else null.
   */
  completeAttempt(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }>;
  /**
   * Put a claimed task back, due at `at`, without an attempt (throttled, endpoint busy). A
   * `throttleSlot` it holds comes back with its next claim, so it is not reserved twice.
   */
  deferTask(task: ClaimedTask, at: number, throttleSlot?: number | null): Promise<boolean>;
  /**
   * Reserve the endpoint's next send slot, `intervalMs` after the last one taken (domain/throttle.ts
   * slotInterval, reserveSlot), and return its time (>= now). Atomic across every process sharing
   * the database, so the rate holds cluster-wide.
   */
  reserveThrottleSlot(endpointId: string, intervalMs: number, now: number): Promise<number>;
  /** End a task without an attempt (endpoint gone or disabled, payload expired). */
  cancelTask(task: ClaimedTask, now: number): Promise<void>;
  /**
   * Ordered delivery's recovery sweep: release (make due now) up to `limit` parked deliveries whose
   * predecessor in their key has ended. Each end releases its successor in its own commit; this
   * catches what that could not (an end recorded by an older Herald, a resend racing an end).
   * Returns how many were released.
   */
  sweepOrder(now: number, limit: number): Promise<number>;
  /** Give up every lease `owner` holds (graceful stop), so others can claim at once. */
  releaseLeases(owner: string, now: number): Promise<void>;
  /** Register a callback run after a commit that made tasks due (message accepted, resend, recover). */
  onTasksDue(listener: () => void): void;
  /**
   * Register a callback run when ANY process sharing the database may have made tasks due
   * (PostgreSQL: LISTEN/NOTIFY on a dedicated connection, re-established when it drops; it may also
   * run spuriously, e.g. after reconnecting). Only shortens waits: polling stays the guarantee.
   * SQLite has one process, so `onTasksDue` already covers it and this registers nothing.
   */
  onTasksDueElsewhere(listener: () => void, log?: { warn(obj: object, msg: string): void }): void;
  /** Pending work: tasks waiting (due now or later) and the age of the oldest due task. */
  queueStats(now: number): Promise<{ waiting: number; due: number; oldestDueAgeMs: number }>;
}

/** Retention: one small batch per call, its own short commit, taking only rows nobody else has locked; the purger loops. */
export interface RetentionStore {
  purgeBatch(kind: PurgeKind, cutoff: number, limit: number): Promise<PurgeBatchResult>;
}

/** Audit log of management changes (domain/audit.ts): appended once per audited request; listed by id (time order). */
export interface AuditStore {
  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(q: AuditListQuery): Promise<Page<AuditEntry>>;
}

/** Background tasks (long operations the API reports on). */
export interface BackgroundTaskStore {
  createBackgroundTask(task: BackgroundTask): Promise<BackgroundTask>;
  updateBackgroundTask(task: BackgroundTask): Promise<BackgroundTask>;
  getBackgroundTask(id: string): Promise<BackgroundTask | null>;
}

/** Idempotency: stored answers and the holds that serialise one key's requests. */
export interface IdempotencyStore {
  getIdempotentResponse(key: string, notBefore: number): Promise<IdempotentResponse | null>;
  putIdempotentResponse(key: string, resp: IdempotentResponse): Promise<void>;
  /**
   * True when key holds live in this process (one API process owns the data, as with SQLite):
   * then only this process's own requests can answer a key, and they are already serialised per
   * key in memory, so an answer cannot appear between a miss and the hold that follows it.
   */
  readonly idempotencyHoldsAreLocal: boolean;
  /**
   * Take the right to answer `key` until `until` (epoch ms), unless another holder has it and its
   * hold has not lapsed by `now`. Atomic across every process that may answer the key: every
   * process sharing the database, or this one alone when holds are process-local.
   */
  lockIdempotencyKey(key: string, now: number, until: number): Promise<boolean>;
  /** Give `key` up (its answer, if any, is stored by then). */
  unlockIdempotencyKey(key: string): Promise<void>;
}

/** Engage: tenant settings and the change detector's state; the key and the states are sealed at rest. */
export interface EngageStore {
  getEngageSettings(appId: string): Promise<EngageSettings>;
  setEngageModule(appId: string, enabled: boolean, now: number): Promise<EngageSettings>;
  /** Set, rotate (a new key) or clear (null) the payload encryption key. */
  setEngageKey(appId: string, key: string | null, now: number): Promise<EngageSettings>;
  getEngageState(appId: string, kind: EngageStateKind, key: string): Promise<EngageStateRecord>;
}

/**
 * Held deliveries and endpoint circuits (domain/hold.ts): one stored circuit row per endpoint,
 * shared by every worker process.
 */
export interface HoldStore {
  /**
   * Put a claimed task back without an attempt because `by` holds it (domain/hold.ts), due again at
   * `until`, marked held. The hold re-checks, in the same transaction, that the module is still
   * off or the circuit still not closed (a release in between: due now instead); false then.
   */
  holdTask(task: ClaimedTask, by: HeldBy, until: number, now: number): Promise<boolean>;

  /** The endpoint's circuit (CLOSED_CIRCUIT when none is stored). */
  getCircuit(endpointId: string): Promise<Circuit>;
  /**
   * Apply `next` (domain/hold.ts afterAttempt) to the circuit as it is inside one transaction, so
   * concurrent writers from any process never lose a count. The version rises. When the change
   * closes the circuit, the endpoint's deliveries held by it are due at `now` in the same commit.
   */
  updateCircuit(appId: string, endpointId: string, now: number, next: (c: Circuit) => CircuitChange): Promise<CircuitChange>;
  /**
   * Claim the half-open probe: the circuit goes half-open with the probe due to finish by `until`,
   * only if it is still at `expectedVersion` (compare-and-set). The new circuit, or null when another
   * delivery (in any process) claimed it first.
   */
  claimProbe(endpointId: string, expectedVersion: number, until: number, now: number): Promise<Circuit | null>;
  /**
   * Make every delivery the circuit holds for this endpoint due at `now` (after the endpoint was
   * disabled: they are then cancelled like any delivery to a disabled endpoint). Returns how many.
   */
  releaseCircuitHolds(appId: string, endpointId: string, now: number): Promise<number>;
  /** How many endpoints' circuits are open or half-open now (for metrics). */
  openCircuits(): Promise<number>;
}

/** Portal sessions. */
export interface PortalSessionStore {
  createPortalSession(s: PortalSession, idem?: IdempotencyWrite<PortalSession>): Promise<PortalSession>;
  getPortalSession(id: string): Promise<PortalSession | null>;
  revokePortalSession(id: string, now: number): Promise<void>;
}

/**
 * Records: destinations of every type (domain/destinations.ts), their config sealed at rest, and
 * the positions of a polling endpoint's consumers. A polling endpoint's messages are read with
 * `listMessages`; what it records of a delivery made through it (`herald listen`) is an attempt
 * row like an endpoint's, its `endpointId` the destination's id.
 */
export interface DestinationStore {
  createDestination(d: Destination, idem?: IdempotencyWrite<Destination>): Promise<Destination>;
  /** Null when missing, deleted, or of another application (expired leases are the caller's to check). */
  getDestination(appId: string, idOrUid: string): Promise<Destination | null>;
  /** `types`: only destinations of these types (the API leaves Herald's own out unless asked). */
  listDestinations(appId: string, q: PageQuery, types?: readonly string[]): Promise<Page<Destination>>;
  updateDestination(d: Destination): Promise<Destination>;
  /** Delete the destination and its consumers' positions. */
  deleteDestination(appId: string, id: string, now: number): Promise<void>;
  /** Move a temporary destination's expiry (a read renewed its lease). */
  renewDestinationLease(id: string, expiresAt: number): Promise<void>;
  /** Delete up to `limit` destinations whose lease ran out by `now`; returns how many. */
  expireDestinations(now: number, limit: number): Promise<number>;
  /** A consumer's position, or null when it has none yet. */
  getConsumerPosition(destinationId: string, consumerId: string): Promise<string | null>;
  /**
   * Set a consumer's position. `forwardOnly`: only when it moves past the stored one (positions
   * compare as strings), so a late or repeated write never takes a consumer back.
   */
  setConsumerPosition(destinationId: string, consumerId: string, position: string, now: number, forwardOnly: boolean): Promise<void>;
  /**
   * Record an attempt made through a destination and, in the same commit, move `consumer`'s
   * position forward to the attempt's message: the position advances only with the answer.
   */
  recordDestinationAttempt(attempt: Attempt, consumer?: { destinationId: string; consumerId: string }): Promise<void>;
}

/** The whole contract: every sub-contract, as one store implements them. */
export type Store = StoreLifecycle &
  SchemaLedger &
  ApplicationStore &
  EventTypeStore &
  EndpointStore &
  DestinationStore &
  MessageStore &
  EndpointHealthStore &
  DeliveryQueue &
  RetentionStore &
  AuditStore &
  BackgroundTaskStore &
  IdempotencyStore &
  EngageStore &
  HoldStore &
  PortalSessionStore;
