// Whether the store can take writes, for the readiness probe (GET /api/v1/health/ready): a trivial
// query must answer, and for SQLite the database must have room to grow (free space on its volume,
// and pages left below PRAGMA max_page_count). Cheap enough to run on every probe; it writes nothing.
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreFullError } from './errors.js';
import { storeErrorClassifier } from './classify.js';
import type { Store } from './store.js';

/** Below this much free space on the database's volume, SQLite is reported full. */
export const SQLITE_MIN_FREE_BYTES = 8 * 1024 * 1024;

/** Resolves when `store` can take writes; rejects with a store error (or the driver's error) when not. */
export async function checkWritable(store: Store): Promise<void> {
  try {
    await store.ping();
  } catch (e) {
    throw storeErrorClassifier(store.kind)(e) ?? e;
  }
  if (store.kind === 'sqlite') sqliteRoom(store as Store & { db: SqliteHandle });
}

/** The part of the SQLite store's database handle this needs (better-sqlite3's pragma). */
interface SqliteHandle {
  pragma(source: string, options: { simple: true }): unknown;
}

function sqliteRoom(store: Store & { db: SqliteHandle }): void {
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  const max = store.db.pragma('max_page_count', { simple: true }) as number;
  const free = store.db.pragma('freelist_count', { simple: true }) as number;
  if (pages >= max && free === 0) {
    throw new StoreFullError(`The SQLite database is at its page limit (PRAGMA max_page_count = ${max}); raise the limit or free space, then retry.`);
  }
  const fs = statfsSync(dirname(store.location));
  const bytes = fs.bavail * fs.bsize;
  if (bytes < SQLITE_MIN_FREE_BYTES) {
    throw new StoreFullError(
      `The volume holding the SQLite database has ${Math.floor(bytes / 1024)} KiB free (at least ${SQLITE_MIN_FREE_BYTES / 1024 / 1024} MiB is needed to take writes); free space on it.`,
    );
  }
}
