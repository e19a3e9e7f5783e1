// The scale-out store: PostgreSQL, shared by any number of API and worker processes. Same
// contract and semantics as the SQLite store; what differs is how concurrency is made safe:
// - Claims take rows with FOR UPDATE SKIP LOCKED, so dispatchers in many processes never wait on
//   or double-claim each other; the lease and fence work exactly as on SQLite.
// - Every read-modify-write that SQLite's single writer made safe is one conditional statement
//   here (fenced UPDATEs, version compare-and-set, ON CONFLICT), never a read then a blind write.
// - No in-process caches: another process may change any row at any moment. Reads are indexed
//   point look-ups; the dispatcher's per-attempt endpoint read is one primary-key fetch.
//
// This file is the foundation every part shares: the pool, the transaction and retry helpers,
// and the wake-ups after commits. The parts (apps.ts … queue.ts) extend it, one concern each;
// pg-store.ts is the last of them.
import pg from 'pg';
import type { Sealer } from '../../security/sealer.js';
import { type TAKEN, taken } from '../common/conflicts.js';
import { IDEMPOTENCY_COLUMNS, idempotencyRow, rowMappers } from '../common/rows.js';
import { resealBatchPlan, type ResealCursor, type ResealResult } from '../reseal.js';
import type { IdempotencyWrite } from '../store.js';
import { isRetryable, isUniqueViolation } from './driver-errors.js';
import { loadMigrations, schemaVerdict, type SchemaVerdict } from '../migrate.js';
import { DUE_CHANNEL, PgListener, type ListenerLog } from './pg-listener.js';
import { readPgLedger } from './pg-migrate.js';

export type Row = Record<string, any>;
/** A pool or one client inside a transaction: both run queries. */
export type Db = pg.Pool | pg.PoolClient;

export interface PgStoreOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  sealer: Sealer;
  /** Apply pending migrations on open (default true); false refuses a schema that needs them. */
  migrate?: boolean;
  /** Connections in this process's pool (default 10); a dispatching process opens one more for its claims. */
  poolSize?: number;
}

// BIGINT (int8) and COUNT(*) come back as numbers: every BIGINT here is an epoch-ms time, a
// count or a fence, all far below 2^53. The idempotency key hash is the one BIGINT beyond that,
// and it is only ever written and compared, never read back. Set per pool, not globally, so
// other users of `pg` in the process are unaffected.
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** The advisory lock key that lets one process at a time purge ('herald:p' in ASCII). */

export const jsonOrNull = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/** The first 8 bytes of a (base64url sha256) idempotency key as a signed 64-bit integer, in decimal. */
export function keyHash(key: string): string {
  return Buffer.from(key, 'base64url').readBigInt64BE(0).toString();
}

/** `postgres://host:port/db` without credentials or options, for start-up output. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** A few endpoints' sealed signing secrets (sealedSecretSample). */
const SECRET_SAMPLE_SQL = 'SELECT secret_sealed AS v FROM endpoint LIMIT $1';

/**
 * The wake-up of every dispatcher process, coalesced so that at most one notifying transaction per
 * store is in flight. PostgreSQL serialises every committing transaction that notified behind one
 * database-wide lock held through its WAL flush, which ends group commit: measured on this machine
 * (32 concurrent one-row inserts), 500-1,100 commits/s with a pg_notify in every transaction
 * against 6,000-7,000/s coalesced. So a commit notifies inside its own statement only when no
 * notification is in flight (notifyWithin: a quiet store's message is announced by its own commit,
 * one round trip sooner), and otherwise after it, in one notification for all the commits that
 * landed meanwhile. Polling is the guarantee, so a wake-up lost to a crash between a commit and its
 * notification costs at most one poll interval.
 */
/** The notification as an expression, for a statement that notifies at its own commit (notifyWithin). */
export const NOTIFY_DUE_EXPR = `pg_notify('${DUE_CHANNEL}', '')`;
const NOTIFY_DUE = `SELECT ${NOTIFY_DUE_EXPR}`;

/**
 * A pool of up to `max` connections with Herald's session settings, `settings` besides. A
 * PostgreSQL that hangs (rather than refusing) must not hold requests until their own timeout: a
 * connection not made within 10 s fails, and the API answers 503 store_unavailable.
 */
function connectionPool(url: string, max: number, settings: string[]): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types, connectionTimeoutMillis: 10_000 });
  // An idle client whose connection drops (server restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});
  // A client checked out of the pool has no such listener: if its connection dies between two
  // queries (a transaction awaiting its own code, a server restart's FATAL arriving just after a
  // query), it would emit an unhandled 'error' and kill the process. Its next query fails
  // instead, and the transaction's failure path returns the client to the pool as broken.
  // JIT off for Herald's sessions: its statements are short, and the fair claim's planner
  // estimates (a LIMIT per endpoint it cannot know) exceed jit_above_cost, which made PostgreSQL
  // spend about 0.4 s compiling a claim that runs in under 1 ms. The SETs are queued before any
  // query on the new connection; if one fails, the session keeps the server's setting.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    for (const sql of ['SET jit = off', ...settings]) client.query(sql).catch(() => {});
  });
  return pool;
}

export abstract class PgBase {
  /** Row mappers shared with the other store; JSON and boolean columns arrive decoded from pg. */
  protected readonly rows: ReturnType<typeof rowMappers>;
  readonly kind = 'postgres' as const;
  protected readonly dialect = 'postgres' as const;
  readonly location: string;
  /** The connection pool; tests use it to look at rows directly. */
  readonly pool: pg.Pool;
  /** The claim's own connection (see the constructor). */
  readonly claimPool: pg.Pool;
  protected readonly sealer: Sealer;
  private readonly dueListeners: (() => void)[] = [];
  private readonly elsewhereListeners: (() => void)[] = [];
  private readonly url: string;
  /** The LISTEN connection, opened when the first dispatcher asks for cross-process wake-ups. */
  listener: PgListener | null = null;

  protected constructor(opts: PgStoreOptions) {
    this.url = opts.url;
    this.location = describeUrl(opts.url);
    this.sealer = opts.sealer;
    this.rows = rowMappers(
      (v) => v,
      (v) => v === true,
      this.sealer,
    );
    this.pool = connectionPool(opts.url, opts.poolSize ?? 10, []);
    // The claim (store/postgres/queue.ts) on a connection of its own, prepared once, with the
    // planner's sequential scans off: a cached generic plan keeps the table sizes it was made
    // with, and one made while delivery_task was small (a worker started on a new database)
    // scanned the whole table in every claim once a backlog arrived (175 ms a claim at 300,000
    // tasks) until the next ANALYZE. Without sequential scans the cached plan reads indexes
    // however small the table was, and claims need not plan on every call (about 0.5 ms each).
    // One connection is enough: a dispatcher claims one claim at a time. Its commits do not wait
    // for the WAL flush (as SQLite's claims do not wait for the disk): a claim lost in a crash only
    // means its tasks are claimed again, and an attempt made under it is still recorded (fenced
    // out, then repeated), so delivery stays at least once; and any later durable commit (the
    // attempt's outcome) flushes the WAL past it. Under load this spares each claim a wait behind
    // the other commits' flushes.
    this.claimPool = connectionPool(opts.url, 1, ['SET enable_seqscan = off', 'SET synchronous_commit = off']);
  }

  /** The newest migration this build ships, for the ledger check. */
  private readonly knownSchema = loadMigrations('postgres').at(-1)?.version ?? 0;

  async checkSchema(): Promise<SchemaVerdict> {
    return schemaVerdict(await readPgLedger(this.pool), this.knownSchema);
  }

  async close(): Promise<void> {
    await this.announced();
    this.closing = true;
    await this.listener?.stop();
    await this.claimPool.end();
    await this.pool.end();
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async resealBatch(limit: number, cursor: ResealCursor | null): Promise<ResealResult> {
    const plan = resealBatchPlan('postgres', this.sealer, limit, cursor);
    const { updates, scanned, next } = plan.updatesFor(await this.all(this.pool, plan.sql, plan.params));
    let resealed = 0;
    // Each row its own short statement: no long transaction holds locks against live traffic.
    for (const [sql, params] of updates) resealed += (await this.pool.query(sql, params)).rowCount ?? 0;
    return { scanned, found: updates.length, resealed, next };
  }

  async sealedSecretSample(limit: number): Promise<string[]> {
    return (await this.all(this.pool, SECRET_SAMPLE_SQL, [limit])).map((r) => r.v as string);
  }

  // ---- plumbing ------------------------------------------------------------------------------

  protected async all(db: Db, sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await db.query(sql, params)).rows;
  }

  protected async one(db: Db, sql: string, params: unknown[] = []): Promise<Row | undefined> {
    return (await db.query(sql, params)).rows[0];
  }

  protected async run(db: Db, sql: string, params: unknown[] = []): Promise<number> {
    return (await db.query(sql, params)).rowCount ?? 0;
  }

  /**
   * Run `work` again after a deadlock or serialization failure (at most 3 tries in all): the failed
   * statement or transaction was rolled back whole, so running it again is safe. Writers lock
   * tasks before endpoints, and several tasks in (endpoint_id, msg_id) order, so deadlocks should
   * not arise between Herald's own writes; this is the net under that rule.
   */
  protected async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (e) {
        if (attempt < 3 && isRetryable(e)) continue;
        throw e;
      }
    }
  }

  /** Run `fn` in one READ COMMITTED transaction, retried as `retrying` says: `fn` must only read and write through `c`. */
  protected tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      const c = await this.pool.connect();
      let broken = false;
      try {
        await c.query('BEGIN');
        const r = await fn(c);
        await c.query('COMMIT');
        return r;
      } catch (e) {
        try {
          await c.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw e;
      } finally {
        c.release(broken);
      }
    });
  }

  /** Rethrow a unique violation as the store's conflict for `what`; anything else as is. */
  protected static conflictOn(what: keyof typeof TAKEN) {
    return (e: unknown): never => {
      if (isUniqueViolation(e)) throw taken(what);
      throw e;
    };
  }

  protected async putIdem<R>(db: Db, idem: IdempotencyWrite<R> | undefined, result: R): Promise<void> {
    if (!idem) return;
    await db.query(`INSERT INTO idempotency (${IDEMPOTENCY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, idempotencyRow(idem, result, this.sealer, keyHash));
  }

  /**
   * Tell dispatchers about new due work once `p` has committed: this process's at once, every
   * process's through NOTIFY (coalesced: at most one in flight per store, and any commit that
   * lands meanwhile gets one more after it, so each such commit is followed by a notification).
   */
  protected notifyAfter<T>(p: Promise<T>, when: (r: T) => boolean): Promise<T> {
    return p.then((r) => {
      if (when(r)) {
        for (const l of this.dueListeners) l();
        this.announceDue();
      }
      return r;
    });
  }

  /**
   * Like notifyAfter, for a statement that can carry the notification itself: `run(true)` must
   * notify (NOTIFY_DUE_EXPR) in the statement that commits, when it makes tasks due. It is asked to
   * only when no notification is in flight, and it then holds the slot until it ends, so commits
   * landing meanwhile get one notification after it, as with notifyAfter.
   */
  protected notifyWithin<T>(run: (notify: boolean) => Promise<T>, when: (r: T) => boolean): Promise<T> {
    if (this.announcing || this.closing) return this.notifyAfter(run(false), when);
    const p = run(true);
    this.holdAnnouncing(p);
    return p.then((r) => {
      if (when(r)) for (const l of this.dueListeners) l();
      return r;
    });
  }

  protected announcing: Promise<void> | null = null;
  protected announceAgain = false;
  protected closing = false;

  protected announceDue(): void {
    if (this.closing) return;
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    // A notification that fails (the database unreachable) is dropped: the dispatchers' polling finds the work.
    this.holdAnnouncing(this.pool.query(NOTIFY_DUE));
  }

  /** `p` notifies: it holds the notification slot until it ends; a notification asked for meanwhile follows it. */
  private holdAnnouncing(p: Promise<unknown>): void {
    const ended = () => {
      this.announcing = null;
      if (this.announceAgain) {
        this.announceAgain = false;
        this.announceDue();
      }
    };
    this.announcing = p.then(ended, ended);
  }

  /** Resolves once every notification asked for so far has been sent (for tests and close). */
  async announced(): Promise<void> {
    while (this.announcing) await this.announcing;
  }

  onTasksDue(listener: () => void): void {
    this.dueListeners.push(listener);
  }

  onTasksDueElsewhere(listener: () => void, log?: ListenerLog): void {
    this.elsewhereListeners.push(listener);
    if (this.listener) return;
    this.listener = new PgListener({ url: this.url, log, onWake: () => this.elsewhereListeners.forEach((l) => l()) });
    this.listener.start();
  }
}
