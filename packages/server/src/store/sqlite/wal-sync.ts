// Durability without blocking the event loop. SQLite runs with synchronous=NORMAL, so COMMIT
// only hands the WAL frames to the OS; this then fsyncs the WAL file on libuv's thread pool and
// settles the batch's promises when that returns. So an answered write is on disk exactly as with
// synchronous=FULL, but the main thread goes on parsing requests (and committing the next batch)
// while the disk works, and concurrent batches share one fsync. A checkpoint cannot lose frames
// in between: with NORMAL, SQLite fsyncs the WAL before checkpointing and the database after.
import { closeSync, fsync, openSync } from 'node:fs';

export class WalSync {
  private fd: number | null = null;
  private running = false;
  private waiting: ((err: Error | null) => void)[] = [];
  private drained: (() => void)[] = [];
  /** fsync calls made, for benchmarks. */
  syncs = 0;
  /** Called whenever an fsync finishes and none is running. */
  onIdle: (() => void) | null = null;

  get busy(): boolean {
    return this.running;
  }

  constructor(private readonly walFile: string) {}

  /** Run `done` once everything committed so far is on disk. */
  after(done: (err: Error | null) => void): void {
    this.waiting.push(done);
    if (!this.running) this.start();
  }

  private start(): void {
    const group = this.waiting;
    this.waiting = [];
    this.running = true;
    try {
      this.fd ??= openSync(this.walFile, 'r+');
    } catch (e) {
      this.finish(group, e as Error);
      return;
    }
    this.syncs++;
    fsync(this.fd, (err) => this.finish(group, err));
  }

  private finish(group: ((err: Error | null) => void)[], err: Error | null): void {
    this.running = false;
    for (const done of group) done(err);
    // Whatever committed while this fsync ran needs one more (which covers all of it).
    if (this.waiting.length) this.start();
    else {
      for (const d of this.drained.splice(0)) d();
      this.onIdle?.();
    }
  }

  /** Wait for pending fsyncs, then release the file. */
  async close(): Promise<void> {
    if (this.running || this.waiting.length) await new Promise<void>((r) => this.drained.push(r));
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
