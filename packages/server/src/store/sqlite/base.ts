// The embedded default store's foundation: one SQLite file in WAL mode. An answered write
// survives power loss: commits run with synchronous=NORMAL and the WAL is fsynced on libuv's pool
// (wal-sync.ts) before any write is answered. Group commit amortises that fsync across
// concurrent writes.
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Application, Endpoint } from '../../domain/types.js';
import type { Sealer } from '../../security/sealer.js';
import { IDEMPOTENCY_COLUMNS, idempotencyRow, rowMappers } from '../common/rows.js';
import { resealBatchPlan, type ResealCursor, type ResealResult } from '../reseal.js';
import type { IdempotencyWrite } from '../store.js';
import { GroupCommit } from './group-commit.js';
import { ReadWorker } from './read-worker.js';
import { loadMigrations, schemaVerdict, type SchemaVerdict } from '../migrate.js';
import { migrateSqlite, readSqliteLedger } from './sqlite-migrate.js';
import { WalSync } from './wal-sync.js';

export type Row = Record<string, any>;

export interface SqliteStoreOptions {
  /** Path of the database file. */
  file: string;
  sealer: Sealer;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
}

/** A JSON column's text (null stays null). */
export const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/** The first 8 bytes of a (base64url sha256) idempotency key as a signed 64-bit integer. */
export function keyHash(key: string): bigint {
  return Buffer.from(key, 'base64url').readBigInt64BE(0);
}

/** An endpoint's filter, as fan-out reads it (domain/fanout.ts). */
export interface MatchEndpoint {
  id: string;
  ordering: 'key' | 'none';
  disabled: boolean;
  eventTypes: string[] | null;
  channels: string[] | null;
  /** The content filter's JSON text, or null. */
  filter: string | null;
}

/**
 * The connection and what every part of the SQLite store shares: prepared statements, the group
 * commit, the exact in-process caches (every write goes through this process) and the wake-ups
 * after commits. The parts (apps.ts … queue.ts) extend it, one concern each; sqlite-store.ts is
 * the last of them.
 */
export abstract class SqliteBase {
  /** Row mappers shared with the other store; JSON columns decoded as this driver returns them. */
  protected readonly rows: ReturnType<typeof rowMappers>;
  readonly kind = 'sqlite' as const;
  protected readonly dialect = 'sqlite' as const;
  readonly location: string;
  readonly db: Database;
  readonly writes: GroupCommit;
  protected readonly walSync: WalSync;
  /** Reads that scan the backlog, on their own thread and connection. */
  protected readonly reads: ReadWorker;
  protected readonly sealer: Sealer;
  private readonly stmts = new Map<string, Statement>();
  /** Applications by id and by uid. Exact, like matchCache: every write goes through this store. */
  protected readonly appCache = new Map<string, Application>();
  /** Endpoints by id, secrets unsealed: the dispatcher reads one per attempt. Exact, as above. */
  protected readonly endpointCache = new Map<string, Endpoint>();
  /** Per-application endpoint filters for message fan-out. Exact: every write goes through us. */
  protected readonly matchCache = new Map<string, MatchEndpoint[]>();

  private readonly dueListeners: (() => void)[] = [];

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
    this.rows = rowMappers(
      (v) => (v === null || v === undefined ? null : JSON.parse(v as string)),
      (v) => v === 1,
      this.sealer,
    );
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

  /** Apply pending migrations; refuse a schema this Herald cannot run on. Returns the versions applied. */
  migrate(apply = true): number[] {
    return migrateSqlite(this.db, apply);
  }

  /** The newest migration this build ships, for the ledger check. */
  private readonly knownSchema = loadMigrations('sqlite').at(-1)?.version ?? 0;

  async checkSchema(): Promise<SchemaVerdict> {
    return schemaVerdict(readSqliteLedger(this.db), this.knownSchema);
  }

  protected st(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  protected all(sql: string, ...params: unknown[]): Row[] {
    return this.st(sql).all(...params) as Row[];
  }

  protected get(sql: string, ...params: unknown[]): Row | undefined {
    return this.st(sql).get(...params) as Row | undefined;
  }

  protected run(sql: string, ...params: unknown[]) {
    return this.st(sql).run(...params);
  }

  protected putIdem<R>(idem: IdempotencyWrite<R> | undefined, result: R): void {
    if (!idem) return;
    // An older answer for the same key (past its 12 hours) is simply shadowed by the newer row.
    this.run(`INSERT INTO idempotency (${IDEMPOTENCY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, ...idempotencyRow(idem, result, this.sealer, keyHash));
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
      const { updates, scanned, next } = plan.updatesFor(this.all(plan.sql, ...plan.params));
      let resealed = 0;
      for (const [sql, params] of updates) resealed += this.run(sql, ...params).changes;
      return { scanned, found: updates.length, resealed, next };
    });
  }

  async sealedSecretSample(limit: number): Promise<string[]> {
    return this.all('SELECT secret_sealed AS v FROM endpoint LIMIT ?', limit).map((r) => r.v as string);
  }

  onTasksDue(listener: () => void): void {
    this.dueListeners.push(listener);
  }

  onTasksDueElsewhere(): void {
    // One process owns a SQLite database: every commit already wakes through onTasksDue.
  }

  /** Tell dispatchers about new due work once `p` has committed (when `when` says it made some). */
  protected notifyAfter<T>(p: Promise<T>, when: (r: T) => boolean): Promise<T> {
    return p.then((r) => {
      if (when(r)) for (const l of this.dueListeners) l();
      return r;
    });
  }
}
