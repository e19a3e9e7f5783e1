// `idempotency-key` on POST: the same key (for the same caller and URL) within 12 hours answers
// with the first 2xx response and creates nothing new. Requests racing on one key in this process
// wait for the first; across processes (several API processes on one PostgreSQL database) the
// first to take the key's hold in the store does the work and the others wait for its stored
// answer. The stored answer is the durable record across restarts and processes.
import { hash } from 'node:crypto';
import { conflict } from '../domain/errors.js';
import type { IdempotentResponse } from '../domain/types.js';
import type { Store } from '../store/store.js';

export const IDEMPOTENCY_TTL_MS = 12 * 60 * 60 * 1000;
/**
 * How long a key's hold lasts. Answering takes a few store writes; the hold only matters when its
 * holder died mid-request, and then a request waiting on it goes ahead once it lapses.
 */
export const IDEMPOTENCY_HOLD_MS = 30_000;
/** A request waits this long for another process's answer to the same key, then gets a 409. */
export const IDEMPOTENCY_WAIT_MS = IDEMPOTENCY_HOLD_MS + 5_000;

export function idempotencyKey(authorization: string, key: string, method: string, url: string): string {
  return hash('sha256', `${authorization}\n${key}\n${method} ${url}`, 'base64url');
}

export class IdempotencyGuard {
  private readonly inflight = new Map<string, Promise<void>>();
  /** `clock` times the holds: real time, since they coordinate real processes. */
  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Run `work` unless `key` already has an answer. Returns the stored answer for a repeat, or the
   * fresh result; a fresh 2xx is stored unless `work` stored it atomically itself.
   */
  async run<T extends { status: number; body: string; stored: boolean }>(
    key: string,
    now: number,
    work: () => Promise<T>,
  ): Promise<{ replayed: IdempotentResponse } | { fresh: T }> {
    while (this.inflight.has(key)) await this.inflight.get(key)!.catch(() => undefined);
    // Claim the key before the first await: a store read is real I/O on PostgreSQL, and a racing
    // request with the same key must wait for this one rather than slip past the check.
    let done!: () => void;
    this.inflight.set(key, new Promise<void>((r) => (done = r)));
    try {
      const prior = await this.holdOrAnswer(key, now);
      if (prior) return { replayed: prior };
      try {
        const fresh = await work();
        if (fresh.status >= 200 && fresh.status < 300 && !fresh.stored) {
          await this.store.putIdempotentResponse(key, { status: fresh.status, body: fresh.body, createdAt: now });
        }
        return { fresh };
      } finally {
        // A failure stored nothing: the next request with this key does the work itself.
        await this.store.unlockIdempotencyKey(key).catch(() => undefined);
      }
    } finally {
      this.inflight.delete(key);
      done();
    }
  }

  /**
   * Either the stored answer for `key`, or null once this request holds the key (and no answer was
   * stored before it took the hold). While another process holds it, wait for its answer.
   */
  private async holdOrAnswer(key: string, now: number): Promise<IdempotentResponse | null> {
    const deadline = this.clock() + IDEMPOTENCY_WAIT_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      const prior = await this.store.getIdempotentResponse(key, now - IDEMPOTENCY_TTL_MS);
      if (prior) return prior;
      const t = this.clock();
      if (await this.store.lockIdempotencyKey(key, t, t + IDEMPOTENCY_HOLD_MS)) {
        // Another process's holder may have stored its answer between the read above and the hold.
        // With process-local holds only this process answers, and `inflight` keeps its requests
        // for one key apart, so nothing can have been stored meanwhile.
        if (this.store.idempotencyHoldsAreLocal) return null;
        const late = await this.store.getIdempotentResponse(key, now - IDEMPOTENCY_TTL_MS);
        if (late) await this.store.unlockIdempotencyKey(key);
        return late;
      }
      if (t >= deadline) {
        throw conflict('A request with this idempotency-key is still being processed; retry later.');
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
