// What an attacker with the database files (or a dump) would see: every byte Herald left in a
// SQLite data folder (the database, its -wal and -shm files), or a pg_dump of a PostgreSQL
// database; and a search for secret markers in the spellings a leak could take (as written,
// base64, base64url, hex), so a test can assert none is there, next to a control that is.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file in a SQLite data folder, concatenated (database, -wal, -shm and anything else). */
export function sqliteBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isFile()) parts.push(readFileSync(p));
  }
  return Buffer.concat(parts);
}

/** The names of the SQLite files `sqliteBytes` read (so a test can show the WAL was there). */
export function sqliteFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile());
}

export const PG_DUMP = existsSync('/usr/bin/pg_dump') ? '/usr/bin/pg_dump' : 'pg_dump';

/** A plain-text pg_dump (schema and data) of the database at `url`. */
export function pgDump(url: string): Buffer {
  return execFileSync(PG_DUMP, ['--no-owner', '--no-privileges', url], { maxBuffer: 512 * 1024 * 1024 });
}

/**
 * The spellings of `marker` a leak could take: the bytes, hex, and base64/base64url at each of the
 * three alignments it can have inside a longer encoded value (the characters that would mix with
 * neighbouring bytes are left off).
 */
export function spellings(marker: string | Buffer): Buffer[] {
  const b = typeof marker === 'string' ? Buffer.from(marker, 'utf8') : marker;
  const out = [b, Buffer.from(b.toString('hex'))];
  for (const shift of [0, 1, 2]) {
    const enc = Buffer.concat([Buffer.alloc(shift), b])
      .toString('base64')
      .replace(/=+$/, '');
    const core = enc.slice([0, 2, 3][shift], enc.length - 3);
    out.push(Buffer.from(core), Buffer.from(core.replace(/\+/g, '-').replace(/\//g, '_')));
  }
  return out.filter((x) => x.length >= 8);
}

/** Which of the named markers appear in `bytes`, in any spelling. */
export function markersIn(bytes: Buffer, markers: Record<string, string | Buffer>): string[] {
  return Object.entries(markers)
    .filter(([, m]) => spellings(m).some((s) => bytes.includes(s)))
    .map(([name]) => name);
}
