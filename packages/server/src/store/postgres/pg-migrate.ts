// PostgreSQL migrations, the same shape as SQLite's (sqlite-migrate.ts) over the shared rules in
// ../migrate.ts: the numbered files in migrations/postgres, applied in order, each recorded in
// the ledger (schema_migrations) with the oldest Herald version that can still run on the
// schema. All pending ones run in ONE transaction under a transaction-scoped advisory lock, so
// two processes starting at once serialise: the second waits for the lock, then finds the
// versions recorded and applies nothing. PostgreSQL's DDL is transactional, so a failed
// migration leaves neither its changes nor its ledger row behind.
import type pg from 'pg';
import { LEDGER_MIN_VERSION, loadMigrations, planMigrations, recordedMinimum, type LedgerRow } from '../migrate.js';

/** The advisory lock key that serialises Herald migrations in one database ('herald:m' in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6865_7261_6c64_3a6dn.toString();

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  ${LEDGER_MIN_VERSION} TEXT
)`;

/** The ledger's rows (a ledger from before the minimum version was kept reads as null there). */
export async function readPgLedger(db: pg.Pool | pg.PoolClient): Promise<LedgerRow[]> {
  const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM schema_migrations');
  return rows.map((r) => ({ version: r.version as number, minHeraldVersion: (r[LEDGER_MIN_VERSION] as string | null | undefined) ?? null }));
}

/**
 * Apply pending migrations (or, with `apply` false, refuse to go on if any is pending); refuse a
 * schema this Herald cannot run on in both cases. Returns the versions applied.
 */
export async function migratePostgres(pool: pg.Pool, apply = true): Promise<number[]> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    try {
      await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await c.query(LEDGER);
      // ALTER TABLE takes an ACCESS EXCLUSIVE lock even when the column exists, and a lock request
      // queues every later reader of the ledger behind it: only ask when the column is missing.
      const hasColumn = await c.query(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = $1",
        [LEDGER_MIN_VERSION],
      );
      if (apply && hasColumn.rowCount === 0) await c.query(`ALTER TABLE schema_migrations ADD COLUMN ${LEDGER_MIN_VERSION} TEXT`);
      const rows = await readPgLedger(c);
      const pending = planMigrations(loadMigrations('postgres'), rows, apply);
      for (const m of pending) {
        const min = recordedMinimum(m, rows);
        await c.query(m.sql);
        await c.query(`INSERT INTO schema_migrations (version, name, applied_at, ${LEDGER_MIN_VERSION}) VALUES ($1, $2, $3, $4)`, [
          m.version,
          m.name,
          Date.now(),
          min,
        ]);
        rows.push({ version: m.version, minHeraldVersion: min });
      }
      await c.query('COMMIT');
      return pending.map((m) => m.version);
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    }
  } finally {
    c.release();
  }
}
