// store: the errors a Store throws. Stores never throw HTTP errors; the API maps these once
// (api/server.ts, `sendError`). Driver errors (unique violations, serialization failures, a busy
// or full database, a lost connection) are translated to these in one place per backend.

/** Base of every error a store raises on purpose. `code` is stable and becomes the API's code. */
export abstract class StoreError extends Error {
  abstract readonly kind: 'conflict' | 'not_found' | 'precondition' | 'unavailable' | 'full';
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

/** The write collides with existing data (a taken uid, a concurrent delete). API: 409. */
export class StoreConflictError extends StoreError {
  readonly kind = 'conflict' as const;
  constructor(detail = 'A conflict has occurred', code = 'conflict') {
    super(code, detail);
  }
}

/** The record the write names does not exist (any more). API: 404. */
export class StoreNotFoundError extends StoreError {
  readonly kind = 'not_found' as const;
  constructor(what = 'Entity', code = 'not_found') {
    super(code, `${what} not found`);
  }
}

/**
 * A condition the caller stated, or the store checks inside the transaction, does not hold (the
 * Engage module is off, say). Nothing was written. API: 409 with `code`.
 */
export class StorePreconditionError extends StoreError {
  readonly kind = 'precondition' as const;
}

/**
 * An Engage state changed between its read and the commit that would replace it: nothing was
 * written, and the caller detects again from the fresh state (the API retries a few times).
 */
export class StaleStateError extends StorePreconditionError {
  constructor(kind: string, key: string) {
    super('concurrent_update', `the ${kind} ${key} changed concurrently`);
  }
}

/** The store cannot take the request now (database down, connection lost, locked). API: 503 + Retry-After. */
export class StoreUnavailableError extends StoreError {
  readonly kind = 'unavailable' as const;
  constructor(
    detail: string,
    readonly retryAfterSeconds = 5,
    override readonly cause?: unknown,
  ) {
    super('store_unavailable', detail);
  }
}

/** The store has no room for the write (disk full, quota). API: 507. */
export class StoreFullError extends StoreError {
  readonly kind = 'full' as const;
  constructor(
    detail: string,
    override readonly cause?: unknown,
  ) {
    super('insufficient_storage', detail);
  }
}

/** The HTTP status a store error answers with. */
export function storeErrorStatus(e: StoreError): number {
  switch (e.kind) {
    case 'conflict':
    case 'precondition':
      return 409;
    case 'not_found':
      return 404;
    case 'unavailable':
      return 503;
    case 'full':
      return 507;
  }
}
