// `herald backup` and `herald restore` for the embedded store. A backup is `VACUUM INTO` on a
// connection of its own: one read transaction, so the copy is a consistent snapshot of the
// database as of its start, and in WAL mode a reader never blocks Herald's writers (ingest goes
// on while it runs). The master key is never in a backup: it lives in the key file or the
// environment, and both commands say where. PostgreSQL is backed up with its own tools; for it
// both commands print the recipe and exit 2.
import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { schemaVersionFor } from '../herald.js';
import { keyFileOf, masterKeyWhere } from '../security/keyring.js';
import { schemaVerdict, type LedgerRow } from '../store/migrate.js';
import { readSqliteLedger } from '../store/sqlite/sqlite-migrate.js';

type Out = (line: string) => void;

function postgresRecipe(config: Config, out: Out): number {
  const u = new URL((config.database as { url: string }).url);
  u.password = u.password ? '***' : '';
  out(
    `herald backup and restore copy the embedded SQLite store; this Herald uses PostgreSQL (${u.host}${u.pathname}).\n` +
      "Back it up with PostgreSQL's own tools, which take a consistent snapshot while Herald runs:\n\n" +
      `  pg_dump --format=custom --file=herald.dump '${u.toString()}'\n\n` +
      'and restore into an empty database (then start Herald, which applies any newer migrations):\n\n' +
      `  createdb herald_restored && pg_restore --no-owner --dbname='postgres://…/herald_restored' herald.dump\n\n` +
      `The master key is not in the database and so never in a dump: it is in ${masterKeyWhere(config)}. ` +
      'Keep a copy apart from the dumps. See docs/OPERATIONS.md.',
  );
  return 2;
}

/** The schema version recorded in a SQLite file's migration ledger (0 if it has none). */
export function ledgerVersion(db: Database.Database): number {
  const t = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!t) return 0;
  return (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
}

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Put `tmp` at `file` only if nothing is there (a link cannot overwrite), then drop `tmp`. */
function publish(tmp: string, file: string): void {
  linkSync(tmp, file);
  unlinkSync(tmp);
  try {
    const d = openSync(dirname(file), 'r');
    fsyncSync(d);
    closeSync(d);
  } catch {
    // Not every platform can fsync a directory.
  }
}

export async function backup(config: Config, target: string, out: Out): Promise<number> {
  if (config.database.kind === 'postgres') return postgresRecipe(config, out);
  const source = config.database.file;
  const file = resolve(target);
  if (!existsSync(source)) {
    out(`herald: there is no database at ${source} to back up (is HERALD_DATA_DIR or HERALD_DATABASE_URL right?)`);
    return 1;
  }
  if (existsSync(file)) {
    out(`herald: ${file} already exists; a backup never overwrites a file. Choose a new name.`);
    return 1;
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
  const started = Date.now();
  // The copy holds payloads and sealed secrets: it is created for its owner only, before any byte
  // is in it (VACUUM INTO accepts an existing empty file).
  closeSync(openSync(tmp, 'wx', 0o600));
  try {
    const db = new Database(source, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      db.prepare('VACUUM INTO ?').run(tmp);
    } finally {
      db.close();
    }
    const copy = new Database(tmp, { readonly: true });
    let schema: number;
    let messages: number;
    try {
      const check = copy.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check)}`);
      schema = ledgerVersion(copy);
      messages = (copy.prepare('SELECT COUNT(*) AS n FROM message').get() as { n: number }).n;
    } finally {
      copy.close();
    }
    fsyncFile(tmp);
    publish(tmp, file);
    out(
      `Backed up SQLite at ${source} to ${file} in ${Date.now() - started} ms ` +
        `(schema version ${schema}, ${messages} messages, ${statSync(file).size} bytes, mode 0600).\n` +
        `The master key is NOT in the backup: it is in ${masterKeyWhere(config)}. Keep a copy of it apart from your backups; ` +
        'without it the endpoint secrets and other sealed values in the backup cannot be opened.',
    );
    return 0;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** What is in the way of a restore: the database files, and anything in the data folder. */
function occupants(config: Config, db: string): string[] {
  const found = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));
  if (existsSync(config.dataDir)) {
    if (!statSync(config.dataDir).isDirectory()) return [config.dataDir];
    for (const f of readdirSync(config.dataDir)) {
      const p = join(config.dataDir, f);
      if (!found.includes(p)) found.push(p);
    }
  }
  return found;
}

export async function restore(config: Config, source: string, out: Out): Promise<number> {
  if (config.database.kind === 'postgres') return postgresRecipe(config, out);
  const file = resolve(source);
  const db = config.database.file;
  if (!existsSync(file)) {
    out(`herald: there is no backup at ${file}`);
    return 1;
  }
  const inTheWay = occupants(config, db);
  if (inTheWay.length) {
    out(
      `herald: refusing to restore: the data folder ${config.dataDir} is not empty (${inTheWay.slice(0, 5).join(', ')}${inTheWay.length > 5 ? ', …' : ''}).\n` +
        'Restore into a new or empty folder (e.g. HERALD_DATA_DIR=/srv/herald-restored herald restore <file>), ' +
        'or move the current data away first.',
    );
    return 1;
  }
  let schema: number;
  let ledger: LedgerRow[] = [];
  try {
    const b = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const check = b.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
      schema = ledgerVersion(b);
      if (schema > 0) ledger = readSqliteLedger(b);
    } finally {
      b.close();
    }
  } catch (e) {
    out(`herald: ${file} is not a usable Herald backup (${(e as Error).message})`);
    return 1;
  }
  const latest = schemaVersionFor('sqlite');
  if (schema === 0) {
    out(`herald: ${file} is a SQLite file but not a Herald database (it has no migration ledger)`);
    return 1;
  }
  if (!schemaVerdict(ledger, latest).ok) {
    out(
      `herald: the backup is at schema version ${schema}, which this Herald (knowing up to ${latest}) cannot run on: restore it with the Herald that made it, or a newer one.`,
    );
    return 1;
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(db), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(db), `.${basename(db)}.${process.pid}.partial`);
  closeSync(openSync(tmp, 'wx', 0o600));
  try {
    await copyFile(file, tmp);
    fsyncFile(tmp);
    publish(tmp, db);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const migrates = schema < latest ? ` Herald applies migrations ${schema + 1} to ${latest} when it starts.` : '';
  out(
    `Restored ${file} to ${db} (schema version ${schema}).${migrates}\n` +
      `The backup holds no master key. Before starting Herald, put back the key that was in force when the backup was taken: ` +
      `${config.masterKey ? `this Herald reads it from ${masterKeyWhere(config)}` : `copy your saved master.key to ${keyFileOf(config)} (mode 0600), or set HERALD_MASTER_KEY or HERALD_MASTER_KEY_FILE`}. ` +
      'Then `herald doctor` checks that it opens the sealed values.',
  );
  return 0;
}
