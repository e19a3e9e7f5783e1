// node-postgres errors, classified in one place for the PostgreSQL store (by SQLSTATE).

/** SQLSTATEs after which the whole transaction is simply run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const UNIQUE_VIOLATION = '23505';

export const sqlState = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;

/** The statement or transaction was rolled back whole and may simply run again. */
export const isRetryable = (e: unknown): boolean => RETRYABLE.has(sqlState(e) ?? '');

/** A UNIQUE or PRIMARY KEY constraint refused the write. */
export const isUniqueViolation = (e: unknown): boolean => sqlState(e) === UNIQUE_VIOLATION;
