/**
 * Moves inbox deliveries to their destinations. Each delivery is tried until it succeeds or runs
 * out of attempts; the result of every attempt is written to the inbox before the next is
 * planned, so a crash mid-attempt means that attempt is made again (at least once), never lost.
 */
import type { RetryConfig } from './config.js';
import type { Destination } from './destinations/types.js';
import type { DueDelivery, Inbox } from './inbox.js';

export interface ForwarderOptions {
  inbox: Inbox;
  destinations: ReadonlyMap<string, Destination>;
  retry: RetryConfig;
  /**
   * Attempts running at once per destination (default for every destination). Each destination
   * has its own slots and reads its own backlog, so one that hangs holds only its own slots.
   */
  concurrency: number;
  /** Per-destination overrides of `concurrency`, by destination name. */
  destinationConcurrency?: Readonly<Record<string, number>>;
  /** Called after each attempt, for metrics: the destination and whether it succeeded. */
  onAttempt?: (destination: string, ok: boolean) => void;
  now?: () => number;
  /** Random source in [0, 1), for jitter. */
  random?: () => number;
  log?: (entry: Record<string, unknown>) => void;
}

export interface Forwarder {
  /** Looks for due work now (called after each accept, so forwarding does not wait for a poll). */
  wake(): void;
  /** Stops planning new attempts and waits for the running ones to finish. */
  stop(): Promise<void>;
}

/** Delay before attempt `attempts + 1`: exponential, capped, with jitter in its upper half. */
export function retryDelay(retry: RetryConfig, attempts: number, random: () => number): number {
  const base = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.min(attempts - 1, 40));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** Upper bound on the idle sleep, so a clock jump or an outside edit of the inbox is noticed. */
const MAX_IDLE_MS = 5_000;

export function startForwarder(options: ForwarderOptions): Forwarder {
  const { inbox, destinations, retry, concurrency } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const log = options.log ?? (() => undefined);
  const running = new Map<string, Promise<void>>();
  // Running attempts per destination; rows for a destination no longer configured share one pool.
  const busy = new Map<string, number>();
  const known = [...destinations.keys()];
  const limitOf = (name: string): number => options.destinationConcurrency?.[name] ?? concurrency;
  const STRAYS = '\0strays';
  const poolOf = (name: string): string => (destinations.has(name) ? name : STRAYS);
  function release(d: DueDelivery): void {
    if (!running.delete(`${d.eventId}:${d.destination}`)) return;
    const pool = poolOf(d.destination);
    busy.set(pool, (busy.get(pool) ?? 1) - 1);
  }
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let pumping = false;

  // Attempt results are written in batches: one commit for every result that came in during a
  // tick, instead of one per result. A row stays "running" until its result is written.
  let results: { d: DueDelivery; attempts: number; error: string | undefined; at: number }[] = [];
  let flushScheduled = false;

  function writeResults(): void {
    flushScheduled = false;
    const batch = results;
    results = [];
    if (batch.length === 0) return;
    let written = true;
    try {
      inbox.batch(() => {
        for (const { d, attempts, error, at } of batch) {
          if (error === undefined) inbox.markDone(d.eventId, d.destination, attempts, at);
          else if (attempts >= retry.maxAttempts) inbox.markFailed(d.eventId, d.destination, attempts, at, error);
          else inbox.markRetry(d.eventId, d.destination, attempts, at + retryDelay(retry, attempts, random), error);
        }
      });
    } catch (err) {
      // Unwritten results are attempted again once due: at least once, never lost. Hold those rows
      // back for a while, so a broken disk does not turn into a tight loop of re-sends.
      written = false;
      log({ msg: 'inbox write failed', error: String(err), results: batch.length });
      setTimeout(() => {
        for (const { d } of batch) release(d);
        pump();
      }, 1000).unref();
    }
    for (const { d, attempts, error } of batch) {
      if (!written) break;
      release(d);
      if (error === undefined) {
        if (attempts > 1) log({ msg: 'forwarded after retries', webhookId: d.webhookId, destination: d.destination, attempts });
      } else {
        const final = attempts >= retry.maxAttempts;
        log({ msg: final ? 'forward failed for good' : 'forward will retry', webhookId: d.webhookId, destination: d.destination, attempts, error });
      }
    }
    pump();
  }

  async function attempt(d: DueDelivery): Promise<void> {
    const destination = destinations.get(d.destination);
    let error: string | undefined;
    if (!destination) error = `no destination named ${JSON.stringify(d.destination)} in the configuration`;
    else {
      try {
        const message = { webhookId: d.webhookId, eventType: d.eventType, body: d.body, receivedAt: d.receivedAt };
        await destination.send(d.traceparent === null ? message : { ...message, traceparent: d.traceparent });
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    options.onAttempt?.(d.destination, error === undefined);
    results.push({ d, attempts: d.attempts + 1, error, at: now() });
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(writeResults);
    }
  }

  let pumpScheduled = false;
  function wake(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function pump(): void {
    if (stopped || pumping) return;
    pumping = true;
    try {
      const at = now();
      const start = (pool: string, rows: DueDelivery[]): void => {
        for (const d of rows) {
          running.set(`${d.eventId}:${d.destination}`, attempt(d));
          busy.set(pool, (busy.get(pool) ?? 0) + 1);
        }
      };
      let exclude: ReadonlySet<string> | undefined;
      for (const name of [...known, STRAYS]) {
        const free = limitOf(name) - (busy.get(name) ?? 0);
        if (free <= 0) continue;
        exclude ??= new Set(running.keys());
        start(name, name === STRAYS ? inbox.dueElsewhere(at, free, exclude, known) : inbox.due(at, free, exclude, name));
      }
      schedule();
    } catch (err) {
      log({ msg: 'inbox read failed', error: String(err) });
      schedule(1000);
    } finally {
      pumping = false;
    }
  }

  function schedule(forceMs?: number): void {
    if (stopped) return;
    clearTimeout(timer);
    let wait = forceMs ?? MAX_IDLE_MS;
    if (forceMs === undefined) {
      // Rows due now are either running (their end calls pump) or were just started; only later
      // rows need the timer.
      const at = now();
      const next = inbox.nextDueAfter(at);
      if (next !== undefined) wait = Math.min(wait, next - at);
    }
    timer = setTimeout(pump, wait);
  }

  wake();

  return {
    wake,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...running.values()]);
      if (results.length > 0) writeResults();
    },
  };
}
