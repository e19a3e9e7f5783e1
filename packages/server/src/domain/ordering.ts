// Ordered delivery per key: every rule about it. A message may carry an ordering key; at an
// endpoint whose ordering is 'key', the deliveries of one key go out in the order the messages were
// accepted, each one only after the one before it has ended (succeeded, exhausted its retries,
// been aborted or canceled). Different keys, and messages without a key, never wait for each other.
//
// The stores keep, per (endpoint, key), the tail of the order (`OrderTail`): the last sequence
// number given, the message it went to, and whether that delivery is still open. Accepting a
// message takes the next turn (`takeTurn`, in the accepting commit); a delivery that ends hands the
// turn on (`passTurn`, in the commit that ends it). A delivery waiting for its turn is parked: it
// is pending with no due time, and records the message it waits for.

/** An endpoint's ordering: 'key' orders each key's deliveries; 'none' (the default) orders nothing. */
export type EndpointOrdering = 'key' | 'none';
export const ENDPOINT_ORDERINGS: readonly EndpointOrdering[] = ['key', 'none'];

export const ORDERING_KEY_MAX_LENGTH = 256;

/**
 * Why `key` is not a valid ordering key, or null when it is: a string of 1 to 256 characters
 * without control characters (it travels in a request header).
 */
export function orderingKeyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'orderingKey must be a string';
  // Characters, not UTF-16 units (a key of 256 emoji is 256 characters); counted only when it matters.
  const n = key.length <= ORDERING_KEY_MAX_LENGTH ? key.length : [...key].length;
  if (n < 1 || n > ORDERING_KEY_MAX_LENGTH) return `orderingKey must be 1 to ${ORDERING_KEY_MAX_LENGTH} characters long`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is to refuse control characters in an ordering key
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'orderingKey must not contain control characters';
  return null;
}

/**
 * The key that orders the delivery of a message (with `orderingKey`) to an endpoint, or null when
 * the delivery is not ordered: the endpoint orders by key and the message has one. A send-example
 * (a test sent to one endpoint) is never ordered.
 */
export function orderedBy(endpoint: { ordering?: EndpointOrdering }, msg: { orderingKey?: string | null }, onlyOne = false): string | null {
  if (onlyOne || endpoint.ordering !== 'key') return null;
  return msg.orderingKey ?? null;
}

/** The stored tail of one (endpoint, key) order. */
export interface OrderTail {
  lastSeq: number;
  lastMsgId: string;
  /** Whether the delivery of `lastMsgId` is still unfinished. */
  lastOpen: boolean;
}

/**
 * A message accepted for an ordered (endpoint, key) takes the next turn: sequence numbers start at
 * 1 and are never reused; the delivery waits for the previous message when that one's delivery is
 * still open, and is due at once otherwise. The stores write this as one upsert on the tail
 * (store/common/ordering.ts), so concurrent acceptances serialise on the tail's row.
 */
export function takeTurn(tail: OrderTail | null, msgId: string): { seq: number; waitingFor: string | null; tail: OrderTail } {
  const seq = tail ? tail.lastSeq + 1 : 1;
  return { seq, waitingFor: tail?.lastOpen ? tail.lastMsgId : null, tail: { lastSeq: seq, lastMsgId: msgId, lastOpen: true } };
}

/** What ending the delivery of one message does to its order. */
export type TurnPassed =
  /** It was the last one accepted: the tail closes, and the next one accepted goes at once. */
  | { kind: 'close' }
  /** Another was accepted after it: that one (parked, waiting for `msgId`) is released. */
  | { kind: 'release'; waitingFor: string }
  /** Nothing to do: the order is unknown, or this delivery had handed its turn on already. */
  | { kind: 'none' };

/**
 * The delivery of `msgId` has ended (succeeded, or ended without success): pass the turn on. A
 * delivery that ends twice (a manual resend of a finished one) finds its turn already passed: the
 * tail is closed or names a later message whose successor no longer waits for it, so repeating
 * this changes nothing.
 */
export function passTurn(tail: OrderTail | null, msgId: string): TurnPassed {
  if (!tail) return { kind: 'none' };
  if (tail.lastMsgId === msgId) return tail.lastOpen ? { kind: 'close' } : { kind: 'none' };
  return { kind: 'release', waitingFor: msgId };
}

/** Finished task states: success (0), fail (2), canceled (4). Pending (1) and sending (3) are open. */
export const isFinal = (status: number): boolean => status === 0 || status === 2 || status === 4;

/**
 * Whether an ordered delivery's turn ends with the state just recorded for it, when that is known
 * without reading its row: an attempt its schedule claimed (not a manual resend) was due, so it was
 * not parked, and its turn ends exactly when its new state is final (a retry keeps it). Null for a
 * manual attempt: whether it was parked is in its row (`afterRecord`).
 */
export const turnEnds = (manual: boolean, status: number): boolean | null => (manual ? null : isFinal(status));

/** An ordered task's state right after an outcome was recorded for it (or it was canceled). */
export interface RecordedState {
  status: number;
  nextAttemptAt: number | null;
  /** The message it is parked behind, or null. */
  waitingFor: string | null;
  /** The status of that message's delivery to the same endpoint; null when there is none. */
  waitingForStatus: number | null;
}

/**
 * What the order does once an ordered task's outcome is recorded:
 * - 'pass': the task reached a final state in its turn: pass the turn on (`passTurn`);
 * - 'park': a parked task was sent by a manual resend (outside the order): whatever that attempt
 *   did, the task goes back to waiting for its turn (pending, no due time);
 * - 'release': the same, but the one ahead has ended meanwhile: the task is due now;
 * - 'none': the task is still in its turn (a retry is scheduled) or was never parked.
 */
export function afterRecord(s: RecordedState): 'pass' | 'park' | 'release' | 'none' {
  if (s.waitingFor !== null) {
    if (s.waitingForStatus === null || isFinal(s.waitingForStatus)) return 'release';
    return s.status !== 1 || s.nextAttemptAt !== null ? 'park' : 'none';
  }
  return isFinal(s.status) ? 'pass' : 'none';
}

/**
 * The headers every delivery of an ordered task carries, so a receiver can check the order itself.
 * A key that is not printable ASCII is sent percent-encoded (encodeURIComponent), since header
 * values are ASCII.
 */
export function orderingHeaders(key: string, seq: number): Record<string, string> {
  const printable = /^[\x20-\x7e]*$/.test(key) && key.trim() === key;
  return { 'herald-ordering-key': printable ? key : encodeURIComponent(key), 'herald-sequence': String(seq) };
}
