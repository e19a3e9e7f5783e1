// Messages: accepted events. A message is answered 202 only after it and its delivery tasks (one
// per endpoint it matched) are committed together.
import { badRequest, conflict, invalidBody, notFound, payloadTooLarge } from '../../domain/errors.js';
import { isIdOf } from '../../domain/ids.js';
import { rawMember } from '../../domain/json-span.js';
import { orderingKeyProblem } from '../../domain/ordering.js';
import type { Application, Message } from '../../domain/types.js';
import { isEngageEventType } from '@herald/engage';
import { engageExampleFor } from '../../engage/producer.js';
import { route, type Ctx } from '../route.js';
import { enforcerOf, lazyPayload } from '../schema-enforcement.js';
import { messageOut } from '../serialize.js';
import { newApplication } from './applications.js';
import { mapPage, pageOf, requireModuleForPortal, timeParam } from './common.js';

const DAY_MS = 24 * 3600 * 1000;

export interface MessageInput {
  eventType: string;
  /** The payload as a value, or as its exact JSON text in `rawPayload` (which wins). */
  payload?: unknown;
  rawPayload?: string;
  eventId?: string | null;
  channels?: string[] | null;
  retentionDays?: number;
  /** Herald: orders this message's deliveries among those with the same key (domain/ordering.ts). */
  orderingKey?: string | null;
}

/**
 * A new message for `app`, checked (size, eventId) but not stored. acceptMessage stores one; the
 * Engage producer routes store several with a state change through store.createMessages.
 */
export function newMessage(c: Ctx, appId: string, m: MessageInput): Message {
  const payload = m.rawPayload ?? JSON.stringify(m.payload ?? null);
  if (Buffer.byteLength(payload) > c.deps.config.maxPayloadBytes) {
    throw payloadTooLarge(`The payload is ${Buffer.byteLength(payload)} bytes; at most ${c.deps.config.maxPayloadBytes} are accepted.`);
  }
  if (m.eventId?.startsWith('msg_')) throw invalidBody(['eventId'], "eventId must not start with 'msg_'");
  if (m.orderingKey !== undefined && m.orderingKey !== null) {
    const problem = orderingKeyProblem(m.orderingKey);
    if (problem) throw invalidBody(['orderingKey'], problem);
  }
  return {
    id: c.deps.ids.next('message', c.now),
    appId,
    eventId: m.eventId ?? null,
    eventType: m.eventType,
    channels: m.channels?.length ? m.channels : null,
    payload,
    expiresAt: c.now + (m.retentionDays ?? 90) * DAY_MS,
    createdAt: c.now,
    orderingKey: m.orderingKey ?? null,
  };
}

interface AcceptOptions {
  onlyEndpointId?: string;
  triggerType?: number;
  withContent?: boolean;
  status?: number;
  createApp?: Application;
}

/** Accept one message for `c.app` (creating nothing else); shared by create and send-example. */
export async function acceptMessage(c: Ctx, m: MessageInput, opts: AcceptOptions = {}) {
  const msg = newMessage(c, (c.app ?? opts.createApp)!.id, m);
  const traced = traceAccepts(c, [msg]);
  try {
    const accepted = await storeMessage(c, msg, m, opts);
    traced?.();
    return accepted;
  } catch (e) {
    traced?.(e);
    throw e;
  }
}

/**
 * With tracing on, one `herald.message.accept` span per message (continuing the request's
 * `traceparent`), whose traceparent the message keeps so every delivery attempt joins its trace.
 * Call the result once the messages are stored, or with the error that stopped them.
 */
export function traceAccepts(c: Ctx, msgs: Message[]): ((error?: unknown) => void) | undefined {
  const tracing = c.deps.tracing;
  if (!tracing) return undefined;
  const h = c.headers.traceparent;
  const incoming = Array.isArray(h) ? h[0] : h;
  const spans = msgs.map((m) => {
    const span = tracing.acceptSpan(incoming);
    m.traceparent = span.traceparent;
    return span;
  });
  return (error) => {
    spans.forEach((span, i) => {
      const m = msgs[i]!;
      span.end(error === undefined ? { msgId: m.id, appId: m.appId, eventType: m.eventType } : null, error);
    });
  };
}

async function storeMessage(c: Ctx, msg: Message, m: MessageInput, opts: AcceptOptions) {
  // The event type's schema, when it enforces one: a 422 under 'reject', recorded under 'warn'.
  msg.schemaViolations = await enforcerOf(c.deps.store).check(msg.eventType, lazyPayload(m.payload, msg.payload), c.now);
  const withContent = opts.withContent ?? true;
  const status = opts.status ?? 202;
  const out = (r: Message) => messageOut(r, withContent);
  try {
    const { message } = await c.deps.store.createMessage(msg, {
      onlyEndpointId: opts.onlyEndpointId,
      triggerType: opts.triggerType,
      createApp: opts.createApp,
      // The stored answer names the message; `replayMessage` renders it again for a repeat.
      idem: c.idem(status, out, (r) => r.id),
    });
    c.deps.metrics.messagesAccepted();
    return { status, body: out(message) };
  } catch (e) {
    if (e instanceof Error && 'status' in e && (e as { status: number }).status === 409) {
      throw conflict(`A message with eventId '${m.eventId}' already exists in this application`);
    }
    throw e;
  }
}

/**
 * A repeat of an idempotent message create (or send-example): the message as it is now, so a
 * payload expunged since is not brought back. Gone with its application, it is a 404.
 */
async function replayMessage(c: Ctx, msgId: string) {
  const message = c.app ? await c.deps.store.getMessage(c.app.id, msgId) : null;
  if (!message) throw notFound('Message');
  return messageOut(message, c.query.with_content !== false);
}

export const messageRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.message.list',
    access: 'view',
    app: 'required',
    async handler(c) {
      const page = await c.deps.store.listMessages(c.app!.id, {
        ...pageOf(c, 'descending'),
        eventTypes: c.query.event_types,
        channel: c.query.channel,
        afterMs: c.query.iterator ? undefined : timeParam(c, 'after'),
        beforeMs: c.query.iterator ? undefined : timeParam(c, 'before'),
      });
      const withContent = c.query.with_content !== false;
      return { status: 200, body: mapPage(page, (m) => messageOut(m, withContent)) };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.message.create',
    access: 'org',
    app: 'optional',
    replay: replayMessage,
    opaque: ['payload'],
    async handler(c) {
      const b = c.body;
      let createApp: Application | undefined;
      if (!c.app) {
        // Svix lets the first message create its application inline; it commits with the message.
        if (!b.application) throw notFound('Application');
        const uid = b.application.uid ?? c.params.app_id;
        if (uid !== c.params.app_id || isIdOf('application', uid)) {
          throw invalidBody(['application', 'uid'], 'application.uid must match the application uid in the path', 'application_uid_mismatch');
        }
        createApp = newApplication(c, b.application, uid);
      }
      return acceptMessage(
        c,
        {
          eventType: b.eventType,
          payload: b.payload,
          // The payload exactly as sent (JSON.parse would round integers past 2^53).
          rawPayload: c.rawBody === undefined ? undefined : rawMember(c.rawBody, 'payload'),
          eventId: b.eventId,
          channels: b.channels,
          retentionDays: b.payloadRetentionPeriod,
          orderingKey: b.orderingKey,
        },
        { withContent: c.query.with_content !== false, createApp },
      );
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.message.get',
    access: 'view',
    app: 'required',
    message: 'required',
    async handler(c) {
      return { status: 200, body: messageOut(c.message!, c.query.with_content !== false) };
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.message.expunge-content',
    access: 'org',
    app: 'required',
    message: 'required',
    async handler(c) {
      await c.deps.store.expungeMessageContent(c.app!.id, c.message!.id);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.endpoint.send-example',
    access: 'manage',
    app: 'required',
    endpoint: 'required',
    replay: replayMessage,
    async handler(c) {
      await requireModuleForPortal(c);
      const manual = { onlyEndpointId: c.endpoint!.id, triggerType: 1, status: 200 };
      // `svix.ping` is built in, as in Svix: it needs no event type and sends {"success": true}.
      if (c.body.eventType === 'svix.ping') return acceptMessage(c, { eventType: 'svix.ping', payload: { success: true } }, manual);
      const et = await c.deps.store.getEventType(c.body.eventType);
      if (!et || et.archived) throw invalidBody(['eventType'], `The event type '${c.body.eventType}' doesn't exist`);
      const index = (c.body.exampleIndex as number | undefined) ?? 0;
      const schema = (et.schemas?.['1'] ?? Object.values(et.schemas ?? {})[0]) as { examples?: unknown[] } | undefined;
      const example = schema?.examples?.[index];
      if (example === undefined || example === null || typeof example !== 'object' || Array.isArray(example)) {
        throw badRequest(`The event type '${et.name}' has no example object at index ${index}: add one to schemas["1"].examples`, 'invalid_scheme');
      }
      // An Engage event type's example is a plaintext envelope: re-address it to this tenant and,
      // when the tenant has a key, encrypt it, so a test send looks exactly like a real event.
      const engage = isEngageEventType(et.name) ? await engageExampleFor(c.deps.store, c.app!, et.name, example as Record<string, unknown>) : null;
      return acceptMessage(c, engage ?? { eventType: et.name, payload: example }, manual);
    },
  }),
];
