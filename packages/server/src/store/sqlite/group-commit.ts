// Group commit: writes queued within one turn of the event loop share one transaction and one
// fsync. Callers' promises settle only after COMMIT returns, which is what makes an answered write
// durable. A batch first runs without savepoints (they cost SQLite a copy of every page a write
// touches); only if some write throws (a uid conflict, say) is the batch rolled back and replayed
// with one savepoint per write, so that write fails alone and the rest still commit. Writes must
// therefore be safe to run twice: their only side effects outside the database are cache drops.
import type { Database, Statement } from 'better-sqlite3';
import type { WalSync } from './wal-sync.js';

interface Op {
  fn: () => unknown;
  /** Settle only once the batch is on disk (false: as soon as it committed). */
  durable: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit {
  private queue: Op[] = [];
  private scheduled = false;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly savepoint: Statement;
  private readonly release: Statement;
  private readonly rollbackTo: Statement;
  /** Batches committed and writes in them, for metrics and benchmarks. */
  readonly stats = { batches: 0, writes: 0 };

  /** `onRollback` drops caches that may have seen rolled-back rows. */
  constructor(
    private readonly db: Database,
    private readonly onRollback: () => void = () => {},
    /** When set, promises settle only after the WAL is fsynced (see wal-sync.ts). */
    private readonly walSync: WalSync | null = null,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT w');
    this.release = db.prepare('RELEASE w');
    this.rollbackTo = db.prepare('ROLLBACK TO w');
    // While the disk works on one batch, the next one gathers; it commits when the fsync returns,
    // so batches grow with load instead of shrinking into many small commits.
    if (walSync)
      walSync.onIdle = () => {
        if (this.queue.length && !this.scheduled) {
          this.scheduled = true;
          setImmediate(() => this.tick());
        }
      };
  }

  private tick(): void {
    if (this.walSync?.busy) {
      this.scheduled = false;
      return;
    }
    this.flush();
  }

  /**
   * Queue a write. `durable: false` settles right after COMMIT, before the fsync: for writes
   * whose loss in a power cut costs nothing but a repeat (a dispatcher's claim on a task).
   */
  run<T>(fn: () => T, opts: { durable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, durable: opts.durable ?? true, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.tick());
      }
    });
  }

  /** Commit whatever is queued now (used on shutdown). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = new Array(batch.length);
    if (!this.fastPath(batch, outcomes)) this.slowPath(batch, outcomes);
  }

  /** All writes in one transaction with no savepoints; false if any write threw (nothing kept). */
  private fastPath(batch: Op[], outcomes: { ok: boolean; value: unknown }[]): boolean {
    try {
      this.begin.run();
      for (let i = 0; i < batch.length; i++) outcomes[i] = { ok: true, value: batch[i]!.fn() };
    } catch {
      if (this.db.inTransaction) this.rollback.run();
      this.onRollback();
      return false;
    }
    try {
      this.commit.run();
    } catch (e) {
      if (this.db.inTransaction) this.rollback.run();
      this.onRollback();
      for (const op of batch) op.reject(e);
      return true;
    }
    this.settle(batch, outcomes);
    return true;
  }

  private slowPath(batch: Op[], outcomes: { ok: boolean; value: unknown }[]): void {
    try {
      this.begin.run();
      for (let i = 0; i < batch.length; i++) {
        this.savepoint.run();
        try {
          outcomes[i] = { ok: true, value: batch[i]!.fn() };
          this.release.run();
        } catch (e) {
          // Some errors (a full disk, an I/O error) make SQLite roll back the whole transaction:
          // the batch then fails with that error, not with the savepoint it took with it.
          if (!this.db.inTransaction) throw e;
          this.rollbackTo.run();
          this.release.run();
          outcomes[i] = { ok: false, value: e };
        }
      }
      this.commit.run();
    } catch (e) {
      if (this.db.inTransaction) this.rollback.run();
      this.onRollback();
      for (const op of batch) op.reject(e);
      return;
    }
    this.settle(batch, outcomes);
  }

  private settle(batch: Op[], outcomes: { ok: boolean; value: unknown }[]): void {
    this.stats.batches++;
    this.stats.writes += batch.length;
    if (!this.walSync) {
      this.resolve(batch, outcomes);
      return;
    }
    const durable: Op[] = [];
    const durableOutcomes: { ok: boolean; value: unknown }[] = [];
    const early: Op[] = [];
    const earlyOutcomes: { ok: boolean; value: unknown }[] = [];
    for (let i = 0; i < batch.length; i++) {
      if (batch[i]!.durable) {
        durable.push(batch[i]!);
        durableOutcomes.push(outcomes[i]!);
      } else {
        early.push(batch[i]!);
        earlyOutcomes.push(outcomes[i]!);
      }
    }
    if (early.length) this.resolve(early, earlyOutcomes);
    if (durable.length === 0) return;
    this.walSync.after((err) => {
      if (err) for (const op of durable) op.reject(err);
      else this.resolve(durable, durableOutcomes);
    });
  }

  private resolve(batch: Op[], outcomes: { ok: boolean; value: unknown }[]): void {
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) batch[i]!.resolve(o.value);
      else batch[i]!.reject(o.value);
    }
  }
}
