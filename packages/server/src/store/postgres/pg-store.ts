// The scale-out store: PostgreSQL, shared by any number of API and worker processes (see base.ts
// for how concurrency is made safe). Built of one part per concern of the Store contract, each
// extending the one before, all sharing one pool and one transaction helper:
//   base.ts         pool, transactions and retries, wake-ups (NOTIFY); migrations in pg-migrate.ts
//   idempotency.ts  stored answers and key holds
//   audit.ts        audit log and retention batches
//   engage.ts       Engage settings and state (the compare-and-set in common/engage.ts)
//   apps.ts         applications, event types, portal sessions, background tasks
//   endpoints.ts    endpoints
//   messages.ts     messages with their fan-out, delivery and attempt lists
//   queue.ts        the delivery queue: claim, load, complete (batched), defer, requeue
//   destinations.ts destinations (polling endpoints), consumers' positions, their attempts
//   holds.ts        held deliveries and endpoint circuits
import type { Store } from '../store.js';
import type { PgStoreOptions } from './base.js';
import { migratePostgres } from './pg-migrate.js';
import { PgHolds } from './holds.js';

export type { PgStoreOptions } from './base.js';

export class PgStore extends PgHolds implements Store {
  private constructor(opts: PgStoreOptions) {
    super(opts);
  }

  /** Connect, then migrate (or check that no migration is pending). */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const store = new PgStore(opts);
    try {
      await migratePostgres(store.pool, opts.migrate ?? true);
    } catch (e) {
      await store.pool.end();
      throw e;
    }
    return store;
  }
}
