// The embedded default store: one SQLite file in WAL mode. An answered write survives power loss:
// commits run with synchronous=NORMAL and the WAL is fsynced on libuv's pool (wal-sync.ts) before
// any write is answered. Group commit amortises that fsync across concurrent writes.
import { resealBatchPlan, type ResealCursor, type ResealResult } from '../reseal.js';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { conflict, moduleDisabled } from '../../domain/errors.js';
import { endpointMatches } from '../../domain/filters.js';
import { endIdFor, ID_PREFIXES, isIdOf, startIdFor } from '../../domain/ids.js';
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
import { loadMigrations, SchemaTooNewError } from '../migrate.js';
import type {
  AttemptListQuery,
  AttemptResult,
  BackgroundTask,
  ClaimedTask,
  CreateMessageOptions,
  CreateMessagesOptions,
  DeliveryContext,
  EndpointMessage,
  EngageSettings,
  EngageStateKind,
  EngageStateRecord,
  EngageStateWrite,
  EndpointStats,
  IdempotencyWrite,
  MessageDestination,
  MessageListQuery,
  PurgeBatchResult,
  PurgeKind,
  Store,
  TaskListQuery,
} from '../store.js';
import { StaleStateError } from '../store.js';
import { GroupCommit } from './group-commit.js';
import { ReadWorker } from './read-worker.js';
import { WalSync } from './wal-sync.js';

type Row = Record<string, any>;

export interface SqliteStoreOptions {
  /** Path of the database file. */
  file: string;
  sealer: Sealer;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
}

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/** The first 8 bytes of a (base64url sha256) idempotency key as a signed 64-bit integer. */
function keyHash(key: string): bigint {
  return Buffer.from(key, 'base64url').readBigInt64BE(0);
}

function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true;
}

/** ORDER/WHERE pieces for a cursor page over `col`, in the direction of travel. */
function cursor(col: string, q: PageQuery): { where: string; params: string[]; order: string } {
  const backwards = q.before !== null;
  const asc = (q.order === 'ascending') !== backwards;
  const key = backwards ? q.before : q.after;
  return {
    where: key === null ? '' : ` AND ${col} ${asc ? '>' : '<'} ?`,
    params: key === null ? [] : [key],
    order: ` ORDER BY ${col} ${asc ? 'ASC' : 'DESC'}`,
  };
}

interface MatchEndpoint {
  id: string;
  disabled: boolean;
  eventTypes: string[] | null;
  channels: string[] | null;
}

/**
 * The retention purge's statements (exported so a test can check their query plans). Each is an
 * index range scan bounded by the cutoff: message_expiry, the time-ordered attempt ids,
 * idempotency_age. The unary + keeps the pending check on the task's primary key: with statistics
 * taken from a nearly empty table the planner would otherwise scan the whole due index
 * (delivery_task_due) for every candidate row.
 */
export const SQLITE_PURGE_SQL: Record<PurgeKind, string> = (() => {
  const pending = (msgCol: string) => `EXISTS (SELECT 1 FROM delivery_task t WHERE t.msg_id = ${msgCol} AND +t.next_attempt_at IS NOT NULL)`;
  return {
    payloads: `UPDATE message SET payload = NULL WHERE (app_id, id) IN (
      SELECT app_id, id FROM message m WHERE m.expires_at <= ? AND m.payload IS NOT NULL AND NOT ${pending('m.id')}
      ORDER BY m.expires_at LIMIT ?)`,
    attempts: `DELETE FROM attempt WHERE id IN (
      SELECT id FROM attempt a WHERE a.id < ? AND a.created_at < ? AND NOT ${pending('a.msg_id')} ORDER BY a.id LIMIT ?)`,
    idempotency: 'DELETE FROM idempotency WHERE id IN (SELECT id FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)',
  };
})();

const ANY_DUE = 'SELECT 1 AS due FROM delivery_task WHERE next_attempt_at <= ? LIMIT 1';

export class SqliteStore implements Store {
  /** Row mappers shared with the other store; JSON columns decoded as this driver returns them. */
  private readonly rows = rowMappers((v) => (v === null || v === undefined ? null : JSON.parse(v as string)));
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly db: Database;
  readonly writes: GroupCommit;
  private readonly walSync: WalSync;
  /** Reads that scan the backlog, on their own thread and connection. */
  private readonly reads: ReadWorker;
  private readonly sealer: Sealer;
  private readonly stmts = new Map<string, Statement>();
  /** Applications by id and by uid. Exact, like matchCache: every write goes through this store. */
  private readonly appCache = new Map<string, Application>();
  /** Endpoints by id, secrets unsealed: the dispatcher reads one per attempt. Exact, as above. */
  private readonly endpointCache = new Map<string, Endpoint>();
  /** Idempotency-key holds: key → held until (epoch ms); see lockIdempotencyKey. */
  private readonly idempotencyHolds = new Map<string, number>();
  /** Per-application endpoint filters for message fan-out. Exact: every write goes through us. */
  private readonly matchCache = new Map<string, MatchEndpoint[]>();

  constructor(opts: SqliteStoreOptions) {
    this.location = opts.file;
    this.sealer = opts.sealer;
    mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
    // The file holds message payloads (customers' personal data) in the clear: readable by this
    // user alone. Created here with that mode, since SQLite gives the -wal and -shm files the
    // database file's permissions; an existing file keeps the mode its operator chose.
    closeSync(openSync(opts.file, 'a', 0o600));
    this.db = new BetterSqlite3(opts.file);
    this.db.pragma('journal_mode = WAL');
    // Commits do not fsync on the main thread; WalSync does it off-thread before any write is
    // acknowledged (see wal-sync.ts), so answered writes are as durable as with FULL.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = OFF');
    // 16 MiB of page cache. Writes append to time-ordered b-trees and the claim reads a small
    // index, so the hot pages are few: 64 MiB bought no speed in bench/deliver.mjs and cost up to
    // 50 MB of resident memory with a 1,000,000-task backlog (RSS 275 -> 249 MB, e2e 259 -> 203 MB).
    this.db.pragma('cache_size = -16384');
    // Savepoint journals and sorts stay in memory.
    this.db.pragma('temp_store = MEMORY');
    this.migrate(opts.migrate ?? true);
    this.walSync = new WalSync(`${opts.file}-wal`);
    this.reads = new ReadWorker(opts.file);
    this.writes = new GroupCommit(
      this.db,
      () => {
        this.appCache.clear();
        this.matchCache.clear();
        this.endpointCache.clear();
      },
      this.walSync,
    );
  }

  // ---- schema --------------------------------------------------------------------------------

  /** Apply pending migrations; refuse a schema newer than this code. Returns the versions applied. */
  migrate(apply = true): number[] {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const migrations = loadMigrations('sqlite');
    const latest = migrations.at(-1)?.version ?? 0;
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    const dbMax = Math.max(0, ...applied);
    if (dbMax > latest) throw new SchemaTooNewError(dbMax, latest);
    const pending = migrations.filter((m) => !applied.has(m.version));
    if (!apply) {
      if (pending.length) throw new Error(`the database needs migrations ${pending.map((m) => m.version).join(', ')}: run 'herald migrate'`);
      return [];
    }
    for (const m of pending) {
      // BEGIN IMMEDIATE takes SQLite's write lock: a second process migrating at once waits, then
      // finds the version recorded and skips it.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const again = this.db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
        if (!again) {
          this.db.exec(m.sql);
          this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
        }
        this.db.exec('COMMIT');
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    }
    return pending.map((m) => m.version);
  }

  private st(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private all(sql: string, ...params: unknown[]): Row[] {
    return this.st(sql).all(...params) as Row[];
  }

  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.st(sql).get(...params) as Row | undefined;
  }

  private run(sql: string, ...params: unknown[]) {
    return this.st(sql).run(...params);
  }

  private putIdem<R>(idem: IdempotencyWrite<R> | undefined, result: R): void {
    if (!idem) return;
    // An older answer for the same key (past its 12 hours) is simply shadowed by the newer row.
    this.run(`INSERT INTO idempotency (${IDEMPOTENCY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, ...idempotencyRow(idem, result, this.sealer, keyHash));
  }

  // ---- audit log -----------------------------------------------------------------------------

  appendAudit(e: AuditEntry): Promise<void> {
    return this.writes.run(() => {
      this.run(
        'INSERT INTO audit_log (id, at, actor, session_id, actor_app_id, operation_id, method, path, status, app_id, endpoint_id, msg_id) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        e.id, e.at, e.actor, e.sessionId, e.actorAppId, e.operationId, e.method, e.path, e.status, e.appId, e.endpointId, e.msgId,
      );
    });
  }

  async listAudit(q: AuditListQuery): Promise<Page<AuditEntry>> {
    const c = cursor('id', q);
    const app = q.appId === null ? '' : ' AND app_id = ?';
    const rows = this.all(
      `SELECT * FROM audit_log WHERE 1 = 1${app}${c.where}${c.order} LIMIT ?`,
      ...(q.appId === null ? [] : [q.appId]), ...c.params, q.limit + 1,
    );
    return toPage(rows, q, (r) => r.id as string, auditRow);
  }

  async close(): Promise<void> {
    this.writes.flush();
    await this.walSync.close();
    await this.reads.close();
    this.db.close();
  }

  async ping(): Promise<void> {
    this.get('SELECT 1');
  }

  resealBatch(limit: number, cursor: ResealCursor | null): Promise<ResealResult> {
    return this.writes.run(() => {
      const plan = resealBatchPlan('sqlite', this.sealer, limit, cursor);
      const { updates, scanned, next } = plan.then(this.all(plan.sql, ...plan.params));
      let resealed = 0;
      for (const [sql, params] of updates) resealed += this.run(sql, ...params).changes;
      return { scanned, found: updates.length, resealed, next };
    });
  }

  // ---- applications --------------------------------------------------------------------------

  createApplication(app: Application, idem?: IdempotencyWrite<Application>): Promise<Application> {
    return this.writes.run(() => {
      try {
        this.run(
          'INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          app.id, app.uid, app.name, app.throttleRate, JSON.stringify(app.metadata), app.createdAt, app.updatedAt,
        );
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict('An application with that id or uid already exists');
        throw e;
      }
      this.putIdem(idem, app);
      return app;
    });
  }

  async getApplication(idOrUid: string): Promise<Application | null> {
    const hit = this.appCache.get(idOrUid);
    if (hit) return hit;
    const r = isIdOf('application', idOrUid)
      ? this.get('SELECT * FROM application WHERE id = ? AND deleted_at IS NULL', idOrUid)
      : this.get('SELECT * FROM application WHERE uid = ? AND deleted_at IS NULL', idOrUid);
    if (!r) return null;
    const app = this.rows.app(r);
    if (this.appCache.size > 10_000) this.appCache.clear();
    this.appCache.set(app.id, app);
    if (app.uid) this.appCache.set(app.uid, app);
    return app;
  }

  /** Forget an application's cached copy (under its id and any uid it had). */
  private forgetApp(id: string): void {
    const old = this.appCache.get(id);
    this.appCache.delete(id);
    if (old?.uid) this.appCache.delete(old.uid);
  }

  async listApplications(q: PageQuery): Promise<Page<Application>> {
    const c = cursor('id', q);
    const rows = this.all(`SELECT * FROM application WHERE deleted_at IS NULL${c.where}${c.order} LIMIT ?`, ...c.params, q.limit + 1);
    return toPage(rows, q, (r) => r.id, this.rows.app);
  }

  updateApplication(app: Application): Promise<Application> {
    return this.writes.run(() => {
      try {
        const res = this.run(
          'UPDATE application SET uid = ?, name = ?, throttle_rate = ?, metadata = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL',
          app.uid, app.name, app.throttleRate, JSON.stringify(app.metadata), app.updatedAt, app.id,
        );
        if (res.changes === 0) throw conflict('The application was deleted concurrently');
        this.forgetApp(app.id);
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict('An application with that id or uid already exists');
        throw e;
      }
      return app;
    });
  }

  deleteApplication(id: string, now: number): Promise<void> {
    return this.writes.run(() => {
      this.run('UPDATE application SET deleted_at = ?, uid = NULL WHERE id = ? AND deleted_at IS NULL', now, id);
      this.forgetApp(id);
      // Its endpoints go with it, so nothing is delivered for a deleted tenant.
      this.run('UPDATE endpoint SET deleted_at = ?, uid = NULL WHERE app_id = ? AND deleted_at IS NULL', now, id);
      this.endpointCache.clear();
      this.run('UPDATE delivery_task SET next_attempt_at = NULL, status = ? WHERE app_id = ? AND next_attempt_at IS NOT NULL', MessageStatus.canceled, id);
      this.matchCache.delete(id);
    });
  }

  // ---- event types ---------------------------------------------------------------------------

  private toEventType = (r: Row): EventType => ({
    name: r.name,
    description: r.description,
    archived: r.archived === 1,
    deprecated: r.deprecated === 1,
    schemas: parse(r.schemas),
    featureFlag: r.feature_flag,
    groupName: r.group_name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

  async getEventType(name: string): Promise<EventType | null> {
    const r = this.get('SELECT * FROM event_type WHERE name = ?', name);
    return r ? this.toEventType(r) : null;
  }

  async listEventTypes(q: PageQuery, includeArchived: boolean): Promise<Page<EventType>> {
    const c = cursor('name', q);
    const arch = includeArchived ? '' : ' AND archived = 0';
    const rows = this.all(`SELECT * FROM event_type WHERE 1 = 1${arch}${c.where}${c.order} LIMIT ?`, ...c.params, q.limit + 1);
    return toPage(rows, q, (r) => r.name, this.toEventType);
  }

  putEventType(et: EventType, idem?: IdempotencyWrite<EventType>): Promise<EventType> {
    return this.writes.run(() => {
      this.run(
        `INSERT INTO event_type (name, description, archived, deprecated, schemas, feature_flag, group_name, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, archived = excluded.archived,
           deprecated = excluded.deprecated, schemas = excluded.schemas, feature_flag = excluded.feature_flag,
           group_name = excluded.group_name, updated_at = excluded.updated_at`,
        et.name, et.description, et.archived ? 1 : 0, et.deprecated ? 1 : 0, json(et.schemas), et.featureFlag, et.groupName,
        et.createdAt, et.updatedAt,
      );
      this.putIdem(idem, et);
      return et;
    });
  }

  expungeEventType(name: string): Promise<void> {
    return this.writes.run(() => {
      this.run('DELETE FROM event_type WHERE name = ?', name);
    });
  }

  async missingEventTypes(names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const found = new Set(
      this.all(`SELECT name FROM event_type WHERE archived = 0 AND name IN (${names.map(() => '?').join(',')})`, ...names).map((r) => r.name),
    );
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
    disabled: r.disabled === 1,
    disabledReason: r.disabled_reason,
    eventTypes: parse(r.event_types),
    channels: parse(r.channels),
    metadata: JSON.parse(r.metadata),
    headers: JSON.parse(this.sealer.unseal(r.headers_sealed)),
    secret: this.sealer.unseal(r.secret_sealed),
    previousSecrets: JSON.parse(this.sealer.unseal(r.previous_secrets_sealed)),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

  private endpointParams(ep: Endpoint): unknown[] {
    return [
      ep.uid, ep.url, ep.description, ep.throttleRate, ep.disabled ? 1 : 0, ep.disabledReason, json(ep.eventTypes),
      json(ep.channels), JSON.stringify(ep.metadata), this.sealer.seal(JSON.stringify(ep.headers)), this.sealer.seal(ep.secret),
      this.sealer.seal(JSON.stringify(ep.previousSecrets)), ep.updatedAt,
    ];
  }

  createEndpoint(ep: Endpoint, idem?: IdempotencyWrite<Endpoint>): Promise<Endpoint> {
    return this.writes.run(() => {
      try {
        this.run(
          `INSERT INTO endpoint (uid, url, description, throttle_rate, disabled, disabled_reason, event_types, channels, metadata,
             headers_sealed, secret_sealed, previous_secrets_sealed, updated_at, id, app_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ...this.endpointParams(ep), ep.id, ep.appId, ep.createdAt,
        );
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict('An endpoint with that id or uid already exists');
        throw e;
      }
      this.matchCache.delete(ep.appId);
      this.putIdem(idem, ep);
      return ep;
    });
  }

  async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
    const hit = this.endpointCache.get(idOrUid);
    if (hit) return hit.appId === appId ? hit : null;
    const r = isIdOf('endpoint', idOrUid)
      ? this.get('SELECT * FROM endpoint WHERE id = ? AND app_id = ? AND deleted_at IS NULL', idOrUid, appId)
      : this.get('SELECT * FROM endpoint WHERE uid = ? AND app_id = ? AND deleted_at IS NULL', idOrUid, appId);
    if (!r) return null;
    const ep = this.toEndpoint(r);
    if (this.endpointCache.size > 10_000) this.endpointCache.clear();
    this.endpointCache.set(ep.id, ep);
    return ep;
  }

  async listEndpoints(appId: string, q: PageQuery): Promise<Page<Endpoint>> {
    const c = cursor('id', q);
    const rows = this.all(
      `SELECT * FROM endpoint WHERE app_id = ? AND deleted_at IS NULL${c.where}${c.order} LIMIT ?`,
      appId, ...c.params, q.limit + 1,
    );
    return toPage(rows, q, (r) => r.id, this.toEndpoint);
  }

  updateEndpoint(ep: Endpoint): Promise<Endpoint> {
    return this.writes.run(() => {
      try {
        const res = this.run(
          `UPDATE endpoint SET uid = ?, url = ?, description = ?, throttle_rate = ?, disabled = ?, disabled_reason = ?,
             event_types = ?, channels = ?, metadata = ?, headers_sealed = ?, secret_sealed = ?, previous_secrets_sealed = ?,
             updated_at = ? WHERE id = ? AND app_id = ? AND deleted_at IS NULL`,
          ...this.endpointParams(ep), ep.id, ep.appId,
        );
        if (res.changes === 0) throw conflict('The endpoint was deleted concurrently');
        this.endpointCache.delete(ep.id);
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict('An endpoint with that id or uid already exists');
        throw e;
      }
      this.matchCache.delete(ep.appId);
      return ep;
    });
  }

  deleteEndpoint(appId: string, id: string, now: number): Promise<void> {
    return this.writes.run(() => {
      this.run('UPDATE endpoint SET deleted_at = ?, uid = NULL WHERE id = ? AND app_id = ? AND deleted_at IS NULL', now, id, appId);
      this.endpointCache.delete(id);
      this.run(
        'UPDATE delivery_task SET next_attempt_at = NULL, status = ? WHERE endpoint_id = ? AND next_attempt_at IS NOT NULL',
        MessageStatus.canceled, id,
      );
      this.matchCache.delete(appId);
    });
  }

  private matchEndpoints(appId: string): MatchEndpoint[] {
    let eps = this.matchCache.get(appId);
    if (!eps) {
      eps = this.all('SELECT id, disabled, event_types, channels FROM endpoint WHERE app_id = ? AND deleted_at IS NULL', appId).map((r) => ({
        id: r.id,
        disabled: r.disabled === 1,
        eventTypes: parse<string[]>(r.event_types),
        channels: parse<string[]>(r.channels),
      }));
      this.matchCache.set(appId, eps);
    }
    return eps;
  }

  // ---- messages ------------------------------------------------------------------------------

  createMessage(msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    return this.notifyAfter(this.writes.run(() => this.insertMessage(msg, opts)), (r) => r.tasks.length > 0);
  }

  /**
   * The one way a message enters the store: the row and one delivery task per endpoint it matches,
   * inside the caller's write (createMessage, createMessages).
   */
  private insertMessage(msg: Message, opts: CreateMessageOptions): { message: Message; tasks: DeliveryTask[] } {
    if (opts.createApp) {
      const a = opts.createApp;
      const existing = a.uid ? this.get('SELECT id FROM application WHERE uid = ? AND deleted_at IS NULL', a.uid) : undefined;
      if (existing) msg = { ...msg, appId: existing.id };
      else {
        this.run(
          'INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          a.id, a.uid, a.name, a.throttleRate, JSON.stringify(a.metadata), a.createdAt, a.updatedAt,
        );
        msg = { ...msg, appId: a.id };
      }
    }
    try {
      this.run(
        'INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        msg.id, msg.appId, msg.eventId, msg.eventType, json(msg.channels), msg.payload, msg.expiresAt, msg.createdAt,
      );
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict('A message with that eventId already exists in this application');
      throw e;
    }
    const eps = this.matchEndpoints(msg.appId).filter((ep) =>
      opts.onlyEndpointId ? ep.id === opts.onlyEndpointId && !ep.disabled : endpointMatches(ep, msg.eventType, msg.channels),
    );
    const tasks: DeliveryTask[] = [];
    for (const ep of eps) {
      const t: DeliveryTask = {
        msgId: msg.id,
        endpointId: ep.id,
        appId: msg.appId,
        status: MessageStatus.pending,
        attemptCount: 0,
        nextAttemptAt: msg.createdAt,
        createdAt: msg.createdAt,
        updatedAt: msg.createdAt,
      };
      this.run(
        `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        t.msgId, t.endpointId, t.appId, t.status, t.nextAttemptAt, opts.triggerType ?? 0, t.createdAt, t.updatedAt,
      );
      tasks.push(t);
    }
    this.putIdem(opts.idem, msg);
    return { message: msg, tasks };
  }

  createMessages(msgs: Message[], opts: CreateMessagesOptions): Promise<{ messages: Message[]; tasks: DeliveryTask[] }> {
    return this.notifyAfter(this.writes.run(() => {
      if (opts.engage) this.applyEngageChange(opts.engage.appId, opts.engage.state);
      const messages: Message[] = [];
      const tasks: DeliveryTask[] = [];
      for (const m of msgs) {
        const r = this.insertMessage(m, { triggerType: opts.triggerType });
        messages.push(r.message);
        tasks.push(...r.tasks);
      }
      this.putIdem(opts.idem, messages);
      return { messages, tasks };
    }), (r) => r.tasks.length > 0);
  }

  async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
    const r = isIdOf('message', idOrEventId)
      ? this.get('SELECT * FROM message WHERE id = ? AND app_id = ?', idOrEventId, appId)
      : this.get('SELECT * FROM message WHERE uid = ? AND app_id = ?', idOrEventId, appId);
    return r ? this.rows.message(r) : null;
  }

  /** WHERE pieces shared by message-shaped lists (alias `m`). */
  private messageFilters(q: { eventTypes?: string[]; channel?: string; afterMs?: number; beforeMs?: number }, idCol: string) {
    let where = '';
    const params: unknown[] = [];
    if (q.eventTypes && q.eventTypes.length) {
      where += ` AND m.event_type IN (${q.eventTypes.map(() => '?').join(',')})`;
      params.push(...q.eventTypes);
    }
    if (q.channel !== undefined) {
      where += ' AND EXISTS (SELECT 1 FROM json_each(m.channels) WHERE value = ?)';
      params.push(q.channel);
    }
    if (q.afterMs !== undefined) {
      where += ` AND ${idCol} >= ? AND m.created_at > ?`;
      params.push(startIdFor('message', q.afterMs), q.afterMs);
    }
    if (q.beforeMs !== undefined) {
      where += ` AND ${idCol} <= ? AND m.created_at < ?`;
      params.push(endIdFor('message', q.beforeMs), q.beforeMs);
    }
    return { where, params };
  }

  async listMessages(appId: string, q: MessageListQuery): Promise<Page<Message>> {
    const c = cursor('m.id', q);
    const f = this.messageFilters(q, 'm.id');
    const rows = this.all(
      `SELECT m.* FROM message m WHERE m.app_id = ?${f.where}${c.where}${c.order} LIMIT ?`,
      appId, ...f.params, ...c.params, q.limit + 1,
    );
    return toPage(rows, q, (r) => r.id, this.rows.message);
  }

  expungeMessageContent(appId: string, msgId: string): Promise<void> {
    return this.writes.run(() => {
      this.run('UPDATE message SET payload = NULL WHERE id = ? AND app_id = ?', msgId, appId);
    });
  }

  // ---- deliveries and attempts ---------------------------------------------------------------

  async listEndpointMessages(appId: string, endpointId: string, q: TaskListQuery): Promise<Page<EndpointMessage>> {
    const c = cursor('t.msg_id', q);
    const f = this.messageFilters(q, 't.msg_id');
    let where = f.where;
    const params = [...f.params];
    if (q.status !== undefined) {
      where += ' AND t.status = ?';
      params.push(q.status);
    }
    const rows = this.all(
      `SELECT m.*, t.msg_id AS t_msg_id, t.endpoint_id AS t_endpoint_id, t.app_id AS t_app_id, t.status AS t_status,
         t.attempt_count AS t_attempt_count, t.next_attempt_at AS t_next_attempt_at, t.created_at AS t_created_at,
         t.updated_at AS t_updated_at
       FROM delivery_task t JOIN message m ON m.app_id = t.app_id AND m.id = t.msg_id
       WHERE t.endpoint_id = ? AND t.app_id = ?${where}${c.where}${c.order} LIMIT ?`,
      endpointId, appId, ...params, ...c.params, q.limit + 1,
    );
    return toPage(rows, q, (r) => r.id, (r) => ({ message: this.rows.message(r), task: this.rows.task(r, 't_') }));
  }

  async listMessageDestinations(appId: string, msgId: string, q: PageQuery): Promise<Page<MessageDestination>> {
    const c = cursor('e.id', q);
    const rows = this.all(
      `SELECT e.*, t.msg_id AS t_msg_id, t.endpoint_id AS t_endpoint_id, t.app_id AS t_app_id, t.status AS t_status,
         t.attempt_count AS t_attempt_count, t.next_attempt_at AS t_next_attempt_at, t.created_at AS t_created_at,
         t.updated_at AS t_updated_at
       FROM delivery_task t JOIN endpoint e ON e.id = t.endpoint_id
       WHERE t.msg_id = ? AND t.app_id = ? AND e.deleted_at IS NULL${c.where}${c.order} LIMIT ?`,
      msgId, appId, ...c.params, q.limit + 1,
    );
    return toPage(rows, q, (r) => r.id, (r) => ({ endpoint: this.toEndpoint(r), task: this.rows.task(r, 't_') }));
  }

  private listAttempts(appId: string, scopeCol: 'a.endpoint_id' | 'a.msg_id', scope: string, q: AttemptListQuery): Page<Attempt> {
    const c = cursor('a.id', q);
    let where = '';
    const params: unknown[] = [];
    if (q.status !== undefined) {
      where += ' AND a.status = ?';
      params.push(q.status);
    }
    if (q.statusCodeClass !== undefined) {
      if (q.statusCodeClass === 0) where += ' AND a.response_status_code < 100';
      else {
        where += ' AND a.response_status_code >= ? AND a.response_status_code < ?';
        params.push(q.statusCodeClass, q.statusCodeClass + 100);
      }
    }
    if (q.endpointId !== undefined) {
      where += ' AND a.endpoint_id = ?';
      params.push(q.endpointId);
    }
    if (q.afterMs !== undefined) {
      where += ' AND a.id >= ? AND a.created_at > ?';
      params.push(startIdFor('attempt', q.afterMs), q.afterMs);
    }
    if (q.beforeMs !== undefined) {
      where += ' AND a.id <= ? AND a.created_at < ?';
      params.push(endIdFor('attempt', q.beforeMs), q.beforeMs);
    }
    let join = '';
    if ((q.eventTypes && q.eventTypes.length) || q.channel !== undefined) {
      join = ' JOIN message m ON m.app_id = a.app_id AND m.id = a.msg_id';
      const f = this.messageFilters({ eventTypes: q.eventTypes, channel: q.channel }, 'a.msg_id');
      where += f.where;
      params.push(...f.params);
    }
    const rows = this.all(
      `SELECT a.* FROM attempt a${join} WHERE ${scopeCol} = ? AND a.app_id = ?${where}${c.where}${c.order} LIMIT ?`,
      scope, appId, ...params, ...c.params, q.limit + 1,
    );
    return toPage(rows, q, (r) => r.id, this.rows.attempt);
  }

  async listAttemptsByEndpoint(appId: string, endpointId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.endpoint_id', endpointId, q);
  }

  async listAttemptsByMessage(appId: string, msgId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.msg_id', msgId, q);
  }

  async getAttempt(appId: string, msgId: string, attemptId: string): Promise<Attempt | null> {
    const r = this.get('SELECT * FROM attempt WHERE id = ? AND msg_id = ? AND app_id = ?', attemptId, msgId, appId);
    return r ? this.rows.attempt(r) : null;
  }

  expungeAttemptContent(appId: string, attemptId: string): Promise<void> {
    return this.writes.run(() => {
      this.run("UPDATE attempt SET response = 'EXPUNGED' WHERE id = ? AND app_id = ?", attemptId, appId);
    });
  }

  async endpointStats(appId: string, endpointId: string, sinceMs: number, untilMs: number): Promise<EndpointStats> {
    const rows = this.all(
      `SELECT status, COUNT(*) AS n FROM delivery_task
       WHERE endpoint_id = ? AND app_id = ? AND msg_id >= ? AND msg_id <= ? GROUP BY status`,
      endpointId, appId, startIdFor('message', sinceMs), endIdFor('message', untilMs),
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
    return this.notifyAfter(this.writes.run(() => {
      // One manual attempt, now. A delivery still waiting for a scheduled retry keeps that retry
      // (resume_at) in case the manual attempt fails; a finished one gets a single shot. A lease
      // in progress is fenced out (its attempt is still logged), so the resend is not lost to it.
      this.run(
        `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, manual_next, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?)
         ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
           resume_at = CASE WHEN status = ${MessageStatus.pending} AND next_attempt_at > excluded.next_attempt_at THEN next_attempt_at ELSE NULL END,
           status = excluded.status, next_attempt_at = excluded.next_attempt_at, manual_next = 1,
           fence = CASE WHEN status = ${MessageStatus.sending} THEN fence + 1 ELSE fence END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`,
        msgId, endpointId, appId, MessageStatus.pending, now, now, now,
      );
    }), () => true);
  }

  recoverEndpoint(appId: string, endpointId: string, sinceMs: number, untilMs: number, now: number): Promise<number> {
    return this.notifyAfter(this.writes.run(() => {
      const res = this.run(
        `UPDATE delivery_task SET status = ?, next_attempt_at = ?, trigger_type = 1, updated_at = ?
         WHERE endpoint_id = ? AND app_id = ? AND status = ? AND msg_id >= ? AND msg_id <= ?`,
        MessageStatus.pending, now, now, endpointId, appId, MessageStatus.fail, startIdFor('message', sinceMs), endIdFor('message', untilMs),
      );
      return res.changes;
    }), (n) => n > 0);
  }

  // ---- dispatch -------------------------------------------------------------------------------

  private readonly dueListeners: (() => void)[] = [];

  onTasksDue(listener: () => void): void {
    this.dueListeners.push(listener);
  }

  onTasksDueElsewhere(): void {
    // One process owns a SQLite database: every commit already wakes through onTasksDue.
  }

  /** Tell dispatchers about new due work once `p` has committed (when `when` says it made some). */
  private notifyAfter<T>(p: Promise<T>, when: (r: T) => boolean): Promise<T> {
    return p.then((r) => {
      if (when(r)) for (const l of this.dueListeners) l();
      return r;
    });
  }

  loadDeliveries(tasks: ClaimedTask[]): Promise<DeliveryContext[]> {
    // One task at a time: endpoints and applications come from memory, the message from the file,
    // read once however many of the claim's deliveries carry it (a fan-out claims them together).
    const messages = new Map<string, Promise<Message | null>>();
    const messageOf = (t: ClaimedTask) => {
      const k = `${t.appId} ${t.msgId}`;
      let m = messages.get(k);
      if (!m) messages.set(k, (m = this.getMessage(t.appId, t.msgId)));
      return m;
    };
    return Promise.all(
      tasks.map(async (t) => {
        const [endpoint, message] = await Promise.all([this.getEndpoint(t.appId, t.endpointId), messageOf(t)]);
        const usable = endpoint !== null && !endpoint.disabled;
        const throttleRate = usable ? (endpoint.throttleRate ?? (await this.getApplication(t.appId))?.throttleRate ?? null) : null;
        return { endpoint, message, throttleRate };
      }),
    );
  }

  claimDueTasks(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedTask[]> {
    // Nothing due is the usual answer at moderate load: the dispatcher claims again after every
    // attempt it finishes. A claim is a write transaction of its own there (BEGIN IMMEDIATE, two
    // statements, COMMIT), so a read that finds nothing due answers first. A task that becomes due
    // after this read wakes the dispatcher (onTasksDue, or nextDueAt's timer) and is claimed then.
    try {
      if (!this.get(ANY_DUE, now)) return Promise.resolve([]);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.writes.run(() => {
      // While leased, a task's next_attempt_at is its lease expiry: if this dispatcher dies, the
      // task simply becomes due again then, and any dispatcher reclaims it (no separate reaper).
      const leaseUntil = now + leaseMs;
      const due = `SELECT msg_id, endpoint_id FROM delivery_task WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`;
      // A reserved throttle slot goes to this claimer and leaves the row; RETURNING shows new
      // values, so the slots are read first, in the same transaction (the same rows).
      const slots = new Map<string, number>();
      for (const r of this.all(`SELECT msg_id, endpoint_id, throttle_slot FROM delivery_task WHERE (msg_id, endpoint_id) IN (${due}) AND throttle_slot IS NOT NULL`, now, limit)) {
        slots.set(`${r.msg_id} ${r.endpoint_id}`, r.throttle_slot);
      }
      const rows = this.all(
        `UPDATE delivery_task SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, fence = fence + 1, status = ?, updated_at = ?,
           throttle_slot = NULL
         WHERE (msg_id, endpoint_id) IN (${due})
         RETURNING msg_id, endpoint_id, app_id, attempt_count, trigger_type, manual_next, fence, lease_expires_at`,
        owner, leaseUntil, leaseUntil, MessageStatus.sending, now, now, limit,
      );
      return rows.map((r) => ({
        msgId: r.msg_id,
        endpointId: r.endpoint_id,
        appId: r.app_id,
        attemptCount: r.attempt_count,
        triggerType: r.manual_next === 1 ? 1 : r.trigger_type,
        fence: r.fence,
        leaseExpiresAt: r.lease_expires_at,
        throttleSlot: slots.get(`${r.msg_id} ${r.endpoint_id}`) ?? null,
      }));
      // A claim lost in a power cut only means the task is claimed again: no need to wait for disk.
    }, { durable: false });
  }

  async nextDueAt(): Promise<number | null> {
    return this.get('SELECT MIN(next_attempt_at) AS t FROM delivery_task WHERE next_attempt_at IS NOT NULL')?.t ?? null;
  }

  completeAttempt(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }> {
    return this.writes.run(() => {
      const a = result.attempt;
      this.run(
        `INSERT INTO attempt (id, msg_id, endpoint_id, app_id, url, response, response_status_code, response_duration_ms, status,
           trigger_type, created_at, attempt_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        a.id, a.msgId, a.endpointId, a.appId, a.url, a.response, a.responseStatusCode, a.responseDurationMs, a.status,
        a.triggerType, a.createdAt, a.triggerType === 1 ? -1 : task.attemptCount + 1,
      );
      // A failed manual attempt that jumped ahead of a scheduled retry hands the delivery back to
      // that schedule; manual attempts never count against the retry budget.
      const failedManual = task.triggerType === 1 && a.status !== MessageStatus.success ? 1 : 0;
      const res = this.run(
        `UPDATE delivery_task SET
           status = CASE WHEN ? = 1 AND resume_at IS NOT NULL THEN ${MessageStatus.pending} ELSE ? END,
           next_attempt_at = CASE WHEN ? = 1 AND resume_at IS NOT NULL THEN resume_at ELSE ? END,
           attempt_count = attempt_count + CASE WHEN manual_next = 1 THEN 0 ELSE 1 END,
           manual_next = 0, resume_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE msg_id = ? AND endpoint_id = ? AND fence = ?`,
        failedManual, result.task.status, failedManual, result.task.nextAttemptAt, now, task.msgId, task.endpointId, task.fence,
      );
      let disabled = false;
      let failSince: number | null = null;
      const ep = result.endpoint;
      if (ep?.kind === 'success') {
        this.run('UPDATE endpoint SET first_failure_at = NULL WHERE id = ? AND first_failure_at IS NOT NULL', task.endpointId);
      } else if (ep?.kind === 'exhausted') {
        this.run('UPDATE endpoint SET first_failure_at = COALESCE(first_failure_at, ?) WHERE id = ?', now, task.endpointId);
        const r = this.get('SELECT first_failure_at FROM endpoint WHERE id = ? AND disabled = 0 AND deleted_at IS NULL', task.endpointId);
        failSince = r?.first_failure_at ?? null;
        if (r && now - r.first_failure_at >= ep.autoDisableAfterMs) {
          const days = Math.round(ep.autoDisableAfterMs / 864e5);
          disabled = this.disableEndpoint(task.appId, task.endpointId, `Every delivery failed for ${days} days in a row since ${new Date(r.first_failure_at).toISOString()}`, now);
        }
      } else if (ep?.kind === 'disable') {
        disabled = this.disableEndpoint(task.appId, task.endpointId, ep.reason, now);
      }
      return { fenced: res.changes === 1, disabled, failSince };
    });
  }

  private disableEndpoint(appId: string, id: string, reason: string, now: number): boolean {
    const res = this.run(
      'UPDATE endpoint SET disabled = 1, disabled_reason = ?, updated_at = ? WHERE id = ? AND disabled = 0 AND deleted_at IS NULL',
      reason, now, id,
    );
    this.matchCache.delete(appId);
    this.endpointCache.delete(id);
    return res.changes === 1;
  }

  deferTask(task: ClaimedTask, at: number, throttleSlot: number | null = null): Promise<boolean> {
    return this.writes.run(() => {
      const res = this.run(
        `UPDATE delivery_task SET status = ?, next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL, throttle_slot = ?
         WHERE msg_id = ? AND endpoint_id = ? AND fence = ?`,
        MessageStatus.pending, at, throttleSlot, task.msgId, task.endpointId, task.fence,
      );
      return res.changes === 1;
    });
  }

  reserveThrottleSlot(endpointId: string, ratePerSecond: number, now: number): Promise<number> {
    // The same schedule as on PostgreSQL, in the table, so one mechanism serves both stores. A
    // reservation lost in a power cut only frees a slot: no need to wait for the disk.
    const interval = Math.ceil(1000 / ratePerSecond);
    return this.writes.run(() => {
      const r = this.get(
        `INSERT INTO endpoint_throttle (endpoint_id, next_free_at) VALUES (?, ? + ?)
         ON CONFLICT (endpoint_id) DO UPDATE SET next_free_at = MAX(next_free_at, ?) + ?
         RETURNING next_free_at - ? AS at`,
        endpointId, now, interval, now, interval, interval,
      );
      return r!.at as number;
    }, { durable: false });
  }

  cancelTask(task: ClaimedTask, now: number): Promise<void> {
    return this.writes.run(() => {
      this.run(
        `UPDATE delivery_task SET status = ?, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE msg_id = ? AND endpoint_id = ? AND fence = ?`,
        MessageStatus.canceled, now, task.msgId, task.endpointId, task.fence,
      );
    });
  }

  releaseLeases(owner: string, now: number): Promise<void> {
    return this.writes.run(() => {
      this.run(
        `UPDATE delivery_task SET status = ?, next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE lease_owner = ? AND next_attempt_at IS NOT NULL`,
        MessageStatus.pending, now, owner,
      );
    });
  }

  async queueStats(now: number): Promise<{ waiting: number; due: number; oldestDueAgeMs: number }> {
    // Counts every waiting task: off the event loop (see read-worker.ts).
    const sql = `SELECT COUNT(*) AS waiting, SUM(next_attempt_at <= ?) AS due, MIN(next_attempt_at) AS oldest
       FROM delivery_task WHERE next_attempt_at IS NOT NULL`;
    const r = (await this.reads.get(sql, now)) as { waiting: number; due: number | null; oldest: number | null };
    return { waiting: r.waiting, due: r.due ?? 0, oldestDueAgeMs: r.oldest !== null && r.oldest <= now ? now - r.oldest : 0 };
  }

  // ---- background tasks ----------------------------------------------------------------------

  createBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    return this.writes.run(() => {
      this.run(
        'INSERT INTO background_task (id, app_id, kind, status, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        t.id, t.appId, t.kind, t.status, JSON.stringify(t.data), t.createdAt, t.updatedAt,
      );
      return t;
    });
  }

  updateBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    return this.writes.run(() => {
      this.run('UPDATE background_task SET status = ?, data = ?, updated_at = ? WHERE id = ?', t.status, JSON.stringify(t.data), t.updatedAt, t.id);
      return t;
    });
  }

  async getBackgroundTask(id: string): Promise<BackgroundTask | null> {
    const r = this.get('SELECT * FROM background_task WHERE id = ?', id);
    return r ? this.rows.backgroundTask(r) : null;
  }

  // ---- retention ------------------------------------------------------------------------------

  purgeBatch(kind: PurgeKind, cutoff: number, limit: number): Promise<PurgeBatchResult> {
    // One bounded batch per call, in a group commit like any write: SQLite's single writer is
    // held only as long as `limit` rows take, so the API and the dispatcher interleave with a
    // long purge.
    const params = kind === 'attempts' ? [startIdFor('attempt', cutoff), cutoff, limit] : [cutoff, limit];
    return this.writes.run(() => ({ purged: this.run(SQLITE_PURGE_SQL[kind], ...params).changes, busy: false }));
  }

  // ---- idempotency ---------------------------------------------------------------------------

  async getIdempotentResponse(key: string, notBefore: number): Promise<IdempotentResponse | null> {
    const r = this.get(
      'SELECT status, body, msg_id, created_at FROM idempotency WHERE key_hash = ? AND key = ? AND created_at >= ? ORDER BY id DESC LIMIT 1',
      keyHash(key), key, notBefore,
    );
    return r ? idempotentResponse(r, this.sealer) : null;
  }

  putIdempotentResponse(key: string, resp: IdempotentResponse): Promise<void> {
    return this.writes.run(() => {
      this.putIdem({ key, status: resp.status, body: () => resp.body, now: resp.createdAt }, null);
    });
  }

  /**
   * A key's hold lives in memory. The embedded store has one API process per data folder (scale-out
   * is PostgreSQL's job), so no other process could take it, and a hold is only ever needed while
   * its request runs: a restart frees every hold, as it must. In the file it took two commits per
   * idempotent POST (take, release): 173 against 122 µs of CPU per request in bench/ingest.mjs.
   */
  readonly idempotencyHoldsAreLocal = true;

  async lockIdempotencyKey(key: string, now: number, until: number): Promise<boolean> {
    const held = this.idempotencyHolds.get(key);
    if (held !== undefined && held > now) return false;
    this.idempotencyHolds.set(key, until);
    return true;
  }

  async unlockIdempotencyKey(key: string): Promise<void> {
    this.idempotencyHolds.delete(key);
  }

  // ---- portal sessions -----------------------------------------------------------------------

  createPortalSession(s: PortalSession, idem?: IdempotencyWrite<PortalSession>): Promise<PortalSession> {
    return this.writes.run(() => {
      this.run(
        'INSERT INTO portal_session (id, app_id, permissions, feature_flags, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        s.id, s.appId, JSON.stringify(s.permissions), JSON.stringify(s.featureFlags), s.createdAt, s.expiresAt, s.revokedAt,
      );
      this.putIdem(idem, s);
      return s;
    });
  }

  async getPortalSession(id: string): Promise<PortalSession | null> {
    const r = this.get('SELECT * FROM portal_session WHERE id = ?', id);
    return r ? this.rows.session(r) : null;
  }

  revokePortalSession(id: string, now: number): Promise<void> {
    return this.writes.run(() => {
      this.run('UPDATE portal_session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', now, id);
    });
  }

  // ---- engage (issue 4) ------------------------------------------------------------------------

  private toEngageSettings(appId: string, r: Row | undefined): EngageSettings {
    return {
      appId,
      moduleEnabled: r?.module_enabled === 1,
      encryptionKey: r?.key_sealed ? this.sealer.unseal(r.key_sealed) : null,
      keySetAt: r?.key_set_at ?? null,
      updatedAt: r?.updated_at ?? null,
    };
  }

  async getEngageSettings(appId: string): Promise<EngageSettings> {
    return this.toEngageSettings(appId, this.get('SELECT * FROM engage_tenant WHERE app_id = ?', appId));
  }

  setEngageModule(appId: string, enabled: boolean, now: number): Promise<EngageSettings> {
    return this.writes.run(() => {
      this.run(
        `INSERT INTO engage_tenant (app_id, module_enabled, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET module_enabled = excluded.module_enabled, updated_at = excluded.updated_at`,
        appId, enabled ? 1 : 0, now,
      );
      return this.toEngageSettings(appId, this.get('SELECT * FROM engage_tenant WHERE app_id = ?', appId));
    });
  }

  setEngageKey(appId: string, key: string | null, now: number): Promise<EngageSettings> {
    return this.writes.run(() => {
      const sealed = key === null ? null : this.sealer.seal(key);
      this.run(
        `INSERT INTO engage_tenant (app_id, key_sealed, key_set_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET key_sealed = excluded.key_sealed, key_set_at = excluded.key_set_at,
           updated_at = excluded.updated_at`,
        appId, sealed, key === null ? null : now, now,
      );
      return this.toEngageSettings(appId, this.get('SELECT * FROM engage_tenant WHERE app_id = ?', appId));
    });
  }

  async getEngageState(appId: string, kind: EngageStateKind, key: string): Promise<EngageStateRecord> {
    const r = this.get('SELECT state_sealed, version FROM engage_state WHERE app_id = ? AND kind = ? AND key = ?', appId, kind, key);
    if (!r) return { state: null, version: 0 };
    return { state: r.state_sealed === null ? null : JSON.parse(this.sealer.unseal(r.state_sealed)), version: r.version };
  }

  /** Inside a write: the module must be on and the state unchanged since it was read. Throws otherwise. */
  private applyEngageChange(appId: string, w: EngageStateWrite | undefined): void {
    const t = this.get('SELECT module_enabled FROM engage_tenant WHERE app_id = ?', appId);
    if (t?.module_enabled !== 1) throw moduleDisabled();
    if (!w) return;
    const cur = this.get('SELECT version FROM engage_state WHERE app_id = ? AND kind = ? AND key = ?', appId, w.kind, w.key);
    if ((cur?.version ?? 0) !== w.expectedVersion) throw new StaleStateError(w.kind, w.key);
    const sealed = w.state === null || w.state === undefined ? null : this.sealer.seal(JSON.stringify(w.state));
    this.run(
      `INSERT INTO engage_state (app_id, kind, key, state_sealed, version, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (app_id, kind, key) DO UPDATE SET state_sealed = excluded.state_sealed, version = excluded.version,
         updated_at = excluded.updated_at`,
      appId, w.kind, w.key, sealed, w.expectedVersion + 1, w.now,
    );
  }
}

