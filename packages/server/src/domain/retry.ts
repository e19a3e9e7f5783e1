// The retry policy: a small pure module. Outcomes are values; this decides what happens next.

/** Svix's default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first try (8 attempts). */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 36e6];
export const JITTER = 0.2;
/**
 * A retry after an overloaded answer (429 without Retry-After, a timeout) waits this many times its
 * scheduled delay: an endpoint that says it is overloaded is given more room than one that failed.
 */
export const OVERLOAD_PENALTY = 2;
/** An endpoint whose deliveries keep exhausting, with no success, for this long is disabled. */
export const AUTO_DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;

export type Outcome =
  | { kind: 'success' }
  /** A retryable failure; `retryAfterMs` from a 429/503 Retry-After header, if any. */
  | { kind: 'retry'; retryAfterMs?: number }
  /** The receiver asked to stop retrying this message (`webhook-delivery: abort-message`). */
  | { kind: 'abort' }
  /** The receiver asked to stop deliveries to the endpoint (HTTP 410, `webhook-delivery: disable`). */
  | { kind: 'disable'; reason: string }
  /** Nothing was sent, by the endpoint's own choice: its transformation canceled the delivery (domain/transformation.ts). */
  | { kind: 'cancel' };

export type Next =
  | { kind: 'done' }
  | { kind: 'retry'; atMs: number }
  | { kind: 'exhausted' }
  | { kind: 'abort' }
  | { kind: 'disable'; reason: string }
  | { kind: 'canceled' };

/**
 * What follows attempt number `attempt` (1-based) given its outcome. `random` is in [0, 1).
 * Manual attempts (resend, recover) are single shots: they are never retried. An `overloaded`
 * answer (domain/hold.ts) waits OVERLOAD_PENALTY times longer; a Retry-After, when given, decides
 * instead, within its usual bounds.
 */
export function nextStep(
  outcome: Outcome,
  attempt: number,
  nowMs: number,
  schedule: readonly number[],
  random: number,
  manual = false,
  overloaded = false,
): Next {
  switch (outcome.kind) {
    case 'success':
      return { kind: 'done' };
    case 'abort':
      return { kind: 'abort' };
    case 'disable':
      return { kind: 'disable', reason: outcome.reason };
    case 'cancel':
      return { kind: 'canceled' };
    case 'retry': {
      if (manual || attempt > schedule.length) return { kind: 'exhausted' };
      const base = schedule[attempt - 1]!;
      let delay = base * (1 - JITTER + 2 * JITTER * random) * (overloaded ? OVERLOAD_PENALTY : 1);
      // Retry-After is honoured within [base, 2 x base]: a receiver can slow us down, not
      // stall the delivery or make us hammer it.
      if (outcome.retryAfterMs !== undefined) delay = Math.min(Math.max(outcome.retryAfterMs, base), 2 * base);
      return { kind: 'retry', atMs: nowMs + Math.round(delay) };
    }
  }
}

/** Parse a schedule such as `5s,5m,30m,2h` (units ms, s, m, h, d; a bare number is seconds). */
export function parseSchedule(text: string): number[] {
  const units: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, '': 1e3 };
  const out = text.split(',').map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$/.exec(part);
    if (!m) throw new Error(`'${part.trim()}' is not a duration such as 5s, 5m, 2h`);
    return Math.round(Number(m[1]) * units[m[2]!]!);
  });
  if (out.length === 0 || out.length > 50) throw new Error('a retry schedule has 1 to 50 entries');
  return out;
}

/** Parse a Retry-After header (seconds, possibly decimal and rounded up, or an HTTP date) into ms from now. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value)) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
