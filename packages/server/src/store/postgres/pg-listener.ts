// Cross-process wake-ups on PostgreSQL: after a commit that makes delivery tasks due, the store
// runs pg_notify(DUE_CHANNEL) (coalesced, see base.ts), and every dispatcher process LISTENs on one
// dedicated connection (not a pool member: a pooled connection is handed to other queries and its
// LISTEN would be lost with it). Notifications only shorten the wait; polling stays the guarantee,
// so while this connection is down nothing is lost, only slower.
//
// A dropped connection is noticed three ways: the driver's 'error' and 'end' events (server
// restart, pg_terminate_backend, a reset socket), and a periodic `SELECT 1` with a deadline for a
// connection that died silently (a half-open TCP connection sends no error). It is then
// re-established with exponential backoff, and the listener is called once on every (re)connect,
// since notifications sent while it was down were missed.
import pg from 'pg';

/** The channel a commit that made tasks due notifies (per database, so installations never mix). */
export const DUE_CHANNEL = 'herald_tasks_due';
/** Shown in pg_stat_activity, so operators (and tests) can tell the listener's session apart. */
export const LISTENER_APPLICATION_NAME = 'herald-listener';

export interface ListenerLog {
  warn(obj: object, msg: string): void;
}

export interface PgListenerOptions {
  url: string;
  /** Called on every notification, and once after every (re)connect. */
  onWake: () => void;
  log?: ListenerLog;
  /** How often the connection proves it is alive (default 10 s); a check gets as long again to answer. */
  checkEveryMs?: number;
  /** Reconnect backoff: first delay, doubled per failure up to the maximum (defaults 100 ms, 5 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  /** Whether the last connection was lost and not yet re-established (to log each outage once). */
  private down = false;
  /** Successful connects so far (1 after the first, +1 per re-establishment). */
  connects = 0;

  constructor(private readonly o: PgListenerOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  get connected(): boolean {
    return this.client !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.retryTimer = this.checkTimer = null;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    if (this.stopped) return;
    const c = new pg.Client({
      connectionString: this.o.url,
      application_name: LISTENER_APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    let lost = false;
    const onLost = (err: unknown) => {
      if (lost) return;
      lost = true;
      if (this.client === c) {
        this.client = null;
        if (this.checkTimer) clearInterval(this.checkTimer);
        this.checkTimer = null;
      }
      c.removeAllListeners('notification');
      void c.end().catch(() => {});
      if (this.stopped) return;
      if (!this.down) {
        this.down = true;
        this.o.log?.warn({ err }, 'task wake-up listener connection lost; polling continues while it reconnects');
      }
      this.scheduleReconnect();
    };
    c.on('error', onLost);
    c.on('end', () => onLost(new Error('connection ended')));
    c.on('notification', () => this.o.onWake());
    try {
      await c.connect();
      await c.query(`LISTEN ${DUE_CHANNEL}`);
    } catch (e) {
      onLost(e);
      return;
    }
    if (lost) return;
    if (this.stopped) {
      await c.end().catch(() => {});
      return;
    }
    this.client = c;
    this.failures = 0;
    this.connects++;
    if (this.down) {
      this.down = false;
      this.o.log?.warn({ connects: this.connects }, 'task wake-up listener connection re-established');
    }
    const every = this.o.checkEveryMs ?? 10_000;
    this.checkTimer = setInterval(() => void this.check(c, every, onLost), every);
    this.checkTimer.unref();
    // Work committed while no connection listened was announced to nobody: look now.
    this.o.onWake();
  }

  private async check(c: pg.Client, deadlineMs: number, onLost: (err: unknown) => void): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        c.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer to a liveness check within ${deadlineMs} ms`)), deadlineMs);
        }),
      ]);
    } catch (e) {
      onLost(e);
    } finally {
      clearTimeout(timer);
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const min = this.o.minBackoffMs ?? 100;
    const max = this.o.maxBackoffMs ?? 5_000;
    const base = Math.min(max, min * 2 ** this.failures);
    this.failures++;
    // Jitter, so many workers do not reconnect in lockstep after a server restart.
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}
