// `idempotency-key` on POST: the same key (for the same caller and URL) within 12 hours answers
// with the first 2xx response and creates nothing new. Requests racing on one key in this process
// wait for the first; the stored answer is the durable record across restarts and processes.
import { createHash } from 'node:crypto';
import type { IdempotentResponse } from '../domain/types.js';
import type { Store } from '../store/store.js';

export const IDEMPOTENCY_TTL_MS = 12 * 60 * 60 * 1000;

export function idempotencyKey(authorization: string, key: string, method: string, url: string): string {
  return createHash('sha256').update(`${authorization}\n${key}\n${method} ${url}`).digest('base64url');
}

export class IdempotencyGuard {
  private readonly inflight = new Map<string, Promise<void>>();
  constructor(private readonly store: Store) {}

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
      const prior = await this.store.getIdempotentResponse(key, now - IDEMPOTENCY_TTL_MS);
      if (prior) return { replayed: prior };
      const fresh = await work();
      if (fresh.status >= 200 && fresh.status < 300 && !fresh.stored) {
        await this.store.putIdempotentResponse(key, { status: fresh.status, body: fresh.body, createdAt: now });
      }
      return { fresh };
    } finally {
      this.inflight.delete(key);
      done();
    }
  }
}
