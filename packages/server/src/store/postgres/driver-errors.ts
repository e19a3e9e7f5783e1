// node-postgres errors, classified in one place for the PostgreSQL store (by SQLSTATE): what is
// retried, what is a conflict, and what means "the store cannot take this now": a server that
// refuses or drops connections, shuts down or restarts, a pool that cannot hand out a connection
// in time, resource exhaustion. A full disk (SQLSTATE 53100) is StoreFullError; the rest
// StoreUnavailableError. The API turns them into 507 and 503 + Retry-After; anything else (a bug,
// a constraint the store did not expect) stays what it was (a 500).
import { StoreFullError, StoreUnavailableError, type StoreError } from '../errors.js';

/** SQLSTATEs after which the whole transaction is simply run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const UNIQUE_VIOLATION = '23505';

export const sqlState = (e: unknown): string | undefined => (typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined);

/** The statement or transaction was rolled back whole and may simply run again. */
export const isRetryable = (e: unknown): boolean => RETRYABLE.has(sqlState(e) ?? '');

/** A UNIQUE or PRIMARY KEY constraint refused the write. */
export const isUniqueViolation = (e: unknown): boolean => sqlState(e) === UNIQUE_VIOLATION;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

// What pg and pg-pool say when the connection, rather than the statement, failed.
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection (is )?(closed|ended)/i,
  /not queryable/i,
  /cannot use a pool after calling end/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

const SQLSTATE_UNAVAILABLE: Record<string, string> = {
  '57P01': 'PostgreSQL is shutting down (admin shutdown)',
  '57P02': 'PostgreSQL shut down after a crash',
  '57P03': 'PostgreSQL is not accepting connections yet (starting up or in recovery)',
  '57P04': 'PostgreSQL dropped the database',
  '57014': 'the statement was cancelled (statement timeout or an administrator)',
  '53000': 'PostgreSQL is out of a resource',
  '53200': 'PostgreSQL is out of memory',
  '53300': 'PostgreSQL has too many connections',
  '53400': 'a PostgreSQL configuration limit was reached',
  '55P03': 'a lock could not be taken in time',
  '25006': 'the server is read-only (a standby, or default_transaction_read_only)',
  '58000': 'PostgreSQL reported a system error',
  '58030': 'PostgreSQL could not read or write its files (I/O error)',
};

/** The store error a pg / pg-pool error means, or null when it is none of these. */
export function classifyPgError(err: unknown): StoreError | null {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const found = classifyOne(e as { code?: unknown; message?: unknown; errors?: unknown }, err);
    if (found) return found;
  }
  return null;
}

function classifyOne(e: { code?: unknown; message?: unknown; errors?: unknown }, original: unknown): StoreError | null {
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (code === '53100') {
    return new StoreFullError('PostgreSQL has no room to write: its disk is full (SQLSTATE 53100). Free space on the database server, then retry.', original);
  }
  if (code in SQLSTATE_UNAVAILABLE) return unavailable(`${SQLSTATE_UNAVAILABLE[code]} (SQLSTATE ${code})`, original);
  if (code.startsWith('08')) return unavailable(`the connection to PostgreSQL failed (SQLSTATE ${code})`, original);
  // A connection attempt to every address of a host fails as an AggregateError of the attempts.
  const inner = Array.isArray(e.errors) ? e.errors.map((x) => (x as { code?: unknown }).code) : [];
  const net = [code, ...inner].find((c): c is string => typeof c === 'string' && NETWORK_CODES.has(c));
  if (net) return unavailable(`PostgreSQL cannot be reached (${net})`, original);
  if (CONNECTION_MESSAGES.some((r) => r.test(message))) return unavailable(`the connection to PostgreSQL failed (${message.slice(0, 120)})`, original);
  return null;
}

function unavailable(why: string, cause: unknown): StoreError {
  return new StoreUnavailableError(
    `The database is unavailable: ${why}. Herald answers again as soon as PostgreSQL does; retry after the delay given.`,
    5,
    cause,
  );
}
