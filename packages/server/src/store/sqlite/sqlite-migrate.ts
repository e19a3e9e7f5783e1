// SQLite migrations: the numbered files in migrations/sqlite, applied in order with a ledger
// (schema_migrations, see ../migrate.ts), each in its own BEGIN IMMEDIATE transaction: SQLite's
// write lock makes a second process migrating at once wait, then find the version recorded.
import type { Database } from 'better-sqlite3';
import { loadMigrations, SchemaTooNewError } from '../migrate.js';

/** Apply pending migrations; refuse a schema newer than this code. Returns the versions applied. */
export function migrateSqlite(db: Database, apply = true): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const migrations = loadMigrations('sqlite');
  const latest = migrations.at(-1)?.version ?? 0;
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const dbMax = Math.max(0, ...applied);
  if (dbMax > latest) throw new SchemaTooNewError(dbMax, latest);
  const pending = migrations.filter((m) => !applied.has(m.version));
  if (!apply) {
    if (pending.length) throw new Error(`the database needs migrations ${pending.map((m) => m.version).join(', ')}: run 'herald migrate'`);
    return [];
  }
  for (const m of pending) {
    // BEGIN IMMEDIATE takes SQLite's write lock: a second process migrating at once waits, then
    // finds the version recorded and skips it.
    db.exec('BEGIN IMMEDIATE');
    try {
      const again = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
      if (!again) {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  }
  return pending.map((m) => m.version);
}
