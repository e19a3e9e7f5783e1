// Destinations: where an application's messages go besides its HTTP endpoints. One record shape
// for every type; what a type needs beyond the common fields lives in its `config`, which the
// stores seal at rest as a whole. Svix's `pollingEndpoint` is "pull" delivery: the receiver reads
// the application's messages through the poller routes. The broker types (Svix's `rabbitMq`,
// Herald's `redisStream` and `natsJetStream`) are "push": each has an endpoint row of its kind
// (same id), so fan-out, claims, retries, circuits and the attempt log are the endpoints' own, and
// the dispatcher publishes instead of POSTing (see brokerEndpoint). A further broker (SQS, Pub/Sub,
// Kafka, EventBridge) is an entry in DESTINATION_TYPES, its config check, and a publisher.
//
// Polling, as Svix defines it: a polling endpoint sees the application's messages created from
// the moment it was created on, that match its event-type and channel filters, oldest first. A
// position ("iterator") is the id of the last message handed out; reading from a position returns
// the messages after it. A consumer is a named reader whose position the server keeps.
import { invalidBody } from './errors.js';
import { endpointMatches } from './filters.js';
import { idTimeMs, isIdOf, startIdFor } from './ids.js';
import type { BrokerKind, Endpoint } from './types.js';

export type DestinationType = 'pollingEndpoint' | BrokerKind;
export type DestinationStatus = 'enabled' | 'disabled';

export interface Destination {
  id: string;
  appId: string;
  uid: string | null;
  type: DestinationType;
  status: DestinationStatus;
  eventTypes: string[] | null;
  channels: string[] | null;
  metadata: Record<string, string>;
  /** Svix's batching settings, kept for types that batch; a polling endpoint ignores them. */
  batchSize: number;
  maxWaitSecs: number;
  /** The type's settings, secrets included (sealed at rest; see publicConfig for what is shown). */
  config: Record<string, unknown>;
  /**
   * Herald: a temporary destination's lease. Each read moves `expiresAt` to `leaseMs` after it;
   * once `expiresAt` has passed, the destination is gone. Null: permanent.
   */
  leaseMs: number | null;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

interface TypeRules {
  /** Config members that are secrets: kept sealed, never shown in the destination's config. */
  secrets: readonly string[];
  /** Members holding connection URIs (with credentials): shown only redacted (redactUri). */
  uris?: readonly string[];
  /** Herald's own type, unknown to Svix's SDKs: listed only when asked for (`include_herald_types`). */
  herald?: boolean;
  /** Delivered by the dispatcher through an endpoint row of this kind. */
  push?: boolean;
}

/** Every destination type Herald knows, with what its config holds. */
export const DESTINATION_TYPES: Record<DestinationType, TypeRules> = {
  // The signing secret `herald listen` signs forwarded messages with.
  pollingEndpoint: { secrets: ['secret'] },
  // `secret` signs each publish as the HTTP delivery is signed; the URIs carry credentials.
  rabbitMq: { secrets: ['secret'], uris: ['uri'], push: true },
  redisStream: { secrets: ['secret'], uris: ['uri'], push: true, herald: true },
  natsJetStream: { secrets: ['secret', 'credentials'], uris: ['servers'], push: true, herald: true },
};

export function isDestinationType(t: unknown): t is DestinationType {
  return typeof t === 'string' && Object.hasOwn(DESTINATION_TYPES, t);
}

export function isBrokerKind(t: unknown): t is BrokerKind {
  return isDestinationType(t) && DESTINATION_TYPES[t].push === true;
}

/**
 * A broker URI as the API, the attempt log and errors show it: scheme, host, port and path, never
 * the user, password or query (which may carry credentials).
 */
export function redactUri(uri: string): string {
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : `nats://${uri}`);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(not a URI)';
  }
}

/**
 * The config as the API shows it: without the type's secrets (a set secret shows as
 * `<name>Set: true`), connection URIs redacted.
 */
export function publicConfig(d: Destination): Record<string, unknown> {
  const rules = DESTINATION_TYPES[d.type];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d.config)) {
    if (rules.secrets.includes(k)) {
      if (k !== 'secret') out[`${k}Set`] = true;
    } else if (rules.uris?.includes(k)) out[k] = Array.isArray(v) ? v.map((x) => redactUri(String(x))) : redactUri(String(v));
    else out[k] = v;
  }
  return out;
}

// ---- broker types --------------------------------------------------------------------------

const MAX_URI = 2048;
/** AMQP short strings are at most 255 bytes. */
const MAX_ROUTING_KEY = 255;
const NATS_SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

function uriOf(v: unknown, loc: (string | number)[], schemes: readonly string[]): string {
  if (typeof v !== 'string' || v === '' || v.length > MAX_URI) throw invalidBody(loc, `a ${schemes.join(' or ')} URI is required`);
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || schemes[0] !== 'nats' ? v : `nats://${v}`);
  } catch {
    throw invalidBody(loc, `not a URI; expected ${schemes.map((s) => `${s}://host:port`).join(' or ')}`);
  }
  if (!schemes.includes(u.protocol.slice(0, -1))) throw invalidBody(loc, `the scheme must be ${schemes.map((s) => `${s}://`).join(' or ')}`);
  if (u.hostname === '') throw invalidBody(loc, 'the URI names no host');
  return v;
}

function textOf(v: unknown, loc: (string | number)[], what: string, max: number): string {
  if (typeof v !== 'string' || v === '') throw invalidBody(loc, `${what} is required`);
  if (new TextEncoder().encode(v).length > max) throw invalidBody(loc, `${what} is at most ${max} bytes`);
  return v;
}

function onlyKnown(c: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(c))
    if (!known.includes(k)) throw invalidBody(['config', k], `not a setting of this destination type; it has ${known.join(', ')}`);
}

/**
 * A broker destination's config, checked (422 naming the field) and normalised. `previous` is the
 * stored config on an update: a member sent back redacted as the API showed it, or a secret left
 * out, keeps its stored value, so a client can edit the rest without knowing the credentials.
 */
export function checkBrokerConfig(type: BrokerKind, raw: unknown, previous?: Record<string, unknown>): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidBody(['config'], `a ${type} destination needs its config`);
  const c = { ...(raw as Record<string, unknown>) };
  const keep = (k: string) => {
    if (!previous || previous[k] === undefined) return;
    const p = previous[k];
    const shown = Array.isArray(p) ? p.map((x) => redactUri(String(x))) : redactUri(String(p));
    if (c[k] === undefined || JSON.stringify(c[k]) === JSON.stringify(shown)) c[k] = p;
  };
  switch (type) {
    case 'rabbitMq':
      onlyKnown(c, ['uri', 'routingKey']);
      keep('uri');
      return {
        uri: uriOf(c.uri, ['config', 'uri'], ['amqp', 'amqps']),
        routingKey: textOf(c.routingKey, ['config', 'routingKey'], 'routingKey', MAX_ROUTING_KEY),
      };
    case 'redisStream': {
      onlyKnown(c, ['uri', 'stream', 'maxLen']);
      keep('uri');
      const out: Record<string, unknown> = {
        uri: uriOf(c.uri, ['config', 'uri'], ['redis', 'rediss']),
        stream: textOf(c.stream, ['config', 'stream'], 'stream', 512),
      };
      if (c.maxLen !== undefined && c.maxLen !== null) {
        if (!Number.isInteger(c.maxLen) || (c.maxLen as number) < 1 || (c.maxLen as number) > 1e12)
          throw invalidBody(['config', 'maxLen'], 'maxLen is a whole number of entries from 1');
        out.maxLen = c.maxLen;
      }
      return out;
    }
    case 'natsJetStream': {
      onlyKnown(c, ['servers', 'uri', 'subject', 'credentials']);
      // `uri` is accepted for one server, like the other types.
      if (c.servers === undefined && c.uri !== undefined) c.servers = [c.uri];
      delete c.uri;
      keep('servers');
      keep('credentials');
      if (!Array.isArray(c.servers) || c.servers.length === 0 || c.servers.length > 10)
        throw invalidBody(['config', 'servers'], 'servers is a list of 1 to 10 nats:// (or tls://) URIs');
      const servers = c.servers.map((s, i) => uriOf(s, ['config', 'servers', i], ['nats', 'tls']));
      const subject = textOf(c.subject, ['config', 'subject'], 'subject', 1024);
      if (!NATS_SUBJECT.test(subject)) throw invalidBody(['config', 'subject'], 'a subject is dot-separated tokens without spaces or wildcards (* >)');
      const out: Record<string, unknown> = { servers, subject };
      if (c.credentials !== undefined && c.credentials !== null) {
        if (typeof c.credentials !== 'string' || !/BEGIN NATS USER JWT/.test(c.credentials) || !/BEGIN USER NKEY SEED/.test(c.credentials))
          throw invalidBody(['config', 'credentials'], 'credentials is the text of a NATS .creds file (a user JWT and its NKey seed)');
        out.credentials = c.credentials;
      }
      return out;
    }
  }
}

/** Where a broker destination publishes, as the attempt log's `url` shows it (no credentials). */
export function brokerTarget(type: BrokerKind, config: Record<string, unknown>): string {
  switch (type) {
    case 'rabbitMq':
      return `${redactUri(String(config.uri))} routingKey=${String(config.routingKey)}`;
    case 'redisStream':
      return `${redactUri(String(config.uri))} stream=${String(config.stream)}`;
    case 'natsJetStream':
      return `${(config.servers as string[]).map(redactUri).join(',')} subject=${String(config.subject)}`;
  }
}

/**
 * The endpoint row a broker destination is delivered through: the destination's id, filters and
 * signing secret, disabled with it, `kind` naming the broker. Nothing else of an endpoint applies
 * (no custom headers, throttle, ordering or own retry policy: the application's and the server's do).
 */
export function brokerEndpoint(d: Destination): Endpoint {
  if (!isBrokerKind(d.type)) throw new Error(`${d.type} is not a broker destination`);
  return {
    id: d.id,
    appId: d.appId,
    uid: null,
    url: brokerTarget(d.type, d.config),
    description: '',
    throttleRate: null,
    disabled: d.status === 'disabled',
    disabledReason: null,
    eventTypes: d.eventTypes,
    channels: d.channels,
    metadata: {},
    headers: {},
    secret: String(d.config.secret),
    previousSecrets: [],
    ordering: 'none',
    kind: d.type,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

/** Whether a message reaches the destination (Svix's endpoint filter rules; disabled sees nothing). */
export function destinationMatches(d: Destination, eventType: string, channels: readonly string[] | null): boolean {
  return endpointMatches({ disabled: d.status === 'disabled', eventTypes: d.eventTypes, channels: d.channels }, eventType, channels);
}

// ---- positions -----------------------------------------------------------------------------

/**
 * How long a message stays invisible to pollers after its id was minted. Ids are minted before
 * the commit, so two messages accepted at once may commit out of id order; a reader that has
 * passed an id must not find a smaller one appearing behind it later. Reading only ids older
 * than this window makes that need a commit slower than the window.
 */
export const POLL_SETTLE_MS = 1000;

export const POLL_DEFAULT_LIMIT = 50;
export const POLL_MAX_LIMIT = 250;
/** Herald: the longest a poll may wait for a first message (`wait`, seconds). */
export const POLL_MAX_WAIT_S = 30;

/** The position before every message the destination can see: its creation. */
export function startPosition(d: Destination): string {
  return startIdFor('message', d.createdAt);
}

/** The position for "messages after this instant" (seek), never before the destination's start. */
export function positionAfter(d: Destination, afterMs: number): string {
  return startIdFor('message', Math.max(afterMs, d.createdAt));
}

/** A position a client sent back is one this server could have handed out: a message id. */
export function isPosition(s: string): boolean {
  return isIdOf('message', s);
}

/** A position never goes before the destination's start (an older iterator reads from the start). */
export function clampPosition(d: Destination, p: string): string {
  const start = startPosition(d);
  return p < start ? start : p;
}

/** The message read's window: created from the destination's creation until the settle horizon. */
export function pollWindow(d: Destination, now: number): { afterMs: number; beforeMs: number } {
  return { afterMs: d.createdAt - 1, beforeMs: now - POLL_SETTLE_MS };
}

/** The creation time encoded in a position (for tests and diagnostics). */
export const positionTimeMs = (p: string): number | null => idTimeMs('message', p);

// ---- leases --------------------------------------------------------------------------------

export const MIN_LEASE_MS = 10_000;
export const MAX_LEASE_MS = 24 * 3600 * 1000;

/** Whether a temporary destination's lease has run out at `now`. */
export function leaseExpired(d: Destination, now: number): boolean {
  return d.expiresAt !== null && d.expiresAt <= now;
}

/**
 * The new expiry when the destination is read at `now`, or null when the lease need not move yet
 * (renewed at most once per half lease, so a busy reader does not write on every read).
 */
export function leaseRenewal(d: Destination, now: number): number | null {
  if (d.leaseMs === null || d.expiresAt === null) return null;
  return d.expiresAt - now < d.leaseMs / 2 ? now + d.leaseMs : null;
}
