// Rate limits as a virtual schedule (GCRA): each use reserves the next free slot, `1000 / rate` ms
// after the previous one. Endpoint throttles keep that schedule in the store, so every worker
// process shares it (Store.reserveThrottleSlot: a task whose slot is in the future is put back
// until then); the API's per-token limits keep it in memory, below.

/**
 * The spacing of an endpoint's send slots at `ratePerSecond`: whole milliseconds, rounded up so
 * the rate is never exceeded.
 */
export function slotInterval(ratePerSecond: number): number {
  return Math.ceil(1000 / ratePerSecond);
}

/**
 * Reserve the next send slot on an endpoint's schedule (GCRA without a burst: nothing is refused,
 * a delivery waits for its slot). `nextFreeAt` is where the schedule has got to (undefined: never
 * used). The slot is the later of that and now; the schedule moves on by one interval. The stores
 * run exactly this as one atomic statement (Store.reserveThrottleSlot), so every worker process
 * shares the schedule.
 */
export function reserveSlot(nextFreeAt: number | undefined, nowMs: number, intervalMs: number): { slot: number; nextFreeAt: number } {
  const slot = Math.max(nextFreeAt ?? nowMs, nowMs);
  return { slot, nextFreeAt: slot + intervalMs };
}

/**
 * What a dispatcher does with a delivery whose reserved slot is `slot`: send it (after waiting
 * `waitMs` in memory, 0 when the slot has come), or, when the slot is more than `holdMs` away, put
 * it back in the store until then so it holds no worker meanwhile.
 */
export function throttleDecision(slot: number, nowMs: number, holdMs: number): { kind: 'send'; waitMs: number } | { kind: 'defer'; until: number } {
  if (slot - nowMs > holdMs) return { kind: 'defer', until: slot };
  return { kind: 'send', waitMs: Math.max(0, slot - nowMs) };
}

/**
 * GCRA with a burst, for limits that refuse instead of queueing (the API's per-token limits).
 * `tat` is the key's theoretical arrival time: where its virtual schedule, one slot every
 * `1000 / rate` ms, has got to. A request fits when taking the next slot keeps the schedule no
 * more than `burst` slots ahead of now. Same schedule as the endpoint throttle's
 * (Store.reserveThrottleSlot), which is the no-refusal case.
 */
export function gcra(
  tat: number | undefined,
  nowMs: number,
  ratePerSecond: number,
  burst: number,
): { allowed: true; tat: number } | { allowed: false; retryAfterMs: number } {
  const interval = 1000 / ratePerSecond;
  // A schedule can never run further ahead of now than the burst; if it does, the clock stepped
  // backwards, and the key starts afresh rather than being locked out for the size of the step.
  if (tat !== undefined && tat - nowMs > burst * interval) tat = undefined;
  const next = Math.max(nowMs, tat ?? nowMs) + interval;
  const over = next - nowMs - burst * interval;
  if (over > 0) return { allowed: false, retryAfterMs: over };
  return { allowed: true, tat: next };
}

/** Per-key GCRA limits in memory; keys whose schedule has caught up with now are dropped. */
export class RateLimiter {
  private readonly tats = new Map<string, number>();
  private sweepAt = 0;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {}

  /** Take one request for `key`: null when it fits, else how long (ms) until one would. */
  take(key: string, nowMs: number): number | null {
    const r = gcra(this.tats.get(key), nowMs, this.ratePerSecond, this.burst);
    if (!r.allowed) return r.retryAfterMs;
    this.tats.set(key, r.tat);
    if (this.tats.size > 1024 && nowMs >= this.sweepAt) this.sweep(nowMs);
    return null;
  }

  /** A key whose schedule is at or behind now is the same as a key never seen. */
  private sweep(nowMs: number): void {
    for (const [k, t] of this.tats) if (t <= nowMs) this.tats.delete(k);
    this.sweepAt = nowMs + 1000;
  }

  get size(): number {
    return this.tats.size;
  }
}
