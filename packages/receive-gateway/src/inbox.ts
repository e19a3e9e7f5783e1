/**
 * The durable inbox: every accepted event, with one delivery row per destination that its type
 * routes to, written in one transaction before the webhook is answered. Deliveries carry their
 * attempt state (attempts, next attempt time, last error), so a restart resumes exactly where the
 * forwarder was. The webhook id is unique: a repeat is recognised, not stored again.
 *
 * One gateway process per inbox file (SQLite, WAL). Accepts arriving in the same tick share one
 * commit (group commit). The commit itself does not fsync (synchronous=NORMAL); the WAL file is
 * fdatasynced on libuv's thread pool and only then are the batch's callers answered, so the
 * durability of synchronous=FULL is kept without stalling the event loop on the disk.
 */
import Database from 'better-sqlite3';
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AcceptInput {
  webhookId: string;
  eventType: string;
  /** The verified, decrypted envelope as JSON text: what destinations receive. */
  body: string;
  destinations: readonly string[];
  /** The W3C trace context the event arrived in; destinations get it with the event. */
  traceparent?: string | undefined;
}

export type AcceptResult = 'stored' | 'duplicate';

export interface DueDelivery {
  eventId: number;
  destination: string;
  attempts: number;
  webhookId: string;
  eventType: string;
  body: string;
  receivedAt: number;
  traceparent: string | null;
}

export type DeliveryStatus = 'pending' | 'done' | 'failed';

export interface DeliveryRow {
  webhookId: string;
  eventType: string;
  destination: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
}

export interface Inbox {
  /** Stores the event and its deliveries durably; resolves once committed and fsynced. */
  accept(input: AcceptInput): Promise<AcceptResult>;
  /** True when the webhook id is already in the inbox. */
  has(webhookId: string): boolean;
  /** Resolves once everything committed so far is on disk. */
  synced(): Promise<void>;
  /**
   * Pending deliveries due at `now`, oldest first, skipping those in `exclude` (`eventId:destination`).
   * With `destination`, only that destination's: each destination is read from its own backlog, so
   * a slow one never hides the others' work.
   */
  due(now: number, limit: number, exclude: ReadonlySet<string>, destination?: string): DueDelivery[];
  /** Due pending deliveries to destinations not in `known` (a destination removed from the configuration). */
  dueElsewhere(now: number, limit: number, exclude: ReadonlySet<string>, known: readonly string[]): DueDelivery[];
  /** Earliest next attempt time of a pending delivery that is later than `after`, if any. */
  nextDueAfter(after: number): number | undefined;
  markDone(eventId: number, destination: string, attempts: number, now: number): void;
  markRetry(eventId: number, destination: string, attempts: number, nextAttemptAt: number, error: string): void;
  markFailed(eventId: number, destination: string, attempts: number, now: number, error: string): void;
  /** Runs several marks in one commit (the forwarder batches attempt results this way). */
  batch(fn: () => void): void;
  /**
   * Deletes events received before `before` whose every delivery is done (or that had none), at
   * most `limit` per call; returns how many. Pending and failed ones stay. A pruned id is no
   * longer recognised as a repeat, so keep events longer than senders retry.
   */
  prune(before: number, limit?: number): number;
  /** Puts failed deliveries (of one destination, or all) back in line with fresh attempts; returns how many. */
  requeueFailed(destination?: string): number;
  /** Deliveries waiting for an attempt (due or not). */
  pendingCount(): number;
  /** Pending and failed-for-good deliveries per destination (destinations with neither are absent). */
  countsByDestination(): Record<string, { pending: number; failed: number }>;
  /** Delivery rows, for tests and operators. */
  deliveries(): DeliveryRow[];
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  webhook_id TEXT NOT NULL UNIQUE,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
  event_id INTEGER NOT NULL REFERENCES events(id),
  destination TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  finished_at INTEGER,
  PRIMARY KEY (event_id, destination)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_due_by_destination ON deliveries (destination, next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
`;

export function openInbox(path: string, now: () => number = Date.now): Inbox {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // The inbox holds decrypted payloads: the personal data Engage's encryption protected in
    // transit. A new file is readable by this user only; SQLite gives its -wal and -shm files the
    // same mode. An existing file keeps the mode its operator chose.
    closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL: commits do not fsync; accept() syncs the WAL itself before it resolves (see above).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  // Added after the first release: an inbox an older gateway made gets the column when opened.
  const eventColumns = db.prepare("SELECT name FROM pragma_table_info('events')").pluck().all();
  if (!eventColumns.includes('traceparent')) db.exec('ALTER TABLE events ADD COLUMN traceparent TEXT');
  // The WAL file keeps its inode while a connection is open (SQLite rewinds it, never replaces it).
  const walFd = path === ':memory:' ? undefined : openSync(`${path}-wal`, 'r');
  // Attempt results go through a second connection and are not synced on their own: losing one
  // to a power cut means an attempt is made again, which at-least-once allows; it cannot lose an
  // event. The next accept's sync covers them too. A process crash loses nothing either way.
  const state = path === ':memory:' ? db : new Database(path);
  if (state !== db) {
    state.pragma('synchronous = NORMAL');
    state.pragma('busy_timeout = 5000');
  }

  const insertEvent = db.prepare(
    'INSERT INTO events (webhook_id, event_type, body, received_at, traceparent) VALUES (?, ?, ?, ?, ?) ON CONFLICT (webhook_id) DO NOTHING',
  );
  const insertDelivery = db.prepare("INSERT INTO deliveries (event_id, destination, status, next_attempt_at) VALUES (?, ?, 'pending', ?)");
  const hasEvent = db.prepare('SELECT 1 FROM events WHERE webhook_id = ?').pluck();
  const selectDue = db.prepare(`
    SELECT d.event_id AS eventId, d.destination, d.attempts, e.webhook_id AS webhookId,
           e.event_type AS eventType, e.body, e.received_at AS receivedAt, e.traceparent
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= ?
    ORDER BY d.next_attempt_at, d.event_id
    LIMIT ?`);
  const selectDueFor = db.prepare(`
    SELECT d.event_id AS eventId, d.destination, d.attempts, e.webhook_id AS webhookId,
           e.event_type AS eventType, e.body, e.received_at AS receivedAt, e.traceparent
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.status = 'pending' AND d.destination = ? AND d.next_attempt_at <= ?
    ORDER BY d.next_attempt_at, d.event_id
    LIMIT ?`);
  const selectDueElsewhere = db.prepare(`
    SELECT d.event_id AS eventId, d.destination, d.attempts, e.webhook_id AS webhookId,
           e.event_type AS eventType, e.body, e.received_at AS receivedAt, e.traceparent
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= ?
      AND d.destination NOT IN (SELECT value FROM json_each(?))
    ORDER BY d.next_attempt_at, d.event_id
    LIMIT ?`);
  const selectCounts = db.prepare(`
    SELECT destination, SUM(status = 'pending') AS pending, SUM(status = 'failed') AS failed
    FROM deliveries WHERE status <> 'done' GROUP BY destination ORDER BY destination`);
  const selectNext = db.prepare("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at > ?").pluck();
  const updateDone = state.prepare(
    "UPDATE deliveries SET status = 'done', attempts = ?, finished_at = ?, last_error = NULL WHERE event_id = ? AND destination = ?",
  );
  const updateRetry = state.prepare('UPDATE deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE event_id = ? AND destination = ?');
  const updateFailed = state.prepare(
    "UPDATE deliveries SET status = 'failed', attempts = ?, finished_at = ?, last_error = ? WHERE event_id = ? AND destination = ?",
  );
  const selectPrunable = state
    .prepare(
      `SELECT id FROM events e WHERE received_at < ?
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'done')
       ORDER BY received_at LIMIT ?`,
    )
    .pluck();
  const deleteDeliveries = state.prepare('DELETE FROM deliveries WHERE event_id = ?');
  const deleteEvent = state.prepare('DELETE FROM events WHERE id = ?');
  const pruneBatch = state.transaction((before: number, limit: number): number => {
    const ids = selectPrunable.all(before, limit) as number[];
    for (const id of ids) {
      deleteDeliveries.run(id);
      deleteEvent.run(id);
    }
    return ids.length;
  });
  const requeue = db.prepare(
    "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, finished_at = NULL WHERE status = 'failed' AND (? IS NULL OR destination = ?)",
  );
  const countPending = db.prepare("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").pluck();
  const selectAll = db.prepare(`
    SELECT e.webhook_id AS webhookId, e.event_type AS eventType, d.destination, d.status, d.attempts,
           d.next_attempt_at AS nextAttemptAt, d.last_error AS lastError
    FROM deliveries d JOIN events e ON e.id = d.event_id ORDER BY d.event_id, d.destination`);

  interface Pending {
    input: AcceptInput;
    resolve: (r: AcceptResult) => void;
    reject: (err: unknown) => void;
  }
  let queue: Pending[] = [];
  let scheduled = false;

  const commitBatch = db.transaction((batch: Pending[], at: number): AcceptResult[] =>
    batch.map(({ input }) => {
      const info = insertEvent.run(input.webhookId, input.eventType, input.body, at, input.traceparent ?? null);
      if (info.changes === 0) return 'duplicate';
      for (const destination of input.destinations) insertDelivery.run(info.lastInsertRowid, destination, at);
      return 'stored';
    }),
  );

  // Callers waiting for a sync that starts after their commit; one fdatasync runs at a time and
  // covers everything committed before it started.
  let unsynced: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let syncing = false;
  let closed = false;

  function startSync(): void {
    const group = unsynced;
    unsynced = [];
    syncing = true;
    const done = (err: unknown): void => {
      syncing = false;
      for (const w of group)
        if (err) w.reject(err);
        else w.resolve();
      // close() synced the rest itself and left the descriptor to us while this sync ran.
      if (closed) closeSync(walFd!);
      else if (unsynced.length > 0) startSync();
    };
    if (walFd === undefined) setImmediate(done, null);
    else fdatasync(walFd, done);
  }

  function synced(): Promise<void> {
    return new Promise((resolve, reject) => {
      unsynced.push({ resolve, reject });
      if (!syncing) startSync();
    });
  }

  function flush(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    let results: AcceptResult[];
    try {
      results = commitBatch(batch, now());
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    synced().then(
      () => batch.forEach((p, i) => p.resolve(results[i])),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  }

  return {
    accept(input) {
      return new Promise<AcceptResult>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    has: (webhookId) => hasEvent.get(webhookId) !== undefined,
    synced,
    due(at, limit, exclude, destination) {
      // Over-fetch by the excluded count so in-flight rows cannot starve the rest.
      const rows = (
        destination === undefined ? selectDue.all(at, limit + exclude.size) : selectDueFor.all(destination, at, limit + exclude.size)
      ) as DueDelivery[];
      return rows.filter((r) => !exclude.has(`${r.eventId}:${r.destination}`)).slice(0, limit);
    },
    dueElsewhere(at, limit, exclude, known) {
      const rows = selectDueElsewhere.all(at, JSON.stringify(known), limit + exclude.size) as DueDelivery[];
      return rows.filter((r) => !exclude.has(`${r.eventId}:${r.destination}`)).slice(0, limit);
    },
    countsByDestination() {
      const out: Record<string, { pending: number; failed: number }> = {};
      for (const r of selectCounts.all() as { destination: string; pending: number; failed: number }[]) {
        out[r.destination] = { pending: r.pending, failed: r.failed };
      }
      return out;
    },
    nextDueAfter(after) {
      const v = selectNext.get(after) as number | null;
      return v ?? undefined;
    },
    markDone(eventId, destination, attempts, at) {
      updateDone.run(attempts, at, eventId, destination);
    },
    markRetry(eventId, destination, attempts, nextAttemptAt, error) {
      updateRetry.run(attempts, nextAttemptAt, error.slice(0, 2000), eventId, destination);
    },
    markFailed(eventId, destination, attempts, at, error) {
      updateFailed.run(attempts, at, error.slice(0, 2000), eventId, destination);
    },
    batch: (fn) => state.transaction(fn)(),
    prune: (before, limit = 1000) => pruneBatch(before, limit),
    pendingCount: () => countPending.get() as number,
    requeueFailed: (destination) => requeue.run(now(), destination ?? null, destination ?? null).changes,
    deliveries: () => selectAll.all() as DeliveryRow[],
    close() {
      if (queue.length > 0) flush();
      if (walFd !== undefined) fdatasyncSync(walFd);
      const waiting = unsynced;
      unsynced = [];
      for (const w of waiting) w.resolve();
      closed = true;
      if (state !== db) state.close();
      db.close();
      if (walFd !== undefined && !syncing) closeSync(walFd);
    },
  };
}
