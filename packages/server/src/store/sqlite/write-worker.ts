// The SQLite writer thread. Executing a write costs the thread that runs it about 30 µs per
// message (a row and its delivery tasks, eight b-tree inserts) plus the COMMIT. On the main thread
// that is a third of what ingest spends per request, in the one thread that also parses every
// HTTP request. Writes that are plain lists of statements (a message and its tasks: see
// GroupCommit.runSteps) therefore run here instead, on a second connection to the same file, while
// the main thread goes on parsing. The group commit still decides what goes into which transaction
// and never lets this thread and the main connection write at the same time, so neither ever waits
// on the other's lock.
//
// Durability: this connection runs with synchronous=NORMAL, so COMMIT only hands the WAL frames to
// the OS; the thread then fsyncs the WAL file on libuv's pool and answers the batch when that
// returns, taking the next batch meanwhile (batches that commit during one fsync share the next),
// as WalSync does for the main connection. So an answered write is on disk, and the main thread
// hears of each batch once. Measured: COMMIT with synchronous=FULL took 1.3 ms of a 1.6 ms batch
// of 22 messages, during which the writer could do nothing else; an fsync left to the main
// thread's WalSync took 3.3 ms from start to callback, because the callback waits its turn behind
// the HTTP requests that thread is parsing. Checkpoints that the commits trigger run here too.
//
// The worker's code is plain CommonJS evaluated from a string, so the same file works from dist/
// and from the TypeScript sources the tests run (a Worker cannot load a .ts file).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = OFF');
db.pragma('temp_store = MEMORY');
db.pragma('cache_size = -' + workerData.cacheKib);
const statements = new Map();
const st = (sql) => {
  let s = statements.get(sql);
  if (!s) statements.set(sql, (s = db.prepare(sql)));
  return s;
};
const begin = st('BEGIN IMMEDIATE'), commit = st('COMMIT'), rollback = st('ROLLBACK');
const savepoint = st('SAVEPOINT w'), release = st('RELEASE w'), rollbackTo = st('ROLLBACK TO w');
const info = (e) => ({ code: (e && e.code) || null, message: String((e && e.message) || e) });

// One write: its steps in order, as [index into sqls, params] pairs; the changes of each step.
function apply(sqls, steps) {
  const changes = new Array(steps.length);
  for (let i = 0; i < steps.length; i++) changes[i] = st(sqls[steps[i][0]]).run(...steps[i][1]).changes;
  return changes;
}

// As GroupCommit on the main thread: the whole batch without savepoints first (they cost SQLite a
// copy of every page a write touches); if a write throws, roll back and replay with one savepoint
// per write, so that write fails alone.
function batch(sqls, ops) {
  const out = new Array(ops.length);
  begin.run();
  try {
    for (let i = 0; i < ops.length; i++) out[i] = { ok: true, changes: apply(sqls, ops[i]) };
  } catch {
    rollback.run();
    begin.run();
    for (let i = 0; i < ops.length; i++) {
      savepoint.run();
      try {
        out[i] = { ok: true, changes: apply(sqls, ops[i]) };
        release.run();
      } catch (e) {
        rollbackTo.run();
        release.run();
        out[i] = { ok: false, error: info(e) };
      }
    }
  }
  commit.run();
  return out;
}

// One fsync at a time; whatever committed while it ran waits for the next, which covers all of it.
let walFd = null;
let syncing = false;
let waiting = [];
function afterSync(done) {
  waiting.push(done);
  if (!syncing) sync();
}
function sync() {
  const group = waiting;
  waiting = [];
  syncing = true;
  try {
    if (walFd === null) walFd = fs.openSync(workerData.file + '-wal', 'r+');
  } catch (e) {
    return synced(group, e);
  }
  fs.fdatasync(walFd, (e) => synced(group, e));
}
function synced(group, e) {
  syncing = false;
  for (const done of group) done(e || null);
  if (waiting.length) sync();
  else if (closing) close();
}

let closing = false;
function close() {
  if (walFd !== null) fs.closeSync(walFd);
  db.close();
  parentPort.postMessage({ closed: true });
}

parentPort.on('message', (m) => {
  if (m.close) {
    closing = true;
    if (!syncing) close();
    return;
  }
  let outcomes;
  try {
    outcomes = batch(m.sqls, m.ops);
  } catch (e) {
    if (db.inTransaction) rollback.run();
    parentPort.postMessage({ id: m.id, error: info(e) });
    return;
  }
  // Committed: the write lock is free again, so the main connection may write while the fsync
  // runs. The outcomes go now, so that the main thread can still answer them should this thread
  // die before the fsync returns (it then fsyncs the WAL itself).
  parentPort.postMessage({ id: m.id, committed: true, outcomes });
  afterSync((e) => parentPort.postMessage(e ? { id: m.id, error: info(e) } : { id: m.id, synced: true }));
});
`;

/** One statement of a write: SQL text and its parameters. */
export type SqlStep = readonly [sql: string, params: readonly unknown[]];

/** A write's outcome: the changes of each of its steps, or why it failed (nothing of it kept). */
export type StepsOutcome = { ok: true; changes: number[] } | { ok: false; error: Error };

interface ErrorInfo {
  code: string | null;
  message: string;
}

/** A SQLite error as the main connection's driver would have thrown it (`code` included). */
function toError(e: ErrorInfo): Error {
  return Object.assign(new Error(e.message), { code: e.code ?? undefined });
}

export class WriteWorker {
  private worker: Worker | null = null;
  private closed = false;
  private next = 0;
  private readonly pending = new Map<
    number,
    { resolve: (o: StepsOutcome[]) => void; reject: (e: Error) => void; outcomes?: StepsOutcome[] }
  >();
  /** Batches sent whose transaction has not committed yet: while any is, the write lock is taken. */
  private uncommittedIds = new Set<number>();
  /** Called whenever a batch commits or is answered. */
  onAnswered: (() => void) | null = null;

  constructor(
    private readonly file: string,
    private readonly cacheKib: number,
    /** fsync the WAL from the main thread: for batches committed by a thread that then died. */
    private readonly syncWal: (done: (err: Error | null) => void) => void,
  ) {}

  /** Batches sent and not yet answered. The thread runs them one after another, in order. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Batches sent and not yet committed (see uncommittedIds). */
  get uncommitted(): number {
    return this.uncommittedIds.size;
  }

  /**
   * Run `writes` (each a list of steps) in one transaction, committed and fsynced. One write
   * that fails fails alone; an error of the transaction itself (COMMIT, say) rejects them all.
   */
  run(writes: readonly SqlStep[][]): Promise<StepsOutcome[]> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    const w = this.worker ?? this.start();
    // SQL texts travel once per batch; steps name them by index.
    const index = new Map<string, number>();
    const sqls: string[] = [];
    const ops = writes.map((steps) =>
      steps.map(([sql, params]) => {
        let i = index.get(sql);
        if (i === undefined) index.set(sql, (i = sqls.push(sql) - 1));
        return [i, params] as const;
      }),
    );
    const id = this.next++;
    return new Promise<StepsOutcome[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.uncommittedIds.add(id);
      // Held only while a batch runs: an idle writer must not keep the process alive.
      w.ref();
      w.postMessage({ id, sqls, ops });
    });
  }

  private start(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, driver, cacheKib: this.cacheKib } });
    w.unref();
    type Reply = { id: number; committed?: boolean; synced?: boolean; outcomes?: { ok: boolean; changes?: number[]; error?: ErrorInfo }[]; error?: ErrorInfo };
    w.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.uncommittedIds.delete(m.id);
      if (m.committed) {
        p.outcomes = m.outcomes!.map((o) => (o.ok ? { ok: true, changes: o.changes! } : { ok: false, error: toError(o.error!) }));
      } else {
        this.pending.delete(m.id);
        if (this.pending.size === 0) w.unref();
        if (m.error) p.reject(toError(m.error));
        else p.resolve(p.outcomes!);
      }
      this.onAnswered?.();
    });
    const fail = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      const pending = [...this.pending.values()];
      this.pending.clear();
      this.uncommittedIds.clear();
      for (const p of pending) {
        // Committed before the thread died: kept, and answered once the WAL is on disk.
        if (p.outcomes) this.syncWal((err) => (err ? p.reject(err) : p.resolve(p.outcomes!)));
        // A running batch's transaction died with the thread's connection, so none of it was
        // kept; batches behind it never started.
        else p.reject(e);
      }
      this.onAnswered?.();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the SQLite writer thread exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  /** For tests: stop the thread as a crash would, whatever it is doing. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Close the thread's connection and stop it. The caller has let running batches finish. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    await new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.on('message', (m: { closed?: boolean }) => {
        if (m.closed) void w.terminate();
      });
      w.postMessage({ close: true });
    });
  }
}
