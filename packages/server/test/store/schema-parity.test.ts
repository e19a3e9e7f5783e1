// The two dialects' migrations must build the same tables and columns: a migration added for one
// store and forgotten for the other fails here, before any behaviour test has to find it. The one
// exception is named below.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Sealer } from '../../src/security/sealer.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createTestDatabase } from '../helpers/pg.js';

/** `table.column` to whether it takes NULL (primary-key columns never do). */
type Columns = Record<string, { nullable: boolean }>;

it('SQLite and PostgreSQL migrate to the same tables, columns and nullability', async () => {
  const sealer = new Sealer(randomBytes(32));
  const dir = mkdtempSync(join(tmpdir(), 'herald-schema-'));
  const lite: Columns = {};
  const sqlite = new SqliteStore({ file: join(dir, 'h.db'), sealer });
  try {
    const tables = sqlite.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
    for (const { name } of tables) {
      for (const c of sqlite.db.prepare(`PRAGMA table_info(${name})`).all() as { name: string; notnull: number; pk: number }[]) {
        lite[`${name}.${c.name}`] = { nullable: c.notnull === 0 && c.pk === 0 };
      }
    }
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const db = await createTestDatabase();
  const pgCols: Columns = {};
  try {
    const store = await PgStore.open({ url: db.url, sealer });
    try {
      const { rows } = await store.pool.query("SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'");
      for (const r of rows) pgCols[`${r.table_name}.${r.column_name}`] = { nullable: r.is_nullable === 'YES' };
    } finally {
      await store.close();
    }
  } finally {
    await db.drop();
  }
  // The one table a store has alone: idempotency holds are rows on PostgreSQL, shared by its API
  // processes, and live in the process on SQLite (one API process per data folder).
  const pgOnly = Object.keys(pgCols).filter((c) => c.startsWith('idempotency_lock.'));
  expect(pgOnly.sort()).toEqual(['idempotency_lock.key', 'idempotency_lock.locked_until']);
  for (const c of pgOnly) delete pgCols[c];
  expect(Object.keys(lite).length).toBeGreaterThan(50);
  expect(pgCols).toEqual(lite);
});
