// Re-sealing for a master-key rotation: every column that holds a value sealed under the master
// key, and the two dialects' statements that sweep each table in primary-key order (so a batch is
// an index range, never a scan of the whole table) and replace values sealed under another key.
// Each replacement is a compare-and-set on the values that were read, so a write racing it (a
// secret rotated meanwhile) wins; the next sweep looks at that row again.
// Any new table or column holding a sealed value must be listed here.
import type { Sealer } from '../security/sealer.js';

export interface SealedTable {
  table: string;
  /** The primary key's columns. */
  key: string[];
  /** Columns holding `sealed:v1:<key id>:…` values (nullable ones may be NULL; '' holds nothing). */
  sealed: string[];
}

export const SEALED_TABLES: readonly SealedTable[] = [
  { table: 'endpoint', key: ['id'], sealed: ['headers_sealed', 'secret_sealed', 'previous_secrets_sealed'] },
  { table: 'engage_tenant', key: ['app_id'], sealed: ['key_sealed'] },
  { table: 'engage_state', key: ['app_id', 'kind', 'key'], sealed: ['state_sealed'] },
  // Stored answers of idempotent requests (a portal token, for one): sealed when written; older
  // plaintext answers (from before they were) are sealed by the first sweep. An answer that names its message has body ''.
  { table: 'idempotency', key: ['id'], sealed: ['body'] },
  // Destinations' settings (a polling endpoint's signing secret, a broker's credentials). Listed
  // last: a sweep's cursor is an index into this list.
  { table: 'destination', key: ['id'], sealed: ['config_sealed'] },
  // Endpoints' authentication settings (Basic or bearer credentials, OAuth client secrets, mTLS
  // keys): a column added after the list above was in use, so it gets its own sweep at the end.
  { table: 'endpoint', key: ['id'], sealed: ['auth_sealed'] },
];

/** Where a sweep goes on: the table (index into SEALED_TABLES) and the last primary key seen. */
export interface ResealCursor {
  table: number;
  after: unknown[] | null;
}

export interface ResealResult {
  /** Rows looked at. */
  scanned: number;
  /** Rows holding a value under another key (or not sealed). */
  found: number;
  /** Rows re-sealed under the current key (found, less those changed meanwhile). */
  resealed: number;
  /** Where the next batch starts; null when the sweep is complete. */
  next: ResealCursor | null;
}

type Dialect = 'sqlite' | 'postgres';

function placeholders(d: Dialect, from: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => (d === 'sqlite' ? '?' : `$${from + i}`));
}

/** The next `limit` rows after `after` in key order; params: [...after, limit]. */
export function sweepSelect(d: Dialect, t: SealedTable, withAfter: boolean): string {
  const keys = t.key.join(', ');
  const after = withAfter ? ` WHERE (${keys}) > (${placeholders(d, 1, t.key.length).join(', ')})` : '';
  const limit = placeholders(d, withAfter ? t.key.length + 1 : 1, 1)[0];
  return `SELECT ${[...t.key, ...t.sealed].join(', ')} FROM ${t.table}${after} ORDER BY ${keys} LIMIT ${limit}`;
}

/** The compare-and-set update; params: [new sealed…, key…, old sealed…]. */
export function resealUpdate(d: Dialect, t: SealedTable): string {
  const n = t.sealed.length;
  const set = placeholders(d, 1, n)
    .map((p, i) => `${t.sealed[i]} = ${p}`)
    .join(', ');
  const key = placeholders(d, n + 1, t.key.length)
    .map((p, i) => `${t.key[i]} = ${p}`)
    .join(' AND ');
  const same = placeholders(d, n + t.key.length + 1, n)
    .map((p, i) => `${t.sealed[i]} ${d === 'sqlite' ? 'IS' : 'IS NOT DISTINCT FROM'} ${p}`)
    .join(' AND ');
  return `UPDATE ${t.table} SET ${set} WHERE ${key} AND ${same}`;
}

/** The update's params for a row with a value under another key, or null when all are current. */
export function resealParams(t: SealedTable, sealer: Sealer, row: Record<string, unknown>): unknown[] | null {
  const old = t.sealed.map((c) => row[c] as string | null);
  const settled = (v: string | null) => v === null || v === '' || sealer.isCurrent(v);
  if (old.every(settled)) return null;
  const fresh = old.map((v) => (v === null || settled(v) ? v : sealer.isSealed(v) ? sealer.reseal(v) : sealer.seal(v)));
  return [...fresh, ...t.key.map((c) => row[c]), ...old];
}

/**
 * One batch of a sweep, in two halves so each store runs them its own way (SQLite synchronously
 * inside one write, PostgreSQL as separate short statements): what to select, then what to update.
 */
export function resealBatchPlan(d: Dialect, sealer: Sealer, limit: number, cursor: ResealCursor | null) {
  const c = cursor ?? { table: 0, after: null };
  const t = SEALED_TABLES[c.table]!;
  return {
    sql: sweepSelect(d, t, c.after !== null),
    params: [...(c.after ?? []), limit],
    /** The updates for the selected rows, and where the sweep goes on. */
    updatesFor(rows: Record<string, unknown>[]): { updates: [string, unknown[]][]; scanned: number; next: ResealCursor | null } {
      const updates: [string, unknown[]][] = [];
      for (const r of rows) {
        const params = resealParams(t, sealer, r);
        if (params) updates.push([resealUpdate(d, t), params]);
      }
      const last = rows.at(-1);
      const next: ResealCursor | null =
        rows.length === limit && last
          ? { table: c.table, after: t.key.map((k) => last[k]) }
          : c.table + 1 < SEALED_TABLES.length
            ? { table: c.table + 1, after: null }
            : null;
      return { updates, scanned: rows.length, next };
    },
  };
}
