// SQLite migrations, the same shape as PostgreSQL's (pg-migrate.ts) over the shared rules in
// ../migrate.ts: the numbered files in migrations/sqlite, applied in order, each recorded in the
// ledger (schema_migrations) with the oldest Herald version that can still run on the schema.
// Each runs in its own BEGIN IMMEDIATE transaction: SQLite's write lock makes a second process
// migrating at once wait, then find the version recorded and skip it.
import type { Database } from 'better-sqlite3';
import { LEDGER_MIN_VERSION, loadMigrations, planMigrations, recordedMinimum, type LedgerRow } from '../migrate.js';

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL, ${LEDGER_MIN_VERSION} TEXT)`;

/** The ledger's rows (a ledger from before the minimum version was kept reads as null there). */
export function readSqliteLedger(db: Database): LedgerRow[] {
  return (db.prepare('SELECT * FROM schema_migrations').all() as Record<string, unknown>[]).map((r) => ({
    version: r.version as number,
    minHeraldVersion: (r[LEDGER_MIN_VERSION] as string | null | undefined) ?? null,
  }));
}

/**
 * Apply pending migrations (or, with `apply` false, refuse to go on if any is pending); refuse a
 * schema this Herald cannot run on in both cases. Returns the versions applied.
 */
export function migrateSqlite(db: Database, apply = true): number[] {
  db.exec(LEDGER);
  const columns = db.prepare('PRAGMA table_info(schema_migrations)').all() as { name: string }[];
  if (apply && !columns.some((c) => c.name === LEDGER_MIN_VERSION)) db.exec(`ALTER TABLE schema_migrations ADD COLUMN ${LEDGER_MIN_VERSION} TEXT`);
  const pending = planMigrations(loadMigrations('sqlite'), readSqliteLedger(db), apply);
  for (const m of pending) {
    db.exec('BEGIN IMMEDIATE');
    try {
      const rows = readSqliteLedger(db);
      if (!rows.some((r) => r.version === m.version)) {
        db.exec(m.sql);
        db.prepare(`INSERT INTO schema_migrations (version, name, applied_at, ${LEDGER_MIN_VERSION}) VALUES (?, ?, ?, ?)`).run(
          m.version,
          m.name,
          Date.now(),
          recordedMinimum(m, rows),
        );
      }
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  }
  return pending.map((m) => m.version);
}
