// How the API learns that the store cannot take writes, and tells: every error that would have
// been a 500 is first offered to the store's classifier (store/classify.ts), so a full disk is a
// 507 and an outage a 503 with Retry-After. Each such error is counted (herald_store_errors_total)
// and remembered for a short while, so the readiness probe reports it even when a trivial query
// still works (a full disk reads fine).
import { StoreUnavailableError, type StoreError } from '../store/errors.js';
import { storeErrorClassifier, type StoreErrorClassifier } from '../store/classify.js';
import { checkWritable } from '../store/readiness.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';

/** How long a write the store refused keeps the readiness probe at 503. */
export const RECENT_FAILURE_MS = 10_000;

export class StoreHealth {
  private readonly classify: StoreErrorClassifier;
  private last: { error: StoreError; at: number } | null = null;

  constructor(
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly now: () => number,
  ) {
    this.classify = storeErrorClassifier(store.kind);
  }

  /** The store error `err` is or means (counted and remembered when it is an outage or a full store), or null. */
  observe(err: unknown): StoreError | null {
    const e = this.classify(err);
    if (e && (e.kind === 'unavailable' || e.kind === 'full')) {
      this.metrics.storeErrors.inc({ kind: e.kind, store: this.store.kind });
      this.last = { error: e, at: this.now() };
    }
    return e;
  }

  /** Null while the store takes writes; otherwise the store error that says why not. */
  async notReady(): Promise<StoreError | null> {
    try {
      await checkWritable(this.store);
    } catch (err) {
      // Checked live on every probe, so neither counted nor remembered.
      return this.classify(err) ?? new StoreUnavailableError(`The store failed its readiness check: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.last && this.now() - this.last.at < RECENT_FAILURE_MS) return this.last.error;
    this.last = null;
    return null;
  }
}
