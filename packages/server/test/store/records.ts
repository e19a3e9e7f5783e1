// Domain records for store-level tests, with sensible defaults and overrides.
import { randomBytes } from 'node:crypto';
import { IdGenerator } from '../../src/domain/ids.js';
import { MessageStatus, type Application, type Attempt, type Endpoint, type EventType, type Message } from '../../src/domain/types.js';
import type { ClaimedTask, Store } from '../../src/store/store.js';

/**
 * Ids for test records. Minting is monotonic (an id never sorts before the previous one), so each
 * test starts a fresh generator (`resetIds`): ids then follow the times the test mints them at.
 */
export let ids = new IdGenerator((n) => randomBytes(n));
export function resetIds(): void {
  ids = new IdGenerator((n) => randomBytes(n));
}
export const T0 = Date.parse('2026-03-01T00:00:00Z');
export const LEASE = 60_000;
export const DAY = 864e5;

export function app(o: Partial<Application> = {}): Application {
  return {
    id: ids.next('application', T0),
    uid: null,
    name: 'app',
    throttleRate: null,
    metadata: {},
    deliveryPolicy: null,
    createdAt: T0,
    updatedAt: T0,
    ...o,
  };
}

export function endpoint(appId: string, o: Partial<Endpoint> = {}): Endpoint {
  return {
    id: ids.next('endpoint', T0),
    appId,
    uid: null,
    url: 'https://example.com/hook',
    description: '',
    throttleRate: null,
    disabled: false,
    disabledReason: null,
    eventTypes: null,
    channels: null,
    metadata: {},
    headers: {},
    secret: `whsec_${randomBytes(24).toString('base64')}`,
    previousSecrets: [],
    deliveryPolicy: null,
    filter: null,
    ordering: 'none',
    auth: null,
    transformation: null,
    createdAt: T0,
    updatedAt: T0,
    ...o,
  };
}

export function message(appId: string, o: Partial<Message> = {}): Message {
  const createdAt = o.createdAt ?? T0;
  return {
    id: ids.next('message', createdAt),
    appId,
    eventId: null,
    eventType: 'user.created',
    channels: null,
    payload: '{"a":1}',
    expiresAt: createdAt + 30 * DAY,
    schemaViolations: null,
    createdAt,
    orderingKey: null,
    traceparent: null,
    ...o,
  };
}

export function eventType(name: string, o: Partial<EventType> = {}): EventType {
  return {
    name,
    description: `about ${name}`,
    archived: false,
    deprecated: false,
    schemas: null,
    featureFlag: null,
    groupName: null,
    schemaEnforcement: 'off',
    createdAt: T0,
    updatedAt: T0,
    ...o,
  };
}

export function attemptFor(t: ClaimedTask, at: number, ok: boolean, o: Partial<Attempt> = {}): Attempt {
  return {
    id: ids.next('attempt', at),
    msgId: t.msgId,
    endpointId: t.endpointId,
    appId: t.appId,
    url: 'https://example.com/hook',
    response: ok ? 'ok' : 'no',
    responseStatusCode: ok ? 200 : 500,
    responseDurationMs: 1,
    requestHeaders: `{"webhook-id":"${t.msgId}","x-api-key":"••••"}`,
    status: ok ? MessageStatus.success : MessageStatus.fail,
    triggerType: t.triggerType === 1 ? 1 : 0,
    createdAt: at,
    ...o,
  };
}

export const page = (o: { limit?: number; after?: string | null; before?: string | null; order?: 'ascending' | 'descending' } = {}) => ({
  limit: o.limit ?? 50,
  after: o.after ?? null,
  before: o.before ?? null,
  order: o.order ?? ('descending' as const),
});

/** One application, one catch-all endpoint and `messages` messages, one millisecond apart. */
export async function seed(store: Store, messages: number): Promise<{ appId: string; endpointId: string; msgIds: string[] }> {
  const a = await store.createApplication(app());
  const ep = await store.createEndpoint(endpoint(a.id));
  const msgIds: string[] = [];
  for (let i = 0; i < messages; i++) {
    const r = await store.createMessage(message(a.id, { createdAt: T0 + i }), {});
    if (r.tasks.length !== 1) throw new Error('expected one task');
    msgIds.push(r.message.id);
  }
  return { appId: a.id, endpointId: ep.id, msgIds };
}

/** The delivery of `msgId` to `endpointId`, as the endpoint's message list shows it. */
export async function taskOf(store: Store, appId: string, endpointId: string, msgId: string) {
  const p = await store.listEndpointMessages(appId, endpointId, { ...page({ limit: 250 }) });
  const hit = p.data.find((d) => d.message.id === msgId);
  if (!hit) throw new Error(`no delivery of ${msgId} to ${endpointId}`);
  return hit.task;
}
