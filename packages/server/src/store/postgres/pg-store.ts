// The scale-out store: PostgreSQL, shared by any number of API and worker processes. Same
// contract and semantics as the SQLite store; what differs is how concurrency is made safe:
// - Claims take rows with FOR UPDATE SKIP LOCKED, so dispatchers in many processes never wait on
//   or double-claim each other; the lease and fence work exactly as on SQLite.
// - Every read-modify-write that SQLite's single writer made safe is one conditional statement
//   here (fenced UPDATEs, version compare-and-set, ON CONFLICT), never a read then a blind write.
// - No in-process caches: another process may change any row at any moment. Reads are indexed
//   point look-ups; the dispatcher's per-attempt endpoint read is one primary-key fetch.
import { resealBatchPlan, type ResealCursor, type ResealResult } from '../reseal.js';
import pg from 'pg';
import { conflict, moduleDisabled } from '../../domain/errors.js';
import { endpointMatches } from '../../domain/filters.js';
import { endIdFor, isIdOf, startIdFor } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import {
  MessageStatus,
  type Application,
  type Attempt,
  type DeliveryTask,
  type Endpoint,
  type EventType,
  type IdempotentResponse,
  type Message,
  type PortalSession,
} from '../../domain/types.js';
import { IDEMPOTENCY_COLUMNS, idempotencyRow, idempotentResponse, rowMappers } from '../rows.js';
import { auditRow } from '../audit-rows.js';
import type { AuditEntry, AuditListQuery } from '../../domain/audit.js';
import type { Sealer } from '../../security/sealer.js';
import type {
  AttemptListQuery,
  AttemptResult,
  BackgroundTask,
  ClaimedTask,
  CreateMessageOptions,
  CreateMessagesOptions,
  DeliveryContext,
  EndpointMessage,
  EndpointStats,
  EngageSettings,
  EngageStateKind,
  EngageStateRecord,
  EngageStateWrite,
  IdempotencyWrite,
  MessageDestination,
  MessageListQuery,
  PurgeBatchResult,
  PurgeKind,
  Store,
  TaskListQuery,
} from '../store.js';
import { StaleStateError } from '../store.js';
import { DUE_CHANNEL, PgListener, type ListenerLog } from './pg-listener.js';
import { migratePostgres } from './pg-migrate.js';

type Row = Record<string, any>;
/** A pool or one client inside a transaction: both run queries. */
type Db = pg.Pool | pg.PoolClient;

export interface PgStoreOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  sealer: Sealer;
  /** Apply pending migrations on open (default true); false refuses a schema that needs them. */
  migrate?: boolean;
  /** Connections in this process's pool (default 10). */
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
const PURGE_LOCK_KEY = 0x6865_7261_6c64_3a70n.toString();

/** SQLSTATEs after which the whole transaction is simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const UNIQUE_VIOLATION = '23505';

const sqlState = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;

const jsonOrNull = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/** The first 8 bytes of a (base64url sha256) idempotency key as a signed 64-bit integer, in decimal. */
function keyHash(key: string): string {
  return Buffer.from(key, 'base64url').readBigInt64BE(0).toString();
}

/** Numbered placeholders built alongside their values, so dynamic WHERE clauses stay parameterised. */
class Params {
  readonly values: unknown[] = [];
  constructor(...initial: unknown[]) {
    this.values.push(...initial);
  }
  /** Add a value; returns its placeholder (`$n`). */
  p(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** ORDER/WHERE pieces for a cursor page over `col` (an allowlisted column), in the direction of travel. */
function cursor(col: string, q: PageQuery, ps: Params): { where: string; order: string; limit: string } {
  const backwards = q.before !== null;
  const asc = (q.order === 'ascending') !== backwards;
  const key = backwards ? q.before : q.after;
  return {
    where: key === null ? '' : ` AND ${col} ${asc ? '>' : '<'} ${ps.p(key)}`,
    order: ` ORDER BY ${col} ${asc ? 'ASC' : 'DESC'}`,
    limit: ` LIMIT ${ps.p(q.limit + 1)}`,
  };
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

/**
 * Sent after (never inside) commits that made tasks due. Inside the transaction it would be
 * atomic with the commit, but PostgreSQL serialises every committing transaction that notified
 * behind one database-wide lock held through its WAL flush, which ends group commit: measured on
 * this machine (32 concurrent one-row inserts), 500-1,100 commits/s with an in-transaction
 * pg_notify against 6,000-7,000/s with the coalesced one below. Polling is the guarantee, so a
 * wake-up lost to a crash between the commit and the notify costs at most one poll interval.
 */
const NOTIFY_DUE = `SELECT pg_notify('${DUE_CHANNEL}', '')`;

const TASK_COLS = `t.msg_id AS t_msg_id, t.endpoint_id AS t_endpoint_id, t.app_id AS t_app_id, t.status AS t_status,
  t.attempt_count AS t_attempt_count, t.next_attempt_at AS t_next_attempt_at, t.created_at AS t_created_at,
  t.updated_at AS t_updated_at`;

// The columns the named (prepared) statements read, listed rather than `*`: a prepared `SELECT *`
// fails on every later call ("cached plan must not change result type") once a migration adds a
// column under a running process.
const MESSAGE_COLS = 'id, app_id, uid, event_type, channels, payload, expires_at, created_at';
const ENDPOINT_COLS = ['id', 'app_id', 'uid', 'url', 'description', 'throttle_rate', 'disabled', 'disabled_reason', 'event_types',
  'channels', 'metadata', 'headers_sealed', 'secret_sealed', 'previous_secrets_sealed', 'created_at', 'updated_at'].map((c) => `e.${c}`).join(', ');

/** The most completions one statement writes (about 5 MB of parameters at 20 kB responses). */
const MAX_COMPLETION_BATCH = 256;

/**
 * Many completions (see completeAttempt) as one statement, one array per column, element i of
 * every array belonging to completion i. Same writes as the single form: the attempt row, the
 * fenced task update (a failed manual attempt hands the delivery back to the retry it jumped
 * ahead of), and the end of a failure streak on success. Returns the tasks (with the fence) whose
 * fence held: the same task may be in a batch twice, from its owner and from one that lost it.
 * The task rows are locked first and in (endpoint_id, msg_id) order, the order in which every
 * writer of several tasks locks them (see cancelPendingTasks), and before any endpoint row, so
 * a batch and an endpoint or application delete cannot deadlock.
 */
const COMPLETE_BATCH_SQL = `WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::smallint[],
      $10::smallint[], $11::bigint[], $12::int[], $13::bigint[], $14::bool[], $15::smallint[], $16::bigint[], $17::bigint[], $18::bool[])
      AS v(id, msg_id, endpoint_id, app_id, url, response, response_status_code, response_duration_ms, status, trigger_type, created_at,
        attempt_number, fence, failed_manual, task_status, next_attempt_at, now, clear_failure)),
  a AS (INSERT INTO attempt (id, msg_id, endpoint_id, app_id, url, response, response_status_code, response_duration_ms, status,
      trigger_type, created_at, attempt_number)
    SELECT id, msg_id, endpoint_id, app_id, url, response, response_status_code, response_duration_ms, status, trigger_type, created_at,
      attempt_number FROM v),
  l AS MATERIALIZED (SELECT d.msg_id, d.endpoint_id FROM delivery_task d JOIN v ON d.msg_id = v.msg_id AND d.endpoint_id = v.endpoint_id
    ORDER BY d.endpoint_id, d.msg_id FOR UPDATE OF d),
  t AS (UPDATE delivery_task d SET
      status = CASE WHEN v.failed_manual AND d.resume_at IS NOT NULL THEN ${MessageStatus.pending} ELSE v.task_status END,
      next_attempt_at = CASE WHEN v.failed_manual AND d.resume_at IS NOT NULL THEN d.resume_at ELSE v.next_attempt_at END,
      attempt_count = d.attempt_count + CASE WHEN d.manual_next THEN 0 ELSE 1 END,
      manual_next = false, resume_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = v.now
    FROM l JOIN v ON v.msg_id = l.msg_id AND v.endpoint_id = l.endpoint_id
    WHERE d.msg_id = l.msg_id AND d.endpoint_id = l.endpoint_id AND d.fence = v.fence
    RETURNING d.msg_id, d.endpoint_id, d.fence),
  e AS (UPDATE endpoint SET first_failure_at = NULL
    WHERE id IN (SELECT endpoint_id FROM v WHERE clear_failure) AND first_failure_at IS NOT NULL)
  SELECT msg_id, endpoint_id, fence FROM t`;

interface PendingCompletion {
  task: ClaimedTask;
  result: AttemptResult;
  now: number;
  resolve: (fenced: boolean) => void;
  reject: (e: unknown) => void;
}

export class PgStore implements Store {
  /** Row mappers shared with the other store; JSON columns decoded as this driver returns them. */
  private readonly rows = rowMappers((v) => v);
  readonly kind = 'postgres' as const;
  readonly location: string;
  /** Completion statements written and completions in them, for metrics, tests and benchmarks. */
  readonly completionStats = { batches: 0, completions: 0 };
  private readonly completions: PendingCompletion[] = [];
  private completionsFlushing = false;
  private readonly completionsDrained: (() => void)[] = [];
  /** The connection pool; tests use it to look at rows directly. */
  readonly pool: pg.Pool;
  private readonly sealer: Sealer;
  private readonly dueListeners: (() => void)[] = [];
  private readonly elsewhereListeners: (() => void)[] = [];
  private readonly url: string;
  /** The LISTEN connection, opened when the first dispatcher asks for cross-process wake-ups. */
  listener: PgListener | null = null;

  private constructor(opts: PgStoreOptions) {
    this.url = opts.url;
    this.location = describeUrl(opts.url);
    this.sealer = opts.sealer;
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, types });
    // An idle client whose connection drops (server restart) emits 'error' on the pool; without a
    // listener that would crash the process. The next query simply gets a fresh connection.
    this.pool.on('error', () => {});
    // A client checked out of the pool has no such listener: if its connection dies between two
    // queries (a transaction awaiting its own code, a server restart's FATAL arriving just after a
    // query), it would emit an unhandled 'error' and kill the process. Its next query fails
    // instead, and the transaction's failure path returns the client to the pool as broken.
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /** Connect, then migrate (or check that no migration is pending). */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const store = new PgStore(opts);
    try {
      await migratePostgres(store.pool, opts.migrate ?? true);
    } catch (e) {
      await store.pool.end();
      throw e;
    }
    return store;
  }

  // ---- audit log -----------------------------------------------------------------------------

  async appendAudit(e: AuditEntry): Promise<void> {
    await this.pool.query(
      'INSERT INTO audit_log (id, at, actor, session_id, actor_app_id, operation_id, method, path, status, app_id, endpoint_id, msg_id) ' +
        'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [e.id, e.at, e.actor, e.sessionId, e.actorAppId, e.operationId, e.method, e.path, e.status, e.appId, e.endpointId, e.msgId],
    );
  }

  async listAudit(q: AuditListQuery): Promise<Page<AuditEntry>> {
    const ps = new Params();
    const app = q.appId === null ? '' : ` AND app_id = ${ps.p(q.appId)}`;
    const c = cursor('id', q, ps);
    const rows = await this.all(this.pool, `SELECT * FROM audit_log WHERE TRUE${app}${c.where}${c.order}${c.limit}`, ps.values);
    return toPage(rows, q, (r) => r.id as string, auditRow);
  }

  async close(): Promise<void> {
    if (this.completionsFlushing) await new Promise<void>((r) => this.completionsDrained.push(r));
    await this.announced();
    this.closing = true;
    await this.listener?.stop();
    await this.pool.end();
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async resealBatch(limit: number, cursor: ResealCursor | null): Promise<ResealResult> {
    const plan = resealBatchPlan('postgres', this.sealer, limit, cursor);
    const { updates, scanned, next } = plan.then(await this.all(this.pool, plan.sql, plan.params));
    let resealed = 0;
    // Each row its own short statement: no long transaction holds locks against live traffic.
    for (const [sql, params] of updates) resealed += (await this.pool.query(sql, params)).rowCount ?? 0;
    return { scanned, found: updates.length, resealed, next };
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private async all(db: Db, sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await db.query(sql, params)).rows;
  }

  private async one(db: Db, sql: string, params: unknown[] = []): Promise<Row | undefined> {
    return (await db.query(sql, params)).rows[0];
  }

  private async run(db: Db, sql: string, params: unknown[] = []): Promise<number> {
    return (await db.query(sql, params)).rowCount ?? 0;
  }

  /**
   * Run `work` again after a deadlock or serialization failure (at most 3 tries in all): the failed
   * statement or transaction was rolled back whole, so running it again is safe. Writers lock
   * tasks before endpoints, and several tasks in (endpoint_id, msg_id) order, so deadlocks should
   * not arise between Herald's own writes; this is the net under that rule.
   */
  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (e) {
        if (attempt < 3 && RETRYABLE.has(sqlState(e) ?? '')) continue;
        throw e;
      }
    }
  }

  /** Run `fn` in one READ COMMITTED transaction, retried as `retrying` says: `fn` must only read and write through `c`. */
  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
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

  /** Rethrow a unique violation as the API's 409 with `detail`; anything else as is. */
  private static conflictOn(detail: string) {
    return (e: unknown): never => {
      if (sqlState(e) === UNIQUE_VIOLATION) throw conflict(detail);
      throw e;
    };
  }

  private async putIdem<R>(db: Db, idem: IdempotencyWrite<R> | undefined, result: R): Promise<void> {
    if (!idem) return;
    await db.query(`INSERT INTO idempotency (${IDEMPOTENCY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, idempotencyRow(idem, result, this.sealer, keyHash));
  }

  /**
   * Tell dispatchers about new due work once `p` has committed: this process's at once, every
   * process's through NOTIFY (coalesced: at most one in flight per store, and any commit that
   * lands meanwhile gets one more after it, so each such commit is followed by a notification).
   */
  private notifyAfter<T>(p: Promise<T>, when: (r: T) => boolean): Promise<T> {
    return p.then((r) => {
      if (when(r)) {
        for (const l of this.dueListeners) l();
        this.announceDue();
      }
      return r;
    });
  }

  private announcing: Promise<void> | null = null;
  private announceAgain = false;
  private closing = false;

  private announceDue(): void {
    if (this.closing) return;
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    this.announcing = this.pool
      .query(NOTIFY_DUE)
      .then(
        () => undefined,
        () => undefined, // the database is unreachable: the dispatchers' polling finds the work
      )
      .then(() => {
        this.announcing = null;
        if (this.announceAgain) {
          this.announceAgain = false;
          this.announceDue();
        }
      });
  }

  /** Resolves once every notification asked for so far has been sent (for tests and close). */
  async announced(): Promise<void> {
    while (this.announcing) await this.announcing;
  }

  // ---- applications --------------------------------------------------------------------------

  private insertApp(db: Db, a: Application): Promise<number> {
    return this.run(
      db,
      'INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [a.id, a.uid, a.name, a.throttleRate, JSON.stringify(a.metadata), a.createdAt, a.updatedAt],
    );
  }

  async createApplication(app: Application, idem?: IdempotencyWrite<Application>): Promise<Application> {
    const write = async (db: Db) => {
      await this.insertApp(db, app).catch(PgStore.conflictOn('An application with that id or uid already exists'));
      await this.putIdem(db, idem, app);
      return app;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async getApplication(idOrUid: string): Promise<Application | null> {
    const col = isIdOf('application', idOrUid) ? 'id' : 'uid';
    const r = await this.one(this.pool, `SELECT * FROM application WHERE ${col} = $1 AND deleted_at IS NULL`, [idOrUid]);
    return r ? this.rows.app(r) : null;
  }

  async listApplications(q: PageQuery): Promise<Page<Application>> {
    const ps = new Params();
    const c = cursor('id', q, ps);
    const rows = await this.all(this.pool, `SELECT * FROM application WHERE deleted_at IS NULL${c.where}${c.order}${c.limit}`, ps.values);
    return toPage(rows, q, (r) => r.id, this.rows.app);
  }

  async updateApplication(app: Application): Promise<Application> {
    const n = await this.run(
      this.pool,
      'UPDATE application SET uid = $1, name = $2, throttle_rate = $3, metadata = $4, updated_at = $5 WHERE id = $6 AND deleted_at IS NULL',
      [app.uid, app.name, app.throttleRate, JSON.stringify(app.metadata), app.updatedAt, app.id],
    ).catch(PgStore.conflictOn('An application with that id or uid already exists'));
    if (n === 0) throw conflict('The application was deleted concurrently');
    return app;
  }

  async deleteApplication(id: string, now: number): Promise<void> {
    await this.tx(async (c) => {
      await this.cancelPendingTasks(c, 'app_id', id);
      await c.query('UPDATE application SET deleted_at = $1, uid = NULL WHERE id = $2 AND deleted_at IS NULL', [now, id]);
      // Its endpoints go with it, so nothing is delivered for a deleted tenant.
      await c.query('UPDATE endpoint SET deleted_at = $1, uid = NULL WHERE app_id = $2 AND deleted_at IS NULL', [now, id]);
    });
  }

  /**
   * Cancel the pending tasks of one application or endpoint. Writers of several tasks lock them in
   * (endpoint_id, msg_id) order and before any endpoint row (as completions do), so no two of them
   * wait on each other in a cycle.
   */
  private async cancelPendingTasks(c: pg.PoolClient, col: 'app_id' | 'endpoint_id', value: string): Promise<void> {
    await c.query(
      `UPDATE delivery_task SET next_attempt_at = NULL, status = $1 WHERE (msg_id, endpoint_id) IN (
         SELECT msg_id, endpoint_id FROM delivery_task WHERE ${col} = $2 AND next_attempt_at IS NOT NULL
         ORDER BY endpoint_id, msg_id FOR UPDATE)`,
      [MessageStatus.canceled, value],
    );
  }

  // ---- event types ---------------------------------------------------------------------------

  private toEventType = (r: Row): EventType => ({
    name: r.name,
    description: r.description,
    archived: r.archived,
    deprecated: r.deprecated,
    schemas: r.schemas,
    featureFlag: r.feature_flag,
    groupName: r.group_name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

  async getEventType(name: string): Promise<EventType | null> {
    const r = await this.one(this.pool, 'SELECT * FROM event_type WHERE name = $1', [name]);
    return r ? this.toEventType(r) : null;
  }

  async listEventTypes(q: PageQuery, includeArchived: boolean): Promise<Page<EventType>> {
    const ps = new Params();
    const c = cursor('name', q, ps);
    const arch = includeArchived ? '' : ' AND NOT archived';
    const rows = await this.all(this.pool, `SELECT * FROM event_type WHERE true${arch}${c.where}${c.order}${c.limit}`, ps.values);
    return toPage(rows, q, (r) => r.name, this.toEventType);
  }

  async putEventType(et: EventType, idem?: IdempotencyWrite<EventType>): Promise<EventType> {
    const write = async (db: Db) => {
      await db.query(
        `INSERT INTO event_type (name, description, archived, deprecated, schemas, feature_flag, group_name, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, archived = excluded.archived,
           deprecated = excluded.deprecated, schemas = excluded.schemas, feature_flag = excluded.feature_flag,
           group_name = excluded.group_name, updated_at = excluded.updated_at`,
        [et.name, et.description, et.archived, et.deprecated, jsonOrNull(et.schemas), et.featureFlag, et.groupName, et.createdAt, et.updatedAt],
      );
      await this.putIdem(db, idem, et);
      return et;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async expungeEventType(name: string): Promise<void> {
    await this.pool.query('DELETE FROM event_type WHERE name = $1', [name]);
  }

  async missingEventTypes(names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await this.all(this.pool, 'SELECT name FROM event_type WHERE NOT archived AND name = ANY($1::text[])', [names]);
    const found = new Set(rows.map((r) => r.name));
    return names.filter((n) => !found.has(n));
  }

  // ---- endpoints -----------------------------------------------------------------------------

  private toEndpoint = (r: Row): Endpoint => ({
    id: r.id,
    appId: r.app_id,
    uid: r.uid,
    url: r.url,
    description: r.description,
    throttleRate: r.throttle_rate,
    disabled: r.disabled,
    disabledReason: r.disabled_reason,
    eventTypes: r.event_types,
    channels: r.channels,
    metadata: r.metadata,
    headers: JSON.parse(this.sealer.unseal(r.headers_sealed)),
    secret: this.sealer.unseal(r.secret_sealed),
    previousSecrets: JSON.parse(this.sealer.unseal(r.previous_secrets_sealed)),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

  /** $1..$13 in the order createEndpoint and updateEndpoint name the columns. */
  private endpointParams(ep: Endpoint): unknown[] {
    return [
      ep.uid, ep.url, ep.description, ep.throttleRate, ep.disabled, ep.disabledReason, jsonOrNull(ep.eventTypes),
      jsonOrNull(ep.channels), JSON.stringify(ep.metadata), this.sealer.seal(JSON.stringify(ep.headers)), this.sealer.seal(ep.secret),
      this.sealer.seal(JSON.stringify(ep.previousSecrets)), ep.updatedAt,
    ];
  }

  async createEndpoint(ep: Endpoint, idem?: IdempotencyWrite<Endpoint>): Promise<Endpoint> {
    const write = async (db: Db) => {
      await db
        .query(
          `INSERT INTO endpoint (uid, url, description, throttle_rate, disabled, disabled_reason, event_types, channels, metadata,
             headers_sealed, secret_sealed, previous_secrets_sealed, updated_at, id, app_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
          [...this.endpointParams(ep), ep.id, ep.appId, ep.createdAt],
        )
        .catch(PgStore.conflictOn('An endpoint with that id or uid already exists'));
      await this.putIdem(db, idem, ep);
      return ep;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
    const col = isIdOf('endpoint', idOrUid) ? 'id' : 'uid';
    const r = await this.one(this.pool, `SELECT * FROM endpoint WHERE ${col} = $1 AND app_id = $2 AND deleted_at IS NULL`, [idOrUid, appId]);
    return r ? this.toEndpoint(r) : null;
  }

  async listEndpoints(appId: string, q: PageQuery): Promise<Page<Endpoint>> {
    const ps = new Params(appId);
    const c = cursor('id', q, ps);
    const rows = await this.all(this.pool, `SELECT * FROM endpoint WHERE app_id = $1 AND deleted_at IS NULL${c.where}${c.order}${c.limit}`, ps.values);
    return toPage(rows, q, (r) => r.id, this.toEndpoint);
  }

  async updateEndpoint(ep: Endpoint): Promise<Endpoint> {
    const n = await this.run(
      this.pool,
      `UPDATE endpoint SET uid = $1, url = $2, description = $3, throttle_rate = $4, disabled = $5, disabled_reason = $6,
         event_types = $7, channels = $8, metadata = $9, headers_sealed = $10, secret_sealed = $11, previous_secrets_sealed = $12,
         updated_at = $13 WHERE id = $14 AND app_id = $15 AND deleted_at IS NULL`,
      [...this.endpointParams(ep), ep.id, ep.appId],
    ).catch(PgStore.conflictOn('An endpoint with that id or uid already exists'));
    if (n === 0) throw conflict('The endpoint was deleted concurrently');
    return ep;
  }

  async deleteEndpoint(appId: string, id: string, now: number): Promise<void> {
    await this.tx(async (c) => {
      await this.cancelPendingTasks(c, 'endpoint_id', id);
      await c.query('UPDATE endpoint SET deleted_at = $1, uid = NULL WHERE id = $2 AND app_id = $3 AND deleted_at IS NULL', [now, id, appId]);
    });
  }

  // ---- messages ------------------------------------------------------------------------------

  createMessage(msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    const p = opts.createApp ? this.tx((c) => this.insertMessage(c, msg, opts)) : this.insertMessageAlone(msg, opts);
    return this.notifyAfter(p, (r) => r.tasks.length > 0);
  }

  /**
   * The usual accept (the application exists): read the endpoints, then write the message, its
   * tasks and the idempotent answer in ONE statement, atomic without BEGIN/COMMIT round trips. The
   * endpoints read a moment before the write is no staler than a read inside a READ COMMITTED
   * transaction would be: each statement there sees the latest commits anyway.
   */
  private async insertMessageAlone(msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    const tasks = await this.matchTasks(this.pool, msg, opts);
    const ps = new Params();
    const cols = [msg.id, msg.appId, msg.eventId, msg.eventType, jsonOrNull(msg.channels), msg.payload, msg.expiresAt, msg.createdAt];
    let sql = `WITH m AS (INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at)
      VALUES (${cols.map((v) => ps.p(v)).join(', ')}) RETURNING id)`;
    if (tasks.length > 0) {
      sql += `, t AS (INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, created_at, updated_at)
        SELECT m.id, e, $2, ${ps.p(MessageStatus.pending)}, $8, ${ps.p(opts.triggerType ?? 0)}, $8, $8
        FROM m, unnest(${ps.p(tasks.map((t) => t.endpointId))}::text[]) AS e)`;
    }
    if (opts.idem) {
      sql += `, i AS (INSERT INTO idempotency (${IDEMPOTENCY_COLUMNS})
        SELECT ${idempotencyRow(opts.idem, msg, this.sealer, keyHash).map((v) => ps.p(v)).join(', ')} FROM m)`;
    }
    await this.pool.query(`${sql} SELECT 1 FROM m`, ps.values).catch(PgStore.conflictOn('A message with that eventId already exists in this application'));
    return { message: msg, tasks };
  }

  /** The delivery tasks a new message gets: one per live endpoint of its application that it matches. */
  private async matchTasks(db: Db, msg: Message, opts: CreateMessageOptions): Promise<DeliveryTask[]> {
    const candidates = await this.all(db, 'SELECT id, disabled, event_types, channels FROM endpoint WHERE app_id = $1 AND deleted_at IS NULL', [msg.appId]);
    return candidates
      .map((r) => ({ id: r.id as string, disabled: r.disabled as boolean, eventTypes: r.event_types as string[] | null, channels: r.channels as string[] | null }))
      .filter((ep) => (opts.onlyEndpointId ? ep.id === opts.onlyEndpointId && !ep.disabled : endpointMatches(ep, msg.eventType, msg.channels)))
      .map((ep) => ({
        msgId: msg.id,
        endpointId: ep.id,
        appId: msg.appId,
        status: MessageStatus.pending,
        attemptCount: 0,
        nextAttemptAt: msg.createdAt,
        createdAt: msg.createdAt,
        updatedAt: msg.createdAt,
      }));
  }

  /**
   * The one way a message enters the store: the row and one delivery task per endpoint it matches
   * (one multi-row INSERT), inside the caller's transaction.
   */
  private async insertMessage(c: pg.PoolClient, msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    if (opts.createApp) {
      const a = opts.createApp;
      // ON CONFLICT waits for a concurrent creator of the same uid, so exactly one application
      // results and every message goes to it.
      const ins = await this.one(
        c,
        `INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (uid) WHERE uid IS NOT NULL DO NOTHING RETURNING id`,
        [a.id, a.uid, a.name, a.throttleRate, JSON.stringify(a.metadata), a.createdAt, a.updatedAt],
      );
      if (ins) msg = { ...msg, appId: a.id };
      else {
        const existing = await this.one(c, 'SELECT id FROM application WHERE uid = $1 AND deleted_at IS NULL', [a.uid]);
        if (!existing) throw conflict('The application was deleted concurrently');
        msg = { ...msg, appId: existing.id };
      }
    }
    await c
      .query('INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        msg.id, msg.appId, msg.eventId, msg.eventType, jsonOrNull(msg.channels), msg.payload, msg.expiresAt, msg.createdAt,
      ])
      .catch(PgStore.conflictOn('A message with that eventId already exists in this application'));
    const tasks = await this.matchTasks(c, msg, opts);
    if (tasks.length > 0) {
      await c.query(
        `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, created_at, updated_at)
         SELECT $1, e, $2, $3, $4, $5, $4, $4 FROM unnest($6::text[]) AS e`,
        [msg.id, msg.appId, MessageStatus.pending, msg.createdAt, opts.triggerType ?? 0, tasks.map((t) => t.endpointId)],
      );
    }
    await this.putIdem(c, opts.idem, msg);
    return { message: msg, tasks };
  }

  createMessages(msgs: Message[], opts: CreateMessagesOptions): Promise<{ messages: Message[]; tasks: DeliveryTask[] }> {
    return this.notifyAfter(
      this.tx(async (c) => {
        if (opts.engage) await this.applyEngageChange(c, opts.engage.appId, opts.engage.state);
        const messages: Message[] = [];
        const tasks: DeliveryTask[] = [];
        for (const m of msgs) {
          const r = await this.insertMessage(c, m, { triggerType: opts.triggerType });
          messages.push(r.message);
          tasks.push(...r.tasks);
        }
        await this.putIdem(c, opts.idem, messages);
        return { messages, tasks };
      }),
      (r) => r.tasks.length > 0,
    );
  }

  async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
    const col = isIdOf('message', idOrEventId) ? 'id' : 'uid';
    const r = await this.one(this.pool, `SELECT * FROM message WHERE ${col} = $1 AND app_id = $2`, [idOrEventId, appId]);
    return r ? this.rows.message(r) : null;
  }

  /** WHERE pieces shared by message-shaped lists (alias `m`); `idCol` carries the id-range filter. */
  private messageFilters(q: { eventTypes?: string[]; channel?: string; afterMs?: number; beforeMs?: number }, idCol: string, ps: Params): string {
    let where = '';
    if (q.eventTypes && q.eventTypes.length) where += ` AND m.event_type = ANY(${ps.p(q.eventTypes)}::text[])`;
    if (q.channel !== undefined) where += ` AND m.channels ? ${ps.p(q.channel)}`;
    if (q.afterMs !== undefined) where += ` AND ${idCol} >= ${ps.p(startIdFor('message', q.afterMs))} AND m.created_at > ${ps.p(q.afterMs)}`;
    if (q.beforeMs !== undefined) where += ` AND ${idCol} <= ${ps.p(endIdFor('message', q.beforeMs))} AND m.created_at < ${ps.p(q.beforeMs)}`;
    return where;
  }

  async listMessages(appId: string, q: MessageListQuery): Promise<Page<Message>> {
    const ps = new Params(appId);
    const where = this.messageFilters(q, 'm.id', ps);
    const c = cursor('m.id', q, ps);
    const rows = await this.all(this.pool, `SELECT m.* FROM message m WHERE m.app_id = $1${where}${c.where}${c.order}${c.limit}`, ps.values);
    return toPage(rows, q, (r) => r.id, this.rows.message);
  }

  async expungeMessageContent(appId: string, msgId: string): Promise<void> {
    await this.pool.query('UPDATE message SET payload = NULL WHERE id = $1 AND app_id = $2', [msgId, appId]);
  }

  // ---- deliveries and attempts ---------------------------------------------------------------

  async listEndpointMessages(appId: string, endpointId: string, q: TaskListQuery): Promise<Page<EndpointMessage>> {
    const ps = new Params(endpointId, appId);
    let where = this.messageFilters(q, 't.msg_id', ps);
    if (q.status !== undefined) where += ` AND t.status = ${ps.p(q.status)}`;
    const c = cursor('t.msg_id', q, ps);
    const rows = await this.all(
      this.pool,
      `SELECT m.*, ${TASK_COLS}
       FROM delivery_task t JOIN message m ON m.app_id = t.app_id AND m.id = t.msg_id
       WHERE t.endpoint_id = $1 AND t.app_id = $2${where}${c.where}${c.order}${c.limit}`,
      ps.values,
    );
    return toPage(rows, q, (r) => r.id, (r) => ({ message: this.rows.message(r), task: this.rows.task(r, 't_') }));
  }

  async listMessageDestinations(appId: string, msgId: string, q: PageQuery): Promise<Page<MessageDestination>> {
    const ps = new Params(msgId, appId);
    const c = cursor('e.id', q, ps);
    const rows = await this.all(
      this.pool,
      `SELECT e.*, ${TASK_COLS}
       FROM delivery_task t JOIN endpoint e ON e.id = t.endpoint_id
       WHERE t.msg_id = $1 AND t.app_id = $2 AND e.deleted_at IS NULL${c.where}${c.order}${c.limit}`,
      ps.values,
    );
    return toPage(rows, q, (r) => r.id, (r) => ({ endpoint: this.toEndpoint(r), task: this.rows.task(r, 't_') }));
  }

  private async listAttempts(appId: string, scopeCol: 'a.endpoint_id' | 'a.msg_id', scope: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    const ps = new Params(scope, appId);
    let where = '';
    if (q.status !== undefined) where += ` AND a.status = ${ps.p(q.status)}`;
    if (q.statusCodeClass !== undefined) {
      if (q.statusCodeClass === 0) where += ' AND a.response_status_code < 100';
      else where += ` AND a.response_status_code >= ${ps.p(q.statusCodeClass)} AND a.response_status_code < ${ps.p(q.statusCodeClass + 100)}`;
    }
    if (q.endpointId !== undefined) where += ` AND a.endpoint_id = ${ps.p(q.endpointId)}`;
    if (q.afterMs !== undefined) where += ` AND a.id >= ${ps.p(startIdFor('attempt', q.afterMs))} AND a.created_at > ${ps.p(q.afterMs)}`;
    if (q.beforeMs !== undefined) where += ` AND a.id <= ${ps.p(endIdFor('attempt', q.beforeMs))} AND a.created_at < ${ps.p(q.beforeMs)}`;
    let join = '';
    if ((q.eventTypes && q.eventTypes.length) || q.channel !== undefined) {
      join = ' JOIN message m ON m.app_id = a.app_id AND m.id = a.msg_id';
      where += this.messageFilters({ eventTypes: q.eventTypes, channel: q.channel }, 'a.msg_id', ps);
    }
    const c = cursor('a.id', q, ps);
    const rows = await this.all(this.pool, `SELECT a.* FROM attempt a${join} WHERE ${scopeCol} = $1 AND a.app_id = $2${where}${c.where}${c.order}${c.limit}`, ps.values);
    return toPage(rows, q, (r) => r.id, this.rows.attempt);
  }

  listAttemptsByEndpoint(appId: string, endpointId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.endpoint_id', endpointId, q);
  }

  listAttemptsByMessage(appId: string, msgId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.msg_id', msgId, q);
  }

  async getAttempt(appId: string, msgId: string, attemptId: string): Promise<Attempt | null> {
    const r = await this.one(this.pool, 'SELECT * FROM attempt WHERE id = $1 AND msg_id = $2 AND app_id = $3', [attemptId, msgId, appId]);
    return r ? this.rows.attempt(r) : null;
  }

  async expungeAttemptContent(appId: string, attemptId: string): Promise<void> {
    await this.pool.query("UPDATE attempt SET response = 'EXPUNGED' WHERE id = $1 AND app_id = $2", [attemptId, appId]);
  }

  async endpointStats(appId: string, endpointId: string, sinceMs: number, untilMs: number): Promise<EndpointStats> {
    const rows = await this.all(
      this.pool,
      `SELECT status, COUNT(*) AS n FROM delivery_task
       WHERE endpoint_id = $1 AND app_id = $2 AND msg_id >= $3 AND msg_id <= $4 GROUP BY status`,
      [endpointId, appId, startIdFor('message', sinceMs), endIdFor('message', untilMs)],
    );
    const stats: EndpointStats = { success: 0, pending: 0, sending: 0, fail: 0 };
    for (const r of rows) {
      if (r.status === MessageStatus.success) stats.success = r.n;
      else if (r.status === MessageStatus.pending) stats.pending = r.n;
      else if (r.status === MessageStatus.sending) stats.sending = r.n;
      else if (r.status === MessageStatus.fail) stats.fail = r.n;
    }
    return stats;
  }

  requeueDelivery(msgId: string, endpointId: string, appId: string, now: number): Promise<void> {
    // One manual attempt, now. A delivery still waiting for a scheduled retry keeps that retry
    // (resume_at) in case the manual attempt fails; a finished one gets a single shot. A lease in
    // progress is fenced out (its attempt is still logged), so the resend is not lost to it. The
    // upsert is one statement: it locks the row, so it serialises with a concurrent claim.
    const p = this.pool.query(
      `INSERT INTO delivery_task AS t (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, manual_next, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 1, true, $5, $5)
       ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
         resume_at = CASE WHEN t.status = ${MessageStatus.pending} AND t.next_attempt_at > excluded.next_attempt_at THEN t.next_attempt_at ELSE NULL END,
         status = excluded.status, next_attempt_at = excluded.next_attempt_at, manual_next = true,
         fence = CASE WHEN t.status = ${MessageStatus.sending} THEN t.fence + 1 ELSE t.fence END,
         lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`,
      [msgId, endpointId, appId, MessageStatus.pending, now],
    );
    return this.notifyAfter(p.then(() => undefined), () => true);
  }

  recoverEndpoint(appId: string, endpointId: string, sinceMs: number, untilMs: number, now: number): Promise<number> {
    const p = this.run(
      this.pool,
      `UPDATE delivery_task SET status = $1, next_attempt_at = $2, trigger_type = 1, updated_at = $2
       WHERE endpoint_id = $3 AND app_id = $4 AND status = $5 AND msg_id >= $6 AND msg_id <= $7`,
      [MessageStatus.pending, now, endpointId, appId, MessageStatus.fail, startIdFor('message', sinceMs), endIdFor('message', untilMs)],
    );
    return this.notifyAfter(p, (n) => n > 0);
  }

  // ---- dispatch -------------------------------------------------------------------------------

  onTasksDue(listener: () => void): void {
    this.dueListeners.push(listener);
  }

  onTasksDueElsewhere(listener: () => void, log?: ListenerLog): void {
    this.elsewhereListeners.push(listener);
    if (this.listener) return;
    this.listener = new PgListener({ url: this.url, log, onWake: () => this.elsewhereListeners.forEach((l) => l()) });
    this.listener.start();
  }

  async claimDueTasks(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedTask[]> {
    // While leased, a task's next_attempt_at is its lease expiry: if this dispatcher dies, the task
    // simply becomes due again then and any dispatcher reclaims it (no separate reaper). SKIP
    // LOCKED lets concurrent claimers in other processes take disjoint rows without waiting; a row
    // changed under us (completed, deferred) is re-checked against `next_attempt_at <= now` after
    // its lock is taken, so it is never claimed when it is no longer due.
    const leaseUntil = now + leaseMs;
    const { rows } = await this.pool.query({
      // Named: each pooled connection parses and plans it once, not on every claim.
      name: 'herald_claim',
      // The locking SELECT is a MATERIALIZED CTE so that it runs exactly once whatever the plan
      // (an IN (subquery) could in principle be rescanned and lock a second batch); today's plan
      // for either form is one index range scan on delivery_task_due, then an index look-up per row.
      // A reserved throttle slot goes to this claimer and leaves the row (`next` has the old value).
      text: `WITH next AS MATERIALIZED (
         SELECT msg_id, endpoint_id, throttle_slot FROM delivery_task WHERE next_attempt_at <= $4
         ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED)
       UPDATE delivery_task t SET lease_owner = $1, lease_expires_at = $2, next_attempt_at = $2, fence = t.fence + 1, status = $3, updated_at = $4,
         throttle_slot = NULL
       FROM next WHERE t.msg_id = next.msg_id AND t.endpoint_id = next.endpoint_id
       RETURNING t.msg_id, t.endpoint_id, t.app_id, t.attempt_count, t.trigger_type, t.manual_next, t.fence, t.lease_expires_at, next.throttle_slot`,
      values: [owner, leaseUntil, MessageStatus.sending, now, limit],
    });
    return rows.map((r) => ({
      msgId: r.msg_id,
      endpointId: r.endpoint_id,
      appId: r.app_id,
      attemptCount: r.attempt_count,
      triggerType: r.manual_next ? 1 : r.trigger_type,
      fence: r.fence,
      leaseExpiresAt: r.lease_expires_at,
      throttleSlot: r.throttle_slot,
    }));
  }

  async loadDeliveries(tasks: ClaimedTask[]): Promise<DeliveryContext[]> {
    if (tasks.length === 0) return [];
    // Two statements for the whole claim, each endpoint read (and its secrets unsealed) once
    // however many of the claim's deliveries go to it. Message ids are unique across
    // applications; the application is checked again below.
    const appIds = [...new Set(tasks.map((t) => t.appId))];
    const [msgRows, epRows] = await Promise.all([
      this.pool.query({
        name: 'herald_load_messages',
        text: `SELECT ${MESSAGE_COLS} FROM message WHERE app_id = ANY($1::text[]) AND id = ANY($2::text[])`,
        values: [appIds, [...new Set(tasks.map((t) => t.msgId))]],
      }),
      this.pool.query({
        name: 'herald_load_endpoints',
        text: `SELECT ${ENDPOINT_COLS}, a.throttle_rate AS app_throttle_rate FROM endpoint e
               LEFT JOIN application a ON a.id = e.app_id AND a.deleted_at IS NULL
               WHERE e.id = ANY($1::text[]) AND e.deleted_at IS NULL`,
        values: [[...new Set(tasks.map((t) => t.endpointId))]],
      }),
    ]);
    const messages = new Map<string, Message>(msgRows.rows.map((r) => [`${r.app_id} ${r.id}`, this.rows.message(r)]));
    const endpoints = new Map<string, { endpoint: Endpoint; appRate: number | null }>(
      epRows.rows.map((r) => [`${r.app_id} ${r.id}`, { endpoint: this.toEndpoint(r), appRate: r.app_throttle_rate }]),
    );
    return tasks.map((t) => {
      const ep = endpoints.get(`${t.appId} ${t.endpointId}`);
      return {
        endpoint: ep?.endpoint ?? null,
        message: messages.get(`${t.appId} ${t.msgId}`) ?? null,
        throttleRate: ep ? (ep.endpoint.throttleRate ?? ep.appRate) : null,
      };
    });
  }

  async reserveThrottleSlot(endpointId: string, ratePerSecond: number, now: number): Promise<number> {
    // One statement: the upsert's row lock serialises reservations from every process, and each
    // takes the slot after the last one taken (or now, if the schedule has fallen behind).
    const interval = Math.ceil(1000 / ratePerSecond);
    const r = await this.one(
      this.pool,
      `INSERT INTO endpoint_throttle AS e (endpoint_id, next_free_at) VALUES ($1, $2::bigint + $3::bigint)
       ON CONFLICT (endpoint_id) DO UPDATE SET next_free_at = GREATEST(e.next_free_at, $2::bigint) + $3::bigint
       RETURNING e.next_free_at - $3::bigint AS at`,
      [endpointId, now, interval],
    );
    return r!.at;
  }

  async nextDueAt(): Promise<number | null> {
    const r = await this.one(this.pool, 'SELECT MIN(next_attempt_at) AS t FROM delivery_task WHERE next_attempt_at IS NOT NULL');
    return r?.t ?? null;
  }

  completeAttempt(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }> {
    const ep = result.endpoint;
    if (ep !== undefined && ep.kind !== 'success') return this.completeNow(task, result, now);
    // The common outcomes (success, retry later) share one statement with every other such
    // completion that arrives meanwhile (see flushCompletions).
    return new Promise<boolean>((resolve, reject) => {
      this.completions.push({ task, result, now, resolve, reject });
      if (!this.completionsFlushing) {
        this.completionsFlushing = true;
        setImmediate(() => void this.flushCompletions());
      }
    }).then((fenced) => ({ fenced, disabled: false, failSince: null }));
  }

  /**
   * A completion whose outcome changes the endpoint's state (a failure streak, a disable): its
   * bookkeeping reads what the write returns, so it runs alone, in a transaction.
   */
  private completeNow(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }> {
    const ep = result.endpoint;
    return this.tx(async (c) => {
      const fenced = (await this.writeCompletions(c, [{ task, result, now }])).size === 1;
      let disabled = false;
      let failSince: number | null = null;
      if (ep?.kind === 'exhausted') {
        const r = await this.one(
          c,
          `UPDATE endpoint SET first_failure_at = COALESCE(first_failure_at, $1) WHERE id = $2
           RETURNING first_failure_at, disabled, deleted_at`,
          [now, task.endpointId],
        );
        if (r && !r.disabled && r.deleted_at === null) {
          failSince = r.first_failure_at;
          if (now - r.first_failure_at >= ep.autoDisableAfterMs) {
            const days = Math.round(ep.autoDisableAfterMs / 864e5);
            disabled = await this.disableEndpoint(c, task.endpointId, `Every delivery failed for ${days} days in a row since ${new Date(r.first_failure_at).toISOString()}`, now);
          }
        }
      } else if (ep?.kind === 'disable') {
        disabled = await this.disableEndpoint(c, task.endpointId, ep.reason, now);
      }
      return { fenced, disabled, failSince };
    });
  }

  /**
   * Write every queued common-path completion (success or retry later) in one statement, and go
   * on while more queued up meanwhile: under load a batch grows to what arrived during the last
   * round trip, so statements, commits and WAL flushes per delivery fall as load rises, and a lone
   * completion still goes out on the next turn of the event loop. If a batch fails for any reason
   * but a retryable one, each of its completions is written alone, so one bad row fails only its
   * own delivery.
   */
  private async flushCompletions(): Promise<void> {
    const key = (c: PendingCompletion) => `${c.task.msgId} ${c.task.endpointId} ${c.task.fence}`;
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0, MAX_COMPLETION_BATCH);
      try {
        const fenced = await this.retrying(() => this.writeCompletions(this.pool, batch));
        this.completionStats.batches++;
        this.completionStats.completions += batch.length;
        for (const c of batch) c.resolve(fenced.has(key(c)));
      } catch {
        await Promise.all(
          batch.map((c) => this.retrying(() => this.writeCompletions(this.pool, [c])).then((f) => c.resolve(f.has(key(c))), c.reject)),
        );
      }
    }
    this.completionsFlushing = false;
    for (const r of this.completionsDrained.splice(0)) r();
  }

  /**
   * The one write of completions (COMPLETE_BATCH_SQL: fixed text, arrays for values, so it is
   * prepared once per connection), for a batch or for one. Returns `msgId endpointId fence` of
   * each task whose fence held.
   */
  private async writeCompletions(db: Db, batch: { task: ClaimedTask; result: AttemptResult; now: number }[]): Promise<Set<string>> {
    const cols: unknown[][] = Array.from({ length: 18 }, () => []);
    for (const { task, result, now } of batch) {
      const a = result.attempt;
      // A failed manual attempt that jumped ahead of a scheduled retry hands the delivery back to
      // that schedule; manual attempts never count against the retry budget.
      const failedManual = task.triggerType === 1 && a.status !== MessageStatus.success;
      [
        a.id, a.msgId, a.endpointId, a.appId, a.url, a.response, a.responseStatusCode, a.responseDurationMs, a.status, a.triggerType,
        a.createdAt, a.triggerType === 1 ? -1 : task.attemptCount + 1, task.fence, failedManual, result.task.status,
        result.task.nextAttemptAt, now, result.endpoint?.kind === 'success',
      ].forEach((v, i) => cols[i]!.push(v));
    }
    const { rows } = await db.query({ name: 'herald_complete_batch', text: COMPLETE_BATCH_SQL, values: cols });
    return new Set(rows.map((r: Row) => `${r.msg_id} ${r.endpoint_id} ${r.fence}`));
  }

  /** Disable an endpoint; true only for the one writer that actually flipped it (across processes). */
  private async disableEndpoint(c: pg.PoolClient, id: string, reason: string, now: number): Promise<boolean> {
    const n = await this.run(
      c,
      'UPDATE endpoint SET disabled = true, disabled_reason = $1, updated_at = $2 WHERE id = $3 AND NOT disabled AND deleted_at IS NULL',
      [reason, now, id],
    );
    return n === 1;
  }

  async deferTask(task: ClaimedTask, at: number, throttleSlot: number | null = null): Promise<boolean> {
    const n = await this.run(
      this.pool,
      `UPDATE delivery_task SET status = $1, next_attempt_at = $2, lease_owner = NULL, lease_expires_at = NULL, throttle_slot = $6
       WHERE msg_id = $3 AND endpoint_id = $4 AND fence = $5`,
      [MessageStatus.pending, at, task.msgId, task.endpointId, task.fence, throttleSlot],
    );
    return n === 1;
  }

  async cancelTask(task: ClaimedTask, now: number): Promise<void> {
    await this.pool.query(
      `UPDATE delivery_task SET status = $1, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
       WHERE msg_id = $3 AND endpoint_id = $4 AND fence = $5`,
      [MessageStatus.canceled, now, task.msgId, task.endpointId, task.fence],
    );
  }

  async releaseLeases(owner: string, now: number): Promise<void> {
    // The released tasks are due at once: other processes' dispatchers hear of it.
    const n = await this.run(
      this.pool,
      `UPDATE delivery_task SET status = $1, next_attempt_at = $2, lease_owner = NULL, lease_expires_at = NULL
       WHERE lease_owner = $3 AND next_attempt_at IS NOT NULL`,
      [MessageStatus.pending, now, owner],
    );
    if (n > 0) {
      this.announceDue();
      await this.announced();
    }
  }

  async queueStats(now: number): Promise<{ waiting: number; due: number; oldestDueAgeMs: number }> {
    const r = (await this.one(
      this.pool,
      `SELECT COUNT(*) AS waiting, COUNT(*) FILTER (WHERE next_attempt_at <= $1) AS due, MIN(next_attempt_at) AS oldest
       FROM delivery_task WHERE next_attempt_at IS NOT NULL`,
      [now],
    ))!;
    return { waiting: r.waiting, due: r.due, oldestDueAgeMs: r.oldest !== null && r.oldest <= now ? now - r.oldest : 0 };
  }

  // ---- retention ------------------------------------------------------------------------------

  purgeBatch(kind: PurgeKind, cutoff: number, limit: number): Promise<PurgeBatchResult> {
    // One process purges at a time (a transaction-scoped advisory lock, tried, never waited for):
    // purge work does not multiply with the number of workers. Rows locked by a dispatcher or an
    // API request are skipped (SKIP LOCKED), so a purge never waits on, or holds up, live traffic;
    // each batch is one short transaction. Every batch is an index range scan bounded by the
    // cutoff: message_expiry for payloads, the (time-ordered) primary key for attempts,
    // idempotency_age for stored answers.
    return this.tx(async (c) => {
      const got = (await this.one(c, 'SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [PURGE_LOCK_KEY]))!.ok as boolean;
      if (!got) return { purged: 0, busy: true };
      // A delivery due or in flight (manual resends included) has next_attempt_at set.
      const pending = (msgCol: string) =>
        `EXISTS (SELECT 1 FROM delivery_task t WHERE t.msg_id = ${msgCol} AND t.next_attempt_at IS NOT NULL)`;
      let sql: string;
      let params: unknown[];
      if (kind === 'payloads') {
        sql = `WITH b AS MATERIALIZED (
                 SELECT app_id, id FROM message m WHERE m.expires_at <= $1 AND m.payload IS NOT NULL AND NOT ${pending('m.id')}
                 ORDER BY m.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
               UPDATE message m SET payload = NULL FROM b WHERE m.app_id = b.app_id AND m.id = b.id`;
        params = [cutoff, limit];
      } else if (kind === 'attempts') {
        sql = `WITH b AS MATERIALIZED (
                 SELECT id FROM attempt a WHERE a.id < $1 AND a.created_at < $2 AND NOT ${pending('a.msg_id')}
                 ORDER BY a.id LIMIT $3 FOR UPDATE SKIP LOCKED)
               DELETE FROM attempt a USING b WHERE a.id = b.id`;
        params = [startIdFor('attempt', cutoff), cutoff, limit];
      } else {
        sql = `WITH b AS MATERIALIZED (
                 SELECT id FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
               DELETE FROM idempotency i USING b WHERE i.id = b.id`;
        params = [cutoff, limit];
      }
      return { purged: await this.run(c, sql, params), busy: false };
    });
  }

  // ---- background tasks ----------------------------------------------------------------------

  async createBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    await this.pool.query('INSERT INTO background_task (id, app_id, kind, status, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      t.id, t.appId, t.kind, t.status, JSON.stringify(t.data), t.createdAt, t.updatedAt,
    ]);
    return t;
  }

  async updateBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    await this.pool.query('UPDATE background_task SET status = $1, data = $2, updated_at = $3 WHERE id = $4', [
      t.status, JSON.stringify(t.data), t.updatedAt, t.id,
    ]);
    return t;
  }

  async getBackgroundTask(id: string): Promise<BackgroundTask | null> {
    const r = await this.one(this.pool, 'SELECT * FROM background_task WHERE id = $1', [id]);
    return r ? this.rows.backgroundTask(r) : null;
  }

  // ---- idempotency ---------------------------------------------------------------------------

  async getIdempotentResponse(key: string, notBefore: number): Promise<IdempotentResponse | null> {
    const r = await this.one(
      this.pool,
      'SELECT status, body, msg_id, created_at FROM idempotency WHERE key_hash = $1 AND key = $2 AND created_at >= $3 ORDER BY id DESC LIMIT 1',
      [keyHash(key), key, notBefore],
    );
    return r ? idempotentResponse(r, this.sealer) : null;
  }

  async putIdempotentResponse(key: string, resp: IdempotentResponse): Promise<void> {
    await this.putIdem(this.pool, { key, status: resp.status, body: () => resp.body, now: resp.createdAt }, null);
  }

  /** Holds are rows, shared by every API process on the database. */
  readonly idempotencyHoldsAreLocal = false;

  async lockIdempotencyKey(key: string, now: number, until: number): Promise<boolean> {
    // Insert the key, or take over a hold that lapsed (its holder crashed); a live hold in another
    // process makes this a no-op. ON CONFLICT waits for a concurrent inserter, so one wins.
    const n = await this.run(
      this.pool,
      `INSERT INTO idempotency_lock AS l (key, locked_until) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until WHERE l.locked_until <= $3`,
      [key, until, now],
    );
    return n === 1;
  }

  async unlockIdempotencyKey(key: string): Promise<void> {
    await this.pool.query('DELETE FROM idempotency_lock WHERE key = $1', [key]);
  }

  // ---- portal sessions -----------------------------------------------------------------------

  async createPortalSession(s: PortalSession, idem?: IdempotencyWrite<PortalSession>): Promise<PortalSession> {
    const write = async (db: Db) => {
      await db.query(
        'INSERT INTO portal_session (id, app_id, permissions, feature_flags, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [s.id, s.appId, JSON.stringify(s.permissions), JSON.stringify(s.featureFlags), s.createdAt, s.expiresAt, s.revokedAt],
      );
      await this.putIdem(db, idem, s);
      return s;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async getPortalSession(id: string): Promise<PortalSession | null> {
    const r = await this.one(this.pool, 'SELECT * FROM portal_session WHERE id = $1', [id]);
    return r ? this.rows.session(r) : null;
  }

  async revokePortalSession(id: string, now: number): Promise<void> {
    await this.pool.query('UPDATE portal_session SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now, id]);
  }

  // ---- engage (issue 4) ------------------------------------------------------------------------

  private toEngageSettings(appId: string, r: Row | undefined): EngageSettings {
    return {
      appId,
      moduleEnabled: r?.module_enabled === true,
      encryptionKey: r?.key_sealed ? this.sealer.unseal(r.key_sealed) : null,
      keySetAt: r?.key_set_at ?? null,
      updatedAt: r?.updated_at ?? null,
    };
  }

  async getEngageSettings(appId: string): Promise<EngageSettings> {
    return this.toEngageSettings(appId, await this.one(this.pool, 'SELECT * FROM engage_tenant WHERE app_id = $1', [appId]));
  }

  async setEngageModule(appId: string, enabled: boolean, now: number): Promise<EngageSettings> {
    const r = await this.one(
      this.pool,
      `INSERT INTO engage_tenant (app_id, module_enabled, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (app_id) DO UPDATE SET module_enabled = excluded.module_enabled, updated_at = excluded.updated_at
       RETURNING *`,
      [appId, enabled, now],
    );
    return this.toEngageSettings(appId, r);
  }

  async setEngageKey(appId: string, key: string | null, now: number): Promise<EngageSettings> {
    const r = await this.one(
      this.pool,
      `INSERT INTO engage_tenant (app_id, key_sealed, key_set_at, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (app_id) DO UPDATE SET key_sealed = excluded.key_sealed, key_set_at = excluded.key_set_at,
         updated_at = excluded.updated_at
       RETURNING *`,
      [appId, key === null ? null : this.sealer.seal(key), key === null ? null : now, now],
    );
    return this.toEngageSettings(appId, r);
  }

  async getEngageState(appId: string, kind: EngageStateKind, key: string): Promise<EngageStateRecord> {
    const r = await this.one(this.pool, 'SELECT state_sealed, version FROM engage_state WHERE app_id = $1 AND kind = $2 AND key = $3', [appId, kind, key]);
    if (!r) return { state: null, version: 0 };
    return { state: r.state_sealed === null ? null : JSON.parse(this.sealer.unseal(r.state_sealed)), version: r.version };
  }

  /**
   * Inside a transaction: the module must be on and the state unchanged since it was read; throws
   * otherwise. The tenant row is read FOR SHARE, so switching the module off waits for this commit.
   * The version check and the write are one statement (insert-if-absent for version 0, a
   * conditional UPDATE otherwise), so two processes racing on one state cannot both win.
   */
  private async applyEngageChange(c: pg.PoolClient, appId: string, w: EngageStateWrite | undefined): Promise<void> {
    const t = await this.one(c, 'SELECT module_enabled FROM engage_tenant WHERE app_id = $1 FOR SHARE', [appId]);
    if (t?.module_enabled !== true) throw moduleDisabled();
    if (!w) return;
    const sealed = w.state === null || w.state === undefined ? null : this.sealer.seal(JSON.stringify(w.state));
    const n =
      w.expectedVersion === 0
        ? await this.run(
            c,
            `INSERT INTO engage_state (app_id, kind, key, state_sealed, version, updated_at) VALUES ($1, $2, $3, $4, 1, $5)
             ON CONFLICT (app_id, kind, key) DO NOTHING`,
            [appId, w.kind, w.key, sealed, w.now],
          )
        : await this.run(
            c,
            `UPDATE engage_state SET state_sealed = $4, version = version + 1, updated_at = $5
             WHERE app_id = $1 AND kind = $2 AND key = $3 AND version = $6`,
            [appId, w.kind, w.key, sealed, w.now, w.expectedVersion],
          );
    if (n !== 1) throw new StaleStateError(w.kind, w.key);
  }
}
