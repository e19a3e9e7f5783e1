// PostgreSQL migrations: the numbered files in migrations/postgres, applied in order with a ledger
// (schema_migrations), all pending ones in ONE transaction under a transaction-scoped advisory
// lock. Two processes starting at once therefore serialise: the second waits for the lock, then
// finds the versions recorded and applies nothing. PostgreSQL's DDL is transactional, so a failed
// migration leaves neither its changes nor its ledger row behind.
import type pg from 'pg';
import { loadMigrations, SchemaTooNewError } from '../migrate.js';

/** The advisory lock key that serialises Herald migrations in one database ('herald:m' in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6865_7261_6c64_3a6dn.toString();

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

/**
 * Apply pending migrations (or, with `apply` false, refuse to go on if any is pending); refuse a
 * schema newer than this code in both cases. Returns the versions applied.
 */
export async function migratePostgres(pool: pg.Pool, apply = true): Promise<number[]> {
  const migrations = loadMigrations('postgres');
  const latest = migrations.at(-1)?.version ?? 0;
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    try {
      await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await c.query(LEDGER);
      const applied = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const dbMax = Math.max(0, ...applied);
      if (dbMax > latest) throw new SchemaTooNewError(dbMax, latest);
      const pending = migrations.filter((m) => !applied.has(m.version));
      if (!apply && pending.length) {
        throw new Error(`the database needs migrations ${pending.map((m) => m.version).join(', ')}: run 'herald migrate'`);
      }
      for (const m of pending) {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
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
