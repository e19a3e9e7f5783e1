// better-sqlite3's errors, classified in one place for the SQLite store.

/** A UNIQUE or PRIMARY KEY constraint refused the write. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true;
}
