// The embedded default store: one SQLite file in WAL mode (see base.ts for durability). Built of
// one part per concern of the Store contract, each extending the one before, all sharing one
// connection, one group commit and the in-process caches:
//   base.ts         connection, statements, group commit, caches, wake-ups, migrations (sqlite-migrate.ts)
//   idempotency.ts  stored answers and key holds
//   audit.ts        audit log and retention batches
//   engage.ts       Engage settings and state (the compare-and-set in common/engage.ts)
//   apps.ts         applications, event types, portal sessions, background tasks
//   endpoints.ts    endpoints
//   messages.ts     messages with their fan-out, delivery and attempt lists
//   queue.ts        the delivery queue: claim, load, complete, defer, requeue
//   destinations.ts destinations (polling endpoints), consumers' positions, their attempts
//   holds.ts        held deliveries and endpoint circuits
import type { Store } from '../store.js';
import { SqliteHolds } from './holds.js';

export type { SqliteStoreOptions } from './base.js';
export { SQLITE_PURGE_SQL } from './audit.js';

export class SqliteStore extends SqliteHolds implements Store {}
