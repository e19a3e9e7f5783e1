// Numbered, append-only SQL migrations with a ledger. The files live in
// packages/server/migrations/<dialect>/NNN_name.sql; the ledger table records what ran.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The migrations shipped with this build, in order. Works from src/ (tests) and dist/ alike. */
export function loadMigrations(dialect: 'sqlite' | 'postgres'): Migration[] {
  const dir = join(here, '..', '..', 'migrations', dialect);
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: readFileSync(join(dir, f), 'utf8') }));
}

export class SchemaTooNewError extends Error {
  constructor(dbVersion: number, codeVersion: number) {
    super(
      `the database schema is at version ${dbVersion}, but this Herald only knows up to ${codeVersion}: ` +
        'it was migrated by a newer Herald. Run that version, or restore a backup taken before the upgrade.',
    );
    this.name = 'SchemaTooNewError';
  }
}
