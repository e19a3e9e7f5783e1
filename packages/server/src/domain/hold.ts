// Holding deliveries: when a due delivery is not attempted, and what happens to its endpoint's
// circuit after an attempt. Pure; the dispatcher asks `gate` in its prepare phase and records what
// `afterAttempt` returns through the store (which applies it inside one transaction, so every
// worker process sees one circuit).
//
// Two things hold a delivery, in this order:
// - module: the application has Engage settings and its webhooks module is off. An application
//   with no Engage settings (a plain Svix tenant) is never held by the module.
// - circuit: its endpoint's circuit is open (or half-open with a probe in flight).
// A held delivery uses no attempt and no retry; it shows `heldBy` until it is tried again.

export type HeldBy = 'module' | 'circuit';
export type CircuitState = 'closed' | 'open' | 'half-open';

/** An endpoint's circuit as stored. Times are epoch ms. */
export interface Circuit {
  state: CircuitState;
  /** Failures in a row that count against the circuit (see countsAgainst). */
  consecutiveFailures: number;
  /** When the circuit opened (open and half-open); when it closed (closed, null if it never opened). */
  since: number | null;
  /** Open: when one delivery may probe the endpoint. */
  nextProbeAt: number | null;
  /** Half-open: the probe's deadline; a probe not settled by then is taken over by another delivery. */
  probeUntil: number | null;
  /** The cool-down of the last opening (doubles on every failed probe); 0 while closed. */
  cooldownMs: number;
  /** Rises on every write: compare-and-set token (claiming the probe) and freshness between readers. */
  version: number;
}

export const CLOSED_CIRCUIT: Circuit = Object.freeze({
  state: 'closed',
  consecutiveFailures: 0,
  since: null,
  nextProbeAt: null,
  probeUntil: null,
  cooldownMs: 0,
  version: 0,
}) as Circuit;

export interface CircuitPolicy {
  /** Failures in a row that open the circuit; 0 turns the circuit breaker off. */
  failures: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

/** A delivery held by the module is looked at again this long after, even if nobody switches it on (a safety net). */
export const MODULE_RECHECK_MS = 3_600_000;

export type Gate =
  | { kind: 'send' }
  /** Probe the endpoint (claim the probe first: only one delivery may), finishing by `until`. */
  | { kind: 'probe'; until: number }
  /** Do not attempt; put the delivery back, due again at `until`. */
  | { kind: 'hold'; by: HeldBy; until: number };

/**
 * Whether a due delivery goes out now. `moduleEnabled` is null when the application has no Engage
 * settings; `probeMs` is how long a probe may take (its lease).
 */
export function gate(moduleEnabled: boolean | null, circuit: Circuit, nowMs: number, probeMs: number, policy: CircuitPolicy): Gate {
  if (moduleEnabled === false) return { kind: 'hold', by: 'module', until: nowMs + MODULE_RECHECK_MS };
  if (policy.failures <= 0) return { kind: 'send' };
  if (circuit.state === 'open') {
    const at = circuit.nextProbeAt ?? nowMs;
    return nowMs >= at ? { kind: 'probe', until: nowMs + probeMs } : { kind: 'hold', by: 'circuit', until: at };
  }
  if (circuit.state === 'half-open') {
    const at = circuit.probeUntil ?? nowMs;
    return nowMs >= at ? { kind: 'probe', until: nowMs + probeMs } : { kind: 'hold', by: 'circuit', until: at };
  }
  return { kind: 'send' };
}

/**
 * Whether an attempt's result counts against the circuit: no answer (timeout, connection error,
 * refused), a 5xx or a 429. Any other answer, 4xx included, shows the endpoint is up. An attempt
 * that was never `sent` (its transformation canceled it or failed) says nothing of the endpoint.
 */
export function countsAgainst(statusCode: number, sent = true): boolean {
  return sent && (statusCode === 0 || statusCode === 429 || statusCode >= 500);
}

/**
 * Whether an attempt says the endpoint is overloaded (429 or timed out): it gets fewer deliveries
 * in flight and a longer retry delay.
 */
export function overloaded(statusCode: number, timedOut: boolean): boolean {
  return statusCode === 429 || timedOut;
}

export interface CircuitChange {
  circuit: Circuit;
  /** The transition observers hear of: the circuit opened (from closed) or closed (from open or half-open). */
  change: 'opened' | 'closed' | null;
  /** With a change: the failures in a row that opened it, or that it had when it closed. */
  failures?: number;
}

/**
 * The circuit after an attempt that `failed` (countsAgainst) or not. A success closes it from any
 * state; a failure counts, opens a closed circuit at `policy.failures` in a row, and re-opens a
 * half-open one with the cool-down doubled (up to the maximum) when it was the probe that failed.
 * The version is the store's to raise.
 */
export function afterAttempt(c: Circuit, failed: boolean, probe: boolean, nowMs: number, policy: CircuitPolicy): CircuitChange {
  if (!failed) {
    if (c.state === 'closed') return { circuit: { ...c, consecutiveFailures: 0 }, change: null };
    return { circuit: { ...CLOSED_CIRCUIT, since: nowMs, version: c.version }, change: 'closed', failures: c.consecutiveFailures };
  }
  const consecutiveFailures = c.consecutiveFailures + 1;
  if (policy.failures <= 0) return { circuit: { ...c, consecutiveFailures }, change: null };
  if (c.state === 'closed') {
    if (consecutiveFailures < policy.failures) return { circuit: { ...c, consecutiveFailures }, change: null };
    const cooldownMs = policy.cooldownMs;
    return {
      circuit: { state: 'open', consecutiveFailures, since: nowMs, nextProbeAt: nowMs + cooldownMs, probeUntil: null, cooldownMs, version: c.version },
      change: 'opened',
      failures: consecutiveFailures,
    };
  }
  if (c.state === 'half-open' && probe) {
    const cooldownMs = Math.min(policy.maxCooldownMs, Math.max(policy.cooldownMs, 2 * c.cooldownMs));
    return { circuit: { ...c, state: 'open', consecutiveFailures, nextProbeAt: nowMs + cooldownMs, probeUntil: null, cooldownMs }, change: null };
  }
  // A delivery that went out before the circuit opened failed too: it only counts.
  return { circuit: { ...c, consecutiveFailures }, change: null };
}

/** Whether a circuit is as if it had never seen a failure (nothing to record after a success). */
export function pristine(c: Circuit): boolean {
  return c.state === 'closed' && c.consecutiveFailures === 0;
}
