// Rows straight from the database, on whichever store the Herald under test runs: the SQLite file
// or its PostgreSQL database. For the few things a test cannot see through the API or the Store
// contract (a sealed column, the absence of a copy, a back-dated time); everything else should be
// observed through the API.
//
// The SQL must mean the same on both dialects: write `?` placeholders (they become `$1`, `$2`, …
// on PostgreSQL), and select the columns you assert on rather than `*` when the two schemas store
// them differently (PostgreSQL keeps booleans as BOOLEAN and channel/event-type lists as JSONB;
// SQLite keeps 0/1 and JSON text). Booleans read back as 0/1 on both; never compare a boolean
// column with a literal in SQL (`disabled = 1` is an error on PostgreSQL).
// BIGINT and COUNT(*) come back as numbers on both (the PostgreSQL store parses int8 that way).
import type { Herald } from '../../src/herald.js';
import type { PgStore } from '../../src/store/postgres/pg-store.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

/** Anything that leads to a store: an in-process Herald, a Herald, or the store itself. */
export type RowSource = { herald: Herald } | Herald | Store;

function storeOf(src: RowSource): Store {
  if ('kind' in src && 'claimDueTasks' in src) return src;
  if ('herald' in src) return src.herald.store;
  return (src as Herald).store;
}

/** `?` → `$n` outside of string literals, for PostgreSQL. */
export function toPgParams(sql: string): string {
  let n = 0;
  let out = '';
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

/** Booleans as 0/1 on both stores (SQLite stores them so; PostgreSQL as BOOLEAN). */
function normalise(row: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(row)) if (typeof v === 'boolean') row[k] = v ? 1 : 0;
  return row;
}

/** Run a portable SELECT and return its rows (booleans as 0/1 on both stores). */
export async function rawRows<T = Record<string, unknown>>(src: RowSource, sql: string, params: unknown[] = []): Promise<T[]> {
  const store = storeOf(src);
  if (store.kind === 'sqlite') return (store as SqliteStore).db.prepare(sql).all(...params) as T[];
  const { rows } = await (store as PgStore).pool.query(toPgParams(sql), params);
  return rows.map(normalise) as T[];
}

/** The first row of a portable SELECT, or undefined. */
export async function rawRow<T = Record<string, unknown>>(src: RowSource, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await rawRows<T>(src, sql, params))[0];
}

/** Run a portable UPDATE/INSERT/DELETE; returns the number of rows it changed. */
export async function rawRun(src: RowSource, sql: string, params: unknown[] = []): Promise<number> {
  const store = storeOf(src);
  if (store.kind === 'sqlite') return (store as SqliteStore).db.prepare(sql).run(...params).changes;
  return (await (store as PgStore).pool.query(toPgParams(sql), params)).rowCount ?? 0;
}

/** The names of Herald's tables (not the migration ledger), sorted. */
export async function tableNames(src: RowSource): Promise<string[]> {
  const store = storeOf(src);
  const rows =
    store.kind === 'sqlite'
      ? await rawRows<{ name: string }>(store, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      : await rawRows<{ name: string }>(
          store,
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        );
  return rows
    .map((r) => r.name)
    .filter((n) => n !== 'schema_migrations')
    .sort();
}

/**
 * Every row of every Herald table except `except`, as sorted JSON lines per table: two snapshots
 * are equal exactly when no row was added, removed or changed (PostgreSQL returns rows in no fixed
 * order, hence the sort).
 */
export async function snapshotTables(src: RowSource, except: string[] = []): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of await tableNames(src)) {
    if (except.includes(t)) continue;
    out[t] = (await rawRows(src, `SELECT * FROM ${t}`)).map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();
  }
  return out;
}
