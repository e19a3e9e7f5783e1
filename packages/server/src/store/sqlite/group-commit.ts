// Group commit: writes queued within one turn of the event loop share one transaction and one
// fsync. Callers' promises settle only after COMMIT returns, which is what makes an answered write
// durable. A batch first runs without savepoints (they cost SQLite a copy of every page a write
// touches); only if some write throws (a uid conflict, say) is the batch rolled back and replayed
// with one savepoint per write, so that write fails alone and the rest still commit. Writes must
// therefore be safe to run twice: their only side effects outside the database are cache drops.
//
// Writes that are plain lists of statements (runSteps) run on the writer thread instead
// (write-worker.ts), in their own transaction. The main connection and the writer never write at
// once: a batch waits until the writer's previous one has committed, and within a batch the main
// connection's writes commit first, then the statement lists are built and sent. Building them at
// that point, after everything before them committed, lets a builder read the caches (the
// endpoints a message fans out to) as the serial order has them.
import type { Database, Statement } from 'better-sqlite3';
import type { WalSync } from './wal-sync.js';
import type { SqlStep, WriteWorker } from './write-worker.js';

/** A write as statements, for the writer thread (see runSteps). */
export interface StepsWrite<T> {
  steps: SqlStep[];
  /** The caller's result once the steps committed; `changes` has one count per step. */
  done: (changes: number[]) => T;
  /** The error a failed step becomes for the caller (a unique violation into a 409, say). */
  fail?: (e: Error) => unknown;
}

/** Batches the writer thread may hold at once: one running (or syncing), the next behind it. */
const MAX_IN_FLIGHT = 2;

interface Op {
  /** Runs on the main connection, inside the batch's transaction. */
  fn?: () => unknown;
  /** Or: builds statements for the writer thread when the batch is sent. */
  build?: () => StepsWrite<unknown>;
  /** Settle only once the batch is on disk (false: as soon as it committed). */
  durable: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit {
  private queue: Op[] = [];
  /** How many queued writes are for the main connection (`fn`). */
  private localQueued = 0;
  /** They run once this many fsyncs have finished (see tick). */
  private localAfterSync = 0;
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
    /** Promises of the main connection's writes settle only after the WAL is fsynced (wal-sync.ts). */
    private readonly walSync: WalSync,
    private readonly writer: WriteWorker,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT w');
    this.release = db.prepare('RELEASE w');
    this.rollbackTo = db.prepare('ROLLBACK TO w');
    // While the disk works on one batch, the next one gathers; it commits when the fsync returns,
    // so batches grow with load instead of shrinking into many small commits.
    const wake = () => {
      if (this.queue.length && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.tick());
      }
    };
    walSync.onSynced = wake;
    writer.onAnswered = wake;
  }

  private get busy(): boolean {
    return this.walSync.busy || this.writer.inFlight > 0;
  }

  private tick(): void {
    // Writes for the main connection wait until the writer thread has committed all it was sent
    // (one writer at a time), and until the fsync that was running when they came has finished
    // (so that batches grow with load; waiting for the disk to go idle could take forever while
    // the writer's batches keep it busy); a writer batch that committed and only waits for its
    // fsync holds no lock, so it holds up nobody. Statement writes alone go on while fewer than
    // MAX_IN_FLIGHT batches are with the writer: it starts the next the moment it is done with
    // one, instead of idling for a round trip through this event loop. (Counting only uncommitted
    // batches there would send smaller batches more often: measured, 1.75 -> 2.4 times the bare
    // route's main-thread CPU per request.)
    const wait =
      this.localQueued > 0
        ? this.writer.uncommitted > 0 || this.walSync.completed < this.localAfterSync
        : this.writer.inFlight >= MAX_IN_FLIGHT;
    if (wait) {
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
      if (this.localQueued++ === 0) this.localAfterSync = this.walSync.busy ? this.walSync.completed + 1 : 0;
      this.queue.push({ fn, durable: opts.durable ?? true, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.tick());
      }
    });
  }

  /**
   * Queue a write given as statements, to run on the writer thread. `build` runs on the main
   * thread when the batch is sent, after every write queued before it has committed.
   */
  runSteps<T>(build: () => StepsWrite<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ build, durable: true, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.tick());
      }
    });
  }

  /** Commit whatever is queued now: the main connection's writes at once, the rest on the writer. */
  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    this.localQueued = 0;
    if (batch.length === 0) return;
    const local: Op[] = [];
    const remote: Op[] = [];
    for (const op of batch) (op.fn ? local : remote).push(op);
    if (local.length) {
      const outcomes: { ok: boolean; value: unknown }[] = new Array(local.length);
      if (!this.fastPath(local, outcomes)) this.slowPath(local, outcomes);
    }
    if (remote.length) this.send(remote);
  }

  /** Build the statement writes and run them on the writer thread as one transaction. */
  private send(ops: Op[]): void {
    const sent: Op[] = [];
    const writes: StepsWrite<unknown>[] = [];
    for (const op of ops) {
      try {
        writes.push(op.build!());
        sent.push(op);
      } catch (e) {
        op.reject(e);
      }
    }
    if (sent.length === 0) return;
    this.writer.run(writes.map((w) => w.steps)).then(
      (results) => {
        this.stats.batches++;
        this.stats.writes += sent.length;
        const outcomes = results.map((r, i): { ok: boolean; value: unknown } => {
          const w = writes[i]!;
          try {
            return r.ok ? { ok: true, value: w.done(r.changes) } : { ok: false, value: w.fail ? w.fail(r.error) : r.error };
          } catch (e) {
            return { ok: false, value: e };
          }
        });
        this.resolve(sent, outcomes);
      },
      (e) => {
        for (const op of sent) op.reject(e);
      },
    );
  }

  /** Commit everything queued and wait for it, the writer thread's batches included (shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length || this.busy) {
      if (!this.busy) this.flush();
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Stop the writer thread; call after drain(). */
  close(): Promise<void> {
    return this.writer.close();
  }

  /** All writes in one transaction with no savepoints; false if any write threw (nothing kept). */
  private fastPath(batch: Op[], outcomes: { ok: boolean; value: unknown }[]): boolean {
    try {
      this.begin.run();
      for (let i = 0; i < batch.length; i++) outcomes[i] = { ok: true, value: batch[i]!.fn!() };
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
          outcomes[i] = { ok: true, value: batch[i]!.fn!() };
          this.release.run();
        } catch (e) {
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
