// Reads too slow for the event loop. A few statements scan in proportion to the backlog (the
// queue gauges that /metrics reads count every waiting task: 115–205 ms with a million waiting).
// Run on the main thread they stall ingest and delivery for that long on every scrape. WAL mode lets
// a second, read-only connection read a consistent snapshot while the main one writes, so these
// run on a worker thread with its own connection, started on first use.
//
// The worker's code is plain CommonJS evaluated from a string, so the same file works from dist/
// and from the TypeScript sources the tests run (a Worker cannot load a .ts file).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const statements = new Map();
parentPort.on('message', ({ id, sql, params, many }) => {
  try {
    let st = statements.get(sql);
    if (!st) statements.set(sql, (st = db.prepare(sql)));
    parentPort.postMessage({ id, ok: true, row: many ? st.all(...params) : st.get(...params) });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: String(e && e.message || e) });
  }
});
`;

type Row = Record<string, unknown>;

export class ReadWorker {
  private worker: Worker | null = null;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly file: string) {}

  /** One row of `sql`, read on the worker's connection (a committed snapshot). */
  get(sql: string, ...params: unknown[]): Promise<Row | undefined> {
    return this.ask(sql, params, false) as Promise<Row | undefined>;
  }

  /** Every row of `sql` (an aggregate's few rows: they cross threads by copy). */
  all(sql: string, ...params: unknown[]): Promise<Row[]> {
    return this.ask(sql, params, true) as Promise<Row[]>;
  }

  private ask(sql: string, params: unknown[], many: boolean): Promise<unknown> {
    const w = this.worker ?? this.start();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      w.postMessage({ id, sql, params, many });
    });
  }

  private start(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.file, driver },
      // It answers one-row counts: a small heap is plenty, and a thread's isolate otherwise sizes
      // itself like the main one's, which counts against the process's resident memory. Should it
      // ever run out, it exits and the next read starts a fresh one.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    // The worker only serves reads on demand: it must not keep the process alive.
    w.unref();
    w.on('message', (m: { id: number; ok: boolean; row?: Row | Row[]; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.row);
      else p.reject(new Error(m.error));
    });
    const fail = (e: Error) => {
      this.worker = null;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.worker === w) fail(new Error(`SQLite read worker exited with code ${code}`));
    });
    this.worker = w;
    return w;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error('the store is closed'));
    this.pending.clear();
    if (w) await w.terminate();
  }
}
