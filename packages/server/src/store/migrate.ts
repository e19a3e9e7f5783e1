// Numbered, append-only SQL migrations with a ledger, the same rules for both dialects. The files
// live in packages/server/migrations/<dialect>/NNN_name.sql; each backend's runner
// (sqlite/sqlite-migrate.ts, postgres/pg-migrate.ts) applies them and records each in the ledger
// table, schema_migrations, with the oldest Herald version that can still run on the schema.
//
// Migrations are additive unless marked breaking (a first line `-- herald: breaking`): an
// additive one leaves older Herald processes working on the schema (a rolling upgrade keeps old
// workers delivering beside a new API); a breaking one records this Herald's version as the
// oldest that may run, and older processes stop claiming work (see Dispatcher) or refuse to start.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../version.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Older Herald versions cannot run on the schema once this has run. */
  breaking: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The migrations shipped with this build, in order. Works from src/ (tests) and dist/ alike. */
export function loadMigrations(dialect: 'sqlite' | 'postgres'): Migration[] {
  const dir = join(here, '..', '..', 'migrations', dialect);
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = readFileSync(join(dir, f), 'utf8');
      return { version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql, breaking: /^--\s*herald:\s*breaking\b/.test(sql) };
    });
}

/** The ledger's column that holds, per migration, the oldest Herald version that can run on the schema after it. */
export const LEDGER_MIN_VERSION = 'min_herald_version';

/** One ledger row as the runners and the compatibility check read it. */
export interface LedgerRow {
  version: number;
  minHeraldVersion: string | null;
}

/** Order two dotted versions (`1.10.0` after `1.9.2`); a pre-release suffix (`-rc.1`) is ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .split('-')[0]!
      .split('.')
      .map((p) => Number(p) || 0);
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether this Herald may run on a schema, from its ledger. */
export type SchemaVerdict =
  | { ok: true }
  /** `requires`: the oldest version that may run, or null when newer migrations recorded none. */
  | { ok: false; dbVersion: number; requires: string | null; running: string };

/**
 * Whether Herald `running`, which knows migrations up to `knownLatest`, may run on a schema whose
 * ledger holds `rows`. It may unless a migration requires a newer Herald, or a migration it does
 * not know recorded no requirement (one written before the ledger kept them: assume the worst).
 */
export function schemaVerdict(rows: readonly LedgerRow[], knownLatest: number, running = VERSION): SchemaVerdict {
  let requires: string | null = null;
  let unknownWithout = false;
  let dbVersion = 0;
  for (const r of rows) {
    dbVersion = Math.max(dbVersion, r.version);
    if (r.minHeraldVersion !== null) {
      if (requires === null || compareVersions(r.minHeraldVersion, requires) > 0) requires = r.minHeraldVersion;
    } else if (r.version > knownLatest) unknownWithout = true;
  }
  if (unknownWithout || (requires !== null && compareVersions(requires, running) > 0))
    return { ok: false, dbVersion, requires: unknownWithout ? null : requires, running };
  return { ok: true };
}

/**
 * The requirement an additive migration records when no breaking one ever raised it: any Herald.
 * It must be a version, not null, because an older Herald reads null on a migration it does not
 * know as "written before the ledger kept requirements" and stops claiming (schemaVerdict); a
 * rolling upgrade that adds a column would then halt every old worker.
 */
export const ANY_HERALD = '0.0.0';

/** What the ledger records for migration `m`: a breaking one raises the requirement to this Herald; an additive one keeps it. */
export function recordedMinimum(m: Migration, rows: readonly LedgerRow[], running = VERSION): string {
  let current: string | null = null;
  for (const r of rows) if (r.minHeraldVersion !== null && (current === null || compareVersions(r.minHeraldVersion, current) > 0)) current = r.minHeraldVersion;
  if (!m.breaking) return current ?? ANY_HERALD;
  return current === null || compareVersions(running, current) > 0 ? running : current;
}

/** The runners' common decision before applying anything: refuse a schema this Herald cannot run on, and list what is pending. */
export function planMigrations(migrations: readonly Migration[], rows: readonly LedgerRow[], apply: boolean, running = VERSION): Migration[] {
  const latest = migrations.at(-1)?.version ?? 0;
  const verdict = schemaVerdict(rows, latest, running);
  if (!verdict.ok) throw new SchemaTooNewError(verdict.dbVersion, latest, verdict.requires);
  const applied = new Set(rows.map((r) => r.version));
  const pending = migrations.filter((m) => !applied.has(m.version));
  if (!apply && pending.length) throw new Error(`the database needs migrations ${pending.map((m) => m.version).join(', ')}: run 'herald migrate'`);
  return apply ? pending : [];
}

/** The one log line of a process too old for its schema. */
export function tooOldMessage(v: Extract<SchemaVerdict, { ok: false }>): string {
  const needs = v.requires === null ? 'a newer Herald' : `Herald ${v.requires} or newer`;
  return `the database schema (migration ${v.dbVersion}) needs ${needs}; this is Herald ${v.running}, so it stops claiming deliveries until it is upgraded`;
}

export class SchemaTooNewError extends Error {
  constructor(dbVersion: number, codeVersion: number, requires: string | null = null) {
    super(
      `the database schema is at version ${dbVersion}, but this Herald only knows up to ${codeVersion}` +
        (requires === null ? '' : ` and the schema needs Herald ${requires} or newer`) +
        ': it was migrated by a newer Herald. Run that version, or restore a backup taken before the upgrade.',
    );
    this.name = 'SchemaTooNewError';
  }
}
