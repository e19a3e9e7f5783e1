// Retention: a periodic pass that clears expired message payloads and deletes old attempts and
// stored idempotent answers, in small batches with a pause after each, so that a large backlog of
// history is worked off gradually instead of in one long write. It runs beside the dispatcher
// (`herald serve`, `herald worker`); `herald purge` runs one pass by hand. On PostgreSQL any number
// of processes may run it: the store lets one of them purge at a time and the others skip the pass.
import type { PurgeKind, Store } from '../store/store.js';

/** Stored idempotent answers are replayed for 12 hours; they are kept twice that long. */
export const IDEMPOTENCY_KEEP_MS = 24 * 60 * 60 * 1000;

export interface PurgerOptions {
  store: Store;
  now: () => number;
  /** Attempts older than this are deleted; null keeps them forever. */
  attemptRetentionMs: number | null;
  /** Rows per batch (one short commit each). */
  batchSize: number;
  /** Time between the start of one pass and the next. */
  intervalMs: number;
  /** The least pause after a batch; the pause is at least as long as the batch took (at most half the database's time). */
  minPauseMs?: number;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface PurgeCounts {
  payloads: number;
  attempts: number;
  idempotency: number;
  /** The pass stopped early because another process was purging. */
  busy: boolean;
}

export class Purger {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private pass: Promise<PurgeCounts> | null = null;
  private wakePause: (() => void) | null = null;

  constructor(private readonly o: PurgerOptions) {}

  /** Run a pass now and then every `intervalMs` until stopped. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      try {
        const c = await this.runPass('background');
        if (c.payloads || c.attempts || c.idempotency) this.o.log?.info({ ...c }, 'retention purge pass');
      } catch (e) {
        this.o.log?.error({ err: e }, 'retention purge failed; trying again next interval');
      }
      if (this.running) this.timer = setTimeout(() => void tick(), this.o.intervalMs);
    };
    // The first pass waits a little, so start-up (migrations, the first claims) goes first.
    this.timer = setTimeout(() => void tick(), Math.min(this.o.intervalMs, 5_000));
  }

  /** Stop: a pass in progress ends after its current batch. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wakePause?.();
    await this.pass?.catch(() => undefined);
  }

  /**
   * One full pass: every kind, batch after batch until a batch comes back short. A `manual` pass
   * (`herald purge`) runs to the end; a `background` one ends early when stopped or when another
   * process is purging.
   */
  runPass(mode: 'manual' | 'background' = 'manual'): Promise<PurgeCounts> {
    if (!this.pass) this.pass = this.doPass(mode === 'manual').finally(() => (this.pass = null));
    return this.pass;
  }

  private async doPass(manual: boolean): Promise<PurgeCounts> {
    const counts: PurgeCounts = { payloads: 0, attempts: 0, idempotency: 0, busy: false };
    const now = this.o.now();
    const cutoffs: [PurgeKind, number | null][] = [
      ['payloads', now],
      ['attempts', this.o.attemptRetentionMs === null ? null : now - this.o.attemptRetentionMs],
      ['idempotency', now - IDEMPOTENCY_KEEP_MS],
    ];
    // Temporary destinations (`herald listen`) whose reader stopped renewing their lease.
    while ((await this.o.store.expireDestinations(now, this.o.batchSize)) === this.o.batchSize) {
      if (!manual && !this.running) return counts;
    }
    for (const [kind, cutoff] of cutoffs) {
      if (cutoff === null) continue;
      for (;;) {
        const started = Date.now();
        const r = await this.o.store.purgeBatch(kind, cutoff, this.o.batchSize);
        counts[kind] += r.purged;
        if (r.busy) {
          // Another process holds the purge. The background pass leaves the work to it; a manual
          // pass waits for a gap between that process's batches and carries on, so it is complete.
          if (!manual) {
            counts.busy = true;
            return counts;
          }
          await this.pause(100);
          continue;
        }
        if (r.purged < this.o.batchSize) break;
        // A stopped background purger gives up between batches; a manual pass runs to the end.
        if (!manual && !this.running) return counts;
        await this.pause(Math.max(this.o.minPauseMs ?? 20, Date.now() - started));
      }
    }
    return counts;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakePause = null;
        resolve();
      }, ms);
      this.wakePause = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
