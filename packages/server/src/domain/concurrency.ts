// Adaptive concurrency per endpoint (additive increase, multiplicative decrease). Pure: the
// dispatcher keeps one limit per endpoint in memory and asks these after every attempt.
//
// The limit is a real number between 1 and the configured cap (HERALD_ENDPOINT_CONCURRENCY); the
// dispatcher lets floor(limit) deliveries be in flight to the endpoint at once. An overloaded answer
// (429, a timeout) halves it; any other answer adds 1/limit, so about one more place per limit's
// worth of answers (one "round"), as TCP's congestion window grows.

/** The limit an endpoint starts from: the cap, or 1 just after its circuit closed (releasing held deliveries at a rising rate). */
export function initialLimit(cap: number, afterCircuitClosed = false): number {
  return afterCircuitClosed ? 1 : cap;
}

/** The limit after one attempt; `overloaded` from domain/hold.ts. */
export function nextLimit(limit: number, overloaded: boolean, cap: number): number {
  if (overloaded) return Math.max(1, limit / 2);
  return Math.min(cap, limit + 1 / Math.max(1, limit));
}

/** How many deliveries may be in flight to the endpoint at once. */
export function placesFor(limit: number): number {
  return Math.max(1, Math.floor(limit));
}
