// Domain records → Svix's wire shapes (camelCase, RFC 3339 dates, integer enums).
import { STATUS_TEXT, type Application, type Attempt, type DeliveryTask, type Endpoint, type EventType, type Message } from '../domain/types.js';
import type { DeliveryPolicy } from '../domain/policy.js';
import type { BackgroundTask } from '../store/store.js';
import { publicConfig, startPosition, type Destination } from '../domain/destinations.js';

import { randomBytes } from 'node:crypto';

// The last instant formatted: under load many answers in a row carry the same millisecond.
let lastIsoMs = NaN;
let lastIso = '';
export function iso(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

// A per-process random marker: a client cannot plant it in a string to get raw text spliced in.
const NONCE = `__herald_raw_${randomBytes(9).toString('hex')}_`;
const TOKEN = new RegExp(`"${NONCE}(\\d+)"`, 'g');
/** Raw texts met by the JSON.stringify call in progress (it is synchronous, so one list serves). */
let pending: string[] = [];

/** JSON text to embed as is (a stored payload): no parse, no re-serialisation, no rounding. */
export class RawJson {
  constructor(readonly text: string) {}
  /** Stands in a token that toJson swaps for the text; no replacer needed, so stringify stays fast. */
  toJSON(): string {
    pending.push(this.text);
    return `${NONCE}${pending.length - 1}`;
  }
}

/** JSON.stringify that splices RawJson values in verbatim. */
export function toJson(value: unknown): string {
  pending = [];
  const text = JSON.stringify(value);
  const raws = pending;
  pending = [];
  return raws.length === 0 ? text : text.replace(TOKEN, (_m, i: string) => raws[Number(i)]!);
}

/** Herald: an application's or endpoint's own retry schedule and timeout; null inherits. */
function policyOut(p: DeliveryPolicy | null | undefined) {
  return { retrySchedule: p?.retrySchedule ?? null, timeout: p?.timeout ?? null };
}

export function applicationOut(a: Application) {
  return {
    id: a.id,
    uid: a.uid,
    name: a.name,
    throttleRate: a.throttleRate,
    rateLimit: a.throttleRate,
    metadata: a.metadata,
    ...policyOut(a.deliveryPolicy),
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

export function eventTypeOut(e: EventType, withContent = true) {
  return {
    name: e.name,
    description: e.description,
    archived: e.archived,
    deprecated: e.deprecated,
    schemas: withContent ? e.schemas : null,
    featureFlag: e.featureFlag,
    groupName: e.groupName,
    schemaEnforcement: e.schemaEnforcement ?? 'off',
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

function endpointFields(e: Endpoint) {
  return {
    id: e.id,
    uid: e.uid,
    url: e.url,
    description: e.description,
    throttleRate: e.throttleRate,
    rateLimit: e.throttleRate,
    disabled: e.disabled,
    eventTypes: e.eventTypes,
    filterTypes: e.eventTypes,
    channels: e.channels,
    metadata: e.metadata,
    ordering: e.ordering,
    ...policyOut(e.deliveryPolicy),
    filter: e.filter ?? null,
    version: 1,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

export function endpointOut(e: Endpoint) {
  return { ...endpointFields(e), disabledReason: e.disabledReason };
}

/** The payload of a message: `{}` without content, `{expired: true}` once purged. */
function payloadOf(m: Message, withContent: boolean): unknown {
  if (!withContent) return {};
  if (m.payload === null) return { expired: true };
  return new RawJson(m.payload);
}

export function messageOut(m: Message, withContent = true) {
  const out = {
    id: m.id,
    eventId: m.eventId,
    eventType: m.eventType,
    payload: payloadOf(m, withContent),
    channels: m.channels,
    timestamp: iso(m.createdAt),
    // Herald: only when set, so a message without one answers exactly as in Svix.
    ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}),
  };
  // Herald: only on a message accepted with schema violations (its event type enforced 'warn').
  return m.schemaViolations ? { ...out, schemaViolations: m.schemaViolations } : out;
}

function deliveryState(t: DeliveryTask) {
  return { status: t.status, statusText: STATUS_TEXT[t.status], nextAttempt: isoOrNull(t.nextAttemptAt) };
}

export function endpointMessageOut(m: Message, t: DeliveryTask, withContent = true) {
  return { ...messageOut(m, withContent), ...deliveryState(t) };
}

export function messageEndpointOut(e: Endpoint, t: DeliveryTask) {
  return { ...endpointFields(e), ...deliveryState(t), waitingFor: t.waitingFor ?? null };
}

export function attemptOut(a: Attempt, withContent = true) {
  return {
    id: a.id,
    msgId: a.msgId,
    endpointId: a.endpointId,
    url: a.url,
    response: withContent ? a.response : '{}',
    responseStatusCode: a.responseStatusCode,
    responseDurationMs: a.responseDurationMs,
    requestHeaders: withContent && a.requestHeaders !== null ? (JSON.parse(a.requestHeaders) as Record<string, string>) : null,
    status: a.status,
    statusText: STATUS_TEXT[a.status],
    triggerType: a.triggerType,
    timestamp: iso(a.createdAt),
  };
}

export function backgroundTaskOut(t: BackgroundTask) {
  return { id: t.id, status: t.status, task: t.kind, data: t.data, updatedAt: iso(t.updatedAt) };
}

/** `failureReason`: why Herald disabled a broker destination (its endpoint row's auto-disable); it then shows as disabled. */
export function destinationOut(d: Destination, failureReason: string | null = null) {
  return {
    type: d.type,
    config: publicConfig(d),
    id: d.id,
    uid: d.uid,
    status: failureReason === null ? d.status : 'disabled',
    currentIterator: startPosition(d),
    failureReason,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    batchSize: d.batchSize,
    maxWaitSecs: d.maxWaitSecs,
    eventTypes: d.eventTypes ?? undefined,
    channels: d.channels ?? undefined,
    nextRetryAt: null,
    metadata: d.metadata,
    expiresAt: isoOrNull(d.expiresAt),
    leaseSecs: d.leaseMs === null ? null : d.leaseMs / 1000,
  };
}

/** A message as a polling endpoint hands it out (Svix's PollingEndpointMessageOut). */
export function pollingMessageOut(m: Message) {
  return { ...messageOut(m), headers: null, tags: null, deliverAt: null };
}
