// better-sqlite3's errors, classified in one place for the SQLite store: constraint violations the
// store turns into conflicts, and the errors that mean "the store cannot take this now". A full
// disk (or a database at its page limit) is StoreFullError; I/O errors, a database that stayed
// locked past the busy timeout, a file that cannot be opened or written are StoreUnavailableError.
// The API turns them into 507 and 503 + Retry-After; anything else stays what it was (a 500).
import { StoreFullError, StoreUnavailableError, type StoreError } from '../errors.js';

/** A UNIQUE or PRIMARY KEY constraint refused the write. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true;
}

/** The store error a better-sqlite3 (or file-system) error means, or null when it is none of these. */
export function classifySqliteError(err: unknown): StoreError | null {
  const code = codeOf(err);
  if (code === null) return null;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'SQLITE_IOERR_NOSPC' || code === 'EDQUOT') {
    return new StoreFullError(
      'The SQLite database cannot grow: its disk (or quota) is full. Free space on the volume that holds the database, then retry.',
      err,
    );
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') {
    return new StoreUnavailableError(`The SQLite database file could not be read or written (${code}); check the disk and its file system.`, 5, err);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreUnavailableError('The SQLite database stayed locked by another connection past the busy timeout; retry shortly.', 1, err);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new StoreUnavailableError('The SQLite database file cannot be opened (missing folder, permissions, or too many open files).', 5, err);
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreUnavailableError('The SQLite database is read-only (file or folder permissions, or a read-only mount); writes cannot be taken.', 30, err);
  }
  return null;
}

function codeOf(err: unknown): string | null {
  // Errors may arrive wrapped (a worker thread, a group commit); follow the cause a few steps.
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_') || /^E[A-Z]+$/.test(code))) return code;
  }
  return null;
}
