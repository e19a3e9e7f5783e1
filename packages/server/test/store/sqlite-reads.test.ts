// SQLite only: the queue gauges count every waiting task, which takes a while with a large backlog.
// They run on the read worker's own connection, so the event loop keeps turning meanwhile. And a
// claim that finds nothing due takes no write transaction.
import BetterSqlite3 from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sealer } from '../../src/security/sealer.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { app, endpoint, message, T0 } from './records.js';

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-reads-'));
  store = new SqliteStore({ file: join(dir, 'h.db'), sealer: new Sealer(randomBytes(32)) });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite queue gauges', () => {
  it('count a large backlog without blocking the event loop, and count it right', async () => {
    const a = await store.createApplication(app());
    await store.createEndpoint(endpoint(a.id));
    await store.createEndpoint(endpoint(a.id));
    const N = 40_000;
    for (let i = 0; i < N; i += 2_000) {
      await store.createMessages(
        Array.from({ length: 2_000 }, (_, j) => message(a.id, { createdAt: T0 + i + j })),
        {},
      );
    }
    // A callback queued now runs before the count returns only if the count leaves the event
    // loop free while it scans (on the main thread it would run after: the scan is synchronous).
    let turned = false;
    setImmediate(() => (turned = true));
    const stats = await store.queueStats(T0 + N / 2);
    expect(turned).toBe(true);
    expect(stats.waiting).toBe(2 * N);
    expect(stats.due).toBe(2 * (N / 2 + 1));
    expect(stats.oldestDueAgeMs).toBe(N / 2);
  });

  it('see what was committed just before they were asked', async () => {
    const a = await store.createApplication(app());
    await store.createEndpoint(endpoint(a.id));
    expect((await store.queueStats(T0)).waiting).toBe(0);
    await store.createMessage(message(a.id, { createdAt: T0 }), {});
    expect(await store.queueStats(T0 + 5)).toEqual({ waiting: 1, due: 1, oldestDueAgeMs: 5 });
  });
});

describe('SQLite delivery loads', () => {
  it("read a fan-out's message once for all the deliveries of one claim that carry it", async () => {
    const a = await store.createApplication(app());
    for (let i = 0; i < 50; i++) await store.createEndpoint(endpoint(a.id));
    const fanned = (await store.createMessage(message(a.id, { createdAt: T0 }), {})).message;
    const single = (await store.createMessage(message(a.id, { createdAt: T0 + 1, payload: '{"n":2}' }), {})).message;
    const claimed = await store.claimDueTasks('w', T0 + 10, 60_000, 1000);
    expect(claimed).toHaveLength(100);
    const read: string[] = [];
    const getMessage = store.getMessage.bind(store);
    store.getMessage = (appId, id) => {
      read.push(id);
      return getMessage(appId, id);
    };
    const loaded = await store.loadDeliveries(claimed);
    expect(read.sort()).toEqual([fanned.id, single.id].sort());
    loaded.forEach((l, i) => {
      expect(l.message!.id).toBe(claimed[i]!.msgId);
      expect(l.endpoint!.id).toBe(claimed[i]!.endpointId);
      expect(l.message!.payload).toBe(claimed[i]!.msgId === fanned.id ? '{"a":1}' : '{"n":2}');
    });
  });
});

describe('SQLite claims', () => {
  // A dispatcher claims again after every attempt it finishes, and a worker process polls. When
  // nothing is due, that must not take the file's write lock: another process (the API, writing
  // messages) may hold it, and a claim waiting for it would block this event loop.
  it('a claim that finds nothing due answers at once, even while another connection writes', async () => {
    const a = await store.createApplication(app());
    await store.createEndpoint(endpoint(a.id));
    await store.createMessages([message(a.id, { createdAt: T0 + 60_000 })], {});
    const other = new BetterSqlite3(join(dir, 'h.db'));
    other.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    try {
      // It answers while the other connection still holds the write lock: a claim that needed the
      // lock could only wait for it (and fail busy), since the ROLLBACK comes after.
      expect(await store.claimDueTasks('w1', T0, 30_000, 10)).toEqual([]);
      expect(other.inTransaction).toBe(true);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    // Once the task is due, the claim takes it (the lock is free again).
    const claimed = await store.claimDueTasks('w1', T0 + 60_000, 30_000, 10);
    expect(claimed).toHaveLength(1);
    expect(await store.claimDueTasks('w1', T0 + 60_000, 30_000, 10)).toEqual([]);
  });
});
