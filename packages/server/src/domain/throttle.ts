// Per-endpoint rate limits as a virtual schedule (GCRA): each send reserves the next free slot,
// `1000 / rate` ms after the previous one. A task whose slot is in the future is put back until
// then, so a throttled endpoint never holds a worker that another endpoint could use.

export class Throttle {
  /** Per key: the earliest time the next send may go out. */
  private readonly nextFree = new Map<string, number>();

  /** Reserve a slot for `key` at `rate` per second; returns when it may be sent (>= now). */
  reserve(key: string, ratePerSecond: number, nowMs: number): number {
    const interval = 1000 / ratePerSecond;
    const at = Math.max(nowMs, this.nextFree.get(key) ?? nowMs);
    this.nextFree.set(key, at + interval);
    return at;
  }

  forget(key: string): void {
    this.nextFree.delete(key);
  }
}
