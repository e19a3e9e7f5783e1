// Re-sealing for a master-key rotation: every column that holds a value sealed under the master
// key, and the two dialects' statements that find values sealed under another key and replace
// them, a small batch at a time. Each replacement is a compare-and-set on the values that were
// read, so a write racing it (a secret rotated meanwhile) wins and is simply looked at again.
// Any new table or column holding a sealed value must be listed here.
import type { Sealer } from '../security/sealer.js';

export interface SealedTable {
  table: string;
  /** The primary key's columns. */
  key: string[];
  /** Columns holding `sealed:v1:<key id>:…` values (nullable ones may be NULL). */
  sealed: string[];
}

export const SEALED_TABLES: readonly SealedTable[] = [
  { table: 'endpoint', key: ['id'], sealed: ['headers_sealed', 'secret_sealed', 'previous_secrets_sealed'] },
  { table: 'engage_tenant', key: ['app_id'], sealed: ['key_sealed'] },
  { table: 'engage_state', key: ['app_id', 'kind', 'key'], sealed: ['state_sealed'] },
];

export interface ResealResult {
  /** Rows whose values were re-sealed under the current key. */
  resealed: number;
  /** Rows found under another key (re-sealed, or changed meanwhile and left for the next batch). */
  found: number;
}

type Dialect = 'sqlite' | 'postgres';

function placeholder(d: Dialect, i: number): string {
  return d === 'sqlite' ? '?' : `$${i}`;
}

/** `SELECT key…, sealed… FROM t WHERE sealed1 NOT LIKE p OR … LIMIT n`; params: [prefix% per column…, limit]. */
export function staleSelect(d: Dialect, t: SealedTable): string {
  let i = 0;
  const where = t.sealed.map((c) => `${c} NOT LIKE ${placeholder(d, ++i)}`).join(' OR ');
  return `SELECT ${[...t.key, ...t.sealed].join(', ')} FROM ${t.table} WHERE ${where} LIMIT ${placeholder(d, ++i)}`;
}

/** The compare-and-set update; params: [new sealed…, key…, old sealed…]. */
export function resealUpdate(d: Dialect, t: SealedTable): string {
  let i = 0;
  const set = t.sealed.map((c) => `${c} = ${placeholder(d, ++i)}`).join(', ');
  const key = t.key.map((c) => `${c} = ${placeholder(d, ++i)}`).join(' AND ');
  const same = t.sealed.map((c) => `${c} ${d === 'sqlite' ? 'IS' : 'IS NOT DISTINCT FROM'} ${placeholder(d, ++i)}`).join(' AND ');
  return `UPDATE ${t.table} SET ${set} WHERE ${key} AND ${same}`;
}

export function staleParams(t: SealedTable, sealer: Sealer, limit: number): unknown[] {
  return [...t.sealed.map(() => `${sealer.currentPrefix()}%`), limit];
}

/** The update's params for one stale row (values already current, and NULLs, stay as they are). */
export function resealParams(t: SealedTable, sealer: Sealer, row: Record<string, unknown>): unknown[] {
  const old = t.sealed.map((c) => row[c] as string | null);
  const fresh = old.map((v) => (v === null || sealer.isCurrent(v) ? v : sealer.reseal(v)));
  return [...fresh, ...t.key.map((c) => row[c]), ...old];
}
