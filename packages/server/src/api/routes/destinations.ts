// Destinations (Svix's `destination.*`) and the polling endpoint's reads (`message.poller.*`),
// with Herald's additions: a temporary destination's lease, the signing secret a reader forwards
// with, long polls, and the attempts a reader reports. The rules are in domain/destinations.ts.
import {
  checkBrokerConfig,
  clampPosition,
  DESTINATION_TYPES,
  destinationMatches,
  isBrokerKind,
  isPosition,
  leaseExpired,
  leaseRenewal,
  pollWindow,
  positionAfter,
  startPosition,
  POLL_DEFAULT_LIMIT,
  POLL_MAX_LIMIT,
  type Destination,
} from '../../domain/destinations.js';
import type { BrokerKind } from '../../domain/types.js';
import { invalidBody, notFound, ValidationError } from '../../domain/errors.js';
import { isIdOf } from '../../domain/ids.js';
import { MessageStatus, type Attempt, type Message } from '../../domain/types.js';
import { checkMetadata, checkUid } from '../../domain/validation.js';
import { generateSigningSecret, revealableSecret } from '../../security/secrets.js';
import { route, type Ctx } from '../route.js';
import { attemptOut, destinationOut, pollingMessageOut } from '../serialize.js';
import { instant, mapPage, pageOf, requireEventTypes } from './common.js';
import { TENANT_SSRF_REFUSAL } from './endpoints.js';

const listOrNull = (v: string[] | null | undefined) => (v?.length ? v : null);
/** The types Svix's SDKs know: a list shows only these unless `include_herald_types` asks for all. */
const SVIX_TYPES = Object.entries(DESTINATION_TYPES)
  .filter(([, r]) => !r.herald)
  .map(([t]) => t);
const DEFAULT_BATCH_SIZE = 100;
/** How often a long poll looks again while it waits. */
const WAIT_STEP_MS = 200;

/** The path's destination, of the path's application; one whose lease ran out is removed and answers 404. */
async function destinationOf(c: Ctx, idOrUid: string): Promise<Destination> {
  const d = await c.deps.store.getDestination(c.app!.id, idOrUid);
  if (!d) throw notFound('Destination');
  if (leaseExpired(d, c.now)) {
    await c.deps.store.deleteDestination(d.appId, d.id, c.now);
    throw notFound('Destination');
  }
  return d;
}

/** A polling endpoint's path (`sink_id`): another type of destination cannot be polled. */
async function sinkOf(c: Ctx): Promise<Destination> {
  const d = await destinationOf(c, c.params.sink_id!);
  if (d.type !== 'pollingEndpoint') throw notFound('Polling endpoint');
  return d;
}

/** A read renews a temporary destination's lease. */
async function renewLease(c: Ctx, d: Destination): Promise<void> {
  const at = leaseRenewal(d, c.deps.now());
  if (at !== null) await c.deps.store.renewDestinationLease(d.id, at);
}

async function checkFields(c: Ctx, b: Record<string, any>): Promise<void> {
  checkUid('destination', b.uid);
  checkMetadata(b.metadata);
  await requireEventTypes(c, listOrNull(b.eventTypes));
}

/**
 * A destination as answered: a broker destination that Herald disabled (its endpoint row was
 * auto-disabled after failing for days, or the broker asked) shows as disabled, with the reason.
 */
async function shown(c: Ctx, d: Destination) {
  if (!isBrokerKind(d.type) || d.status === 'disabled') return destinationOut(d);
  const ep = await c.deps.store.getEndpoint(d.appId, d.id);
  return destinationOut(d, ep?.disabled ? (ep.disabledReason ?? 'Disabled by Herald') : null);
}

/** A broker destination is permanent: its deliveries are the dispatcher's, not a reader's. */
function checkLease(b: Record<string, any>): void {
  if (isBrokerKind(b.type) && b.leaseSecs !== undefined && b.leaseSecs !== null)
    throw invalidBody(['leaseSecs'], 'only a polling endpoint can be temporary', 'value_error.lease');
}

/**
 * A broker's config, checked (domain/destinations.ts), whose hosts, when IP literals, the SSRF
 * guard lets through (names are judged as they resolve, at each connection), as for endpoint URLs.
 */
function brokerConfig(c: Ctx, type: BrokerKind, raw: unknown, previous?: Record<string, unknown>): Record<string, unknown> {
  const config = checkBrokerConfig(type, raw, previous);
  const uris: [(string | number)[], string][] = Array.isArray(config.servers)
    ? (config.servers as string[]).map((u, i) => [['config', 'servers', i], u])
    : [[['config', 'uri'], String(config.uri)]];
  for (const [loc, uri] of uris) {
    const refused = c.deps.ssrf.urlRefusal(/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : `nats://${uri}`);
    if (refused) throw invalidBody(loc, c.principal.kind === 'portal' ? TENANT_SSRF_REFUSAL : refused, 'value_error.url.ssrf');
  }
  return config;
}

/** The type's settings: a polling endpoint's signing secret; a broker's connection, checked, and its own signing secret. */
function newConfig(c: Ctx, b: Record<string, any>): Record<string, unknown> {
  const secret = generateSigningSecret();
  return isBrokerKind(b.type) ? { ...brokerConfig(c, b.type, b.config), secret } : { secret };
}

async function newDestination(c: Ctx, b: Record<string, any>, uidFallback?: string): Promise<Destination> {
  const uid = (b.uid as string | null | undefined) ?? uidFallback ?? null;
  await checkFields(c, { ...b, uid });
  checkLease(b);
  const config = newConfig(c, b);
  const leaseMs = typeof b.leaseSecs === 'number' ? b.leaseSecs * 1000 : null;
  return {
    id: c.deps.ids.next('destination', c.now),
    appId: c.app!.id,
    uid,
    type: b.type,
    status: b.status ?? 'enabled',
    eventTypes: listOrNull(b.eventTypes),
    channels: listOrNull(b.channels),
    metadata: b.metadata ?? {},
    batchSize: b.batchSize ?? DEFAULT_BATCH_SIZE,
    maxWaitSecs: b.maxWaitSecs ?? 0,
    config,
    leaseMs,
    expiresAt: leaseMs === null ? null : c.now + leaseMs,
    createdAt: c.now,
    updatedAt: c.now,
  };
}

/** The fields a PUT or PATCH changes; the type is fixed at creation. */
async function changed(c: Ctx, d: Destination, b: Record<string, any>, patch: boolean): Promise<Destination> {
  if (b.type !== undefined && b.type !== d.type) throw invalidBody(['type'], "a destination's type cannot change");
  await checkFields(c, b);
  checkLease({ ...b, type: d.type });
  // A broker's connection: replaced when sent (redacted values and left-out secrets keep the stored ones), kept on a PATCH without it.
  const config =
    isBrokerKind(d.type) && (b.config !== undefined || !patch) ? { ...brokerConfig(c, d.type, b.config, d.config), secret: d.config.secret } : d.config;
  const pick = <K extends keyof Destination>(k: K, v: Destination[K] | undefined, dflt: Destination[K]): Destination[K] =>
    v !== undefined ? v : patch ? d[k] : dflt;
  const leaseMs = b.leaseSecs === undefined ? (patch ? d.leaseMs : null) : b.leaseSecs === null ? null : b.leaseSecs * 1000;
  return {
    ...d,
    uid: pick('uid', b.uid, null),
    status: pick('status', b.status, 'enabled'),
    eventTypes: b.eventTypes !== undefined ? listOrNull(b.eventTypes) : patch ? d.eventTypes : null,
    channels: b.channels !== undefined ? listOrNull(b.channels) : patch ? d.channels : null,
    metadata: pick('metadata', b.metadata, {}),
    batchSize: pick('batchSize', b.batchSize, DEFAULT_BATCH_SIZE),
    maxWaitSecs: pick('maxWaitSecs', b.maxWaitSecs, 0),
    config,
    leaseMs,
    expiresAt: leaseMs === null ? null : c.now + leaseMs,
    updatedAt: c.now,
  };
}

interface PollRead {
  data: Message[];
  iterator: string;
  done: boolean;
}

/** One read of a polling endpoint from `from`: its messages in the poll window, oldest first. */
async function readSink(c: Ctx, d: Destination, from: string, limit: number, only: { eventType?: string; channel?: string } = {}): Promise<PollRead> {
  let eventTypes = d.eventTypes ?? undefined;
  if (only.eventType !== undefined) eventTypes = !eventTypes || eventTypes.includes(only.eventType) ? [only.eventType] : [];
  if (d.status === 'disabled' || (eventTypes && eventTypes.length === 0)) return { data: [], iterator: from, done: true };
  const w = pollWindow(d, c.deps.now());
  const page = await c.deps.store.listMessages(d.appId, {
    limit,
    after: from,
    before: null,
    order: 'ascending',
    eventTypes,
    channel: only.channel,
    afterMs: w.afterMs,
    beforeMs: w.beforeMs,
  });
  // Channels (any in common) are checked here; the page's iterator still moves past what they leave out.
  return { data: page.data.filter((m) => destinationMatches(d, m.eventType, m.channels)), iterator: page.iterator ?? from, done: page.done };
}

function pollLimit(c: Ctx): number {
  const limit = c.query.limit as number | undefined;
  if (limit !== undefined && (limit < 1 || limit > POLL_MAX_LIMIT)) {
    throw new ValidationError([{ loc: ['query', 'limit'], msg: `limit must be from 1 to ${POLL_MAX_LIMIT}`, type: 'value_error.number' }]);
  }
  return limit ?? POLL_DEFAULT_LIMIT;
}

function iteratorParam(c: Ctx, d: Destination): string | null {
  const it = c.query.iterator as string | undefined;
  if (it === undefined || it === '') return null;
  if (!isPosition(it))
    throw new ValidationError([{ loc: ['query', 'iterator'], msg: 'not an iterator this polling endpoint handed out', type: 'value_error' }]);
  return clampPosition(d, it);
}

/** Wait up to `ms` without holding up a server that is stopping. */
function pause(c: Ctx, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const signal = c.deps.closing;
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const pollOut = (r: PollRead) => ({ data: r.data.map(pollingMessageOut), iterator: r.iterator, done: r.done });

export const destinationRoutes = [
  route({
    method: 'GET',
    operationId: 'v1.destination.list',
    access: 'view',
    app: 'required',
    async handler(c) {
      // Temporary destinations whose lease ran out are removed first (the retention pass does too).
      await c.deps.store.expireDestinations(c.now, 100);
      const page = await c.deps.store.listDestinations(c.app!.id, pageOf(c, 'descending'), c.query.include_herald_types ? undefined : SVIX_TYPES);
      const data = await Promise.all(page.data.map((d) => shown(c, d)));
      return { status: 200, body: { data, iterator: page.iterator, prevIterator: page.prevIterator, done: page.done } };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.destination.create',
    access: 'manage',
    app: 'required',
    async handler(c) {
      const d = await c.deps.store.createDestination(await newDestination(c, c.body), c.idem(201, destinationOut));
      return { status: 201, body: destinationOut(d) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.destination.get',
    access: 'view',
    app: 'required',
    async handler(c) {
      return { status: 200, body: await shown(c, await destinationOf(c, c.params.destination_id!)) };
    },
  }),
  route({
    method: 'PUT',
    operationId: 'v1.destination.upsert',
    access: 'manage',
    app: 'required',
    async handler(c) {
      const id = c.params.destination_id!;
      const found = await c.deps.store.getDestination(c.app!.id, id);
      if (!found || leaseExpired(found, c.now)) {
        if (isIdOf('destination', id)) throw notFound('Destination');
        if (found) await c.deps.store.deleteDestination(found.appId, found.id, c.now);
        const d = await c.deps.store.createDestination(await newDestination(c, c.body, id));
        return { status: 201, body: destinationOut(d) };
      }
      return { status: 200, body: destinationOut(await c.deps.store.updateDestination(await changed(c, found, c.body, false))) };
    },
  }),
  route({
    method: 'PATCH',
    operationId: 'v1.destination.patch',
    access: 'manage',
    app: 'required',
    async handler(c) {
      const d = await destinationOf(c, c.params.destination_id!);
      return { status: 200, body: destinationOut(await c.deps.store.updateDestination(await changed(c, d, c.body, true))) };
    },
  }),
  route({
    method: 'DELETE',
    operationId: 'v1.destination.delete',
    access: 'manage',
    app: 'required',
    async handler(c) {
      const d = await destinationOf(c, c.params.destination_id!);
      await c.deps.store.deleteDestination(d.appId, d.id, c.now);
      return { status: 204 };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.destination.get-secret',
    access: 'secrets',
    app: 'required',
    async handler(c) {
      const d = await destinationOf(c, c.params.destination_id!);
      const secret = d.config.secret;
      if (typeof secret !== 'string') throw notFound('Signing secret');
      return { status: 200, body: { key: revealableSecret(secret) } };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.destination.list-attempts',
    access: 'view',
    app: 'required',
    async handler(c) {
      const d = await destinationOf(c, c.params.destination_id!);
      const page = await c.deps.store.listAttemptsByEndpoint(d.appId, d.id, pageOf(c, 'descending'));
      return { status: 200, body: mapPage(page, (a) => attemptOut(a)) };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.destination.report-attempt',
    access: 'manage',
    app: 'required',
    async handler(c) {
      const d = await destinationOf(c, c.params.destination_id!);
      const b = c.body as { msgId: string; consumerId?: string | null; url: string; responseStatusCode: number; response?: string; responseDurationMs: number };
      const m = await c.deps.store.getMessage(d.appId, b.msgId);
      if (!m) throw notFound('Message');
      const code = b.responseStatusCode;
      const attempt: Attempt = {
        id: c.deps.ids.next('attempt', c.now),
        msgId: m.id,
        endpointId: d.id,
        appId: d.appId,
        url: b.url,
        response: b.response ?? '',
        responseStatusCode: code,
        responseDurationMs: b.responseDurationMs,
        requestHeaders: null,
        status: code >= 200 && code < 300 ? MessageStatus.success : MessageStatus.fail,
        triggerType: 0,
        createdAt: c.now,
      };
      await c.deps.store.recordDestinationAttempt(attempt, b.consumerId ? { destinationId: d.id, consumerId: b.consumerId } : undefined);
      await renewLease(c, d);
      return { status: 201, body: attemptOut(attempt) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.message.poller.poll',
    access: 'view',
    app: 'required',
    async handler(c) {
      const d = await sinkOf(c);
      const after = c.query.after as string | undefined;
      const from = iteratorParam(c, d) ?? (after !== undefined ? positionAfter(d, instant(after, ['query', 'after'])) : startPosition(d));
      const r = await readSink(c, d, from, pollLimit(c), { eventType: c.query.event_type, channel: c.query.channel });
      await renewLease(c, d);
      return { status: 200, body: pollOut(r) };
    },
  }),
  route({
    method: 'GET',
    operationId: 'v1.message.poller.consumer-poll',
    access: 'view',
    app: 'required',
    async handler(c) {
      const d = await sinkOf(c);
      const consumer = c.params.consumer_id!;
      const stored = await c.deps.store.getConsumerPosition(d.id, consumer);
      const from = iteratorParam(c, d) ?? (stored === null ? startPosition(d) : clampPosition(d, stored));
      const limit = pollLimit(c);
      let r = await readSink(c, d, from, limit);
      // Long poll: nothing yet, so look again until a message comes, the wait ends, or the server stops.
      // The wait is wall-clock time (how long the connection is held), not the store's clock.
      const deadline = Date.now() + ((c.query.wait as number | undefined) ?? 0) * 1000;
      while (r.data.length === 0 && r.done && Date.now() < deadline && !c.deps.closing?.aborted) {
        await pause(c, Math.min(WAIT_STEP_MS, deadline - Date.now()));
        r = await readSink(c, d, r.iterator, limit);
      }
      if ((c.query.commit ?? true) && r.iterator !== stored) await c.deps.store.setConsumerPosition(d.id, consumer, r.iterator, c.deps.now(), false);
      await renewLease(c, d);
      return { status: 200, body: pollOut(r) };
    },
  }),
  route({
    method: 'POST',
    operationId: 'v1.message.poller.consumer-seek',
    access: 'view',
    app: 'required',
    async handler(c) {
      const d = await sinkOf(c);
      const iterator = positionAfter(d, instant(c.body.after, ['body', 'after']));
      await c.deps.store.setConsumerPosition(d.id, c.params.consumer_id!, iterator, c.now, false);
      return { status: 200, body: { iterator } };
    },
  }),
];
