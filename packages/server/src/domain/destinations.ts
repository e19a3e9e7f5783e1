// Destinations: where an application's messages go besides its HTTP endpoints. One record shape
// for every type; what a type needs beyond the common fields lives in its `config`, which the
// stores seal at rest as a whole. Today's type is Svix's `pollingEndpoint` ("pull" delivery: the
// receiver reads the application's messages through the poller routes). Further types (brokers)
// add an entry to DESTINATION_TYPES and keep the table, the API routes and the sealing.
//
// Polling, as Svix defines it: a polling endpoint sees the application's messages created from
// the moment it was created on, that match its event-type and channel filters, oldest first. A
// position ("iterator") is the id of the last message handed out; reading from a position returns
// the messages after it. A consumer is a named reader whose position the server keeps.
import { endpointMatches } from './filters.js';
import { idTimeMs, isIdOf, startIdFor } from './ids.js';

export type DestinationType = 'pollingEndpoint';
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
}

/** Every destination type Herald knows, with what its config holds. */
export const DESTINATION_TYPES: Record<DestinationType, TypeRules> = {
  // The signing secret `herald listen` signs forwarded messages with.
  pollingEndpoint: { secrets: ['secret'] },
};

export function isDestinationType(t: unknown): t is DestinationType {
  return typeof t === 'string' && Object.hasOwn(DESTINATION_TYPES, t);
}

/** The config as the API shows it: without the type's secrets. */
export function publicConfig(d: Destination): Record<string, unknown> {
  const hidden = DESTINATION_TYPES[d.type].secrets;
  return Object.fromEntries(Object.entries(d.config).filter(([k]) => !hidden.includes(k)));
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
