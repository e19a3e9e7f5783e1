// SQLite only: messages are written by the writer thread (write-worker.ts), on its own connection,
// inside the same group commit as the main connection's writes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../src/domain/errors.js';
import { Sealer } from '../../src/security/sealer.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { WriteWorker } from '../../src/store/sqlite/write-worker.js';
import { app, endpoint, message, resetIds, T0 } from './records.js';

let dir: string;
let store: SqliteStore;
const key = randomBytes(32);
const open = () => new SqliteStore({ file: join(dir, 'h.db'), sealer: new Sealer(key) });

/** The parts of the store these tests look inside. */
const inside = (s: SqliteStore) =>
  s as unknown as { db: { prepare(sql: string): { get(): { n: number } } }; writes: { writer: WriteWorker } };
/** Rows the main connection itself has written since it opened. */
const mainConnectionChanges = (s: SqliteStore) => inside(s).db.prepare('SELECT total_changes() AS n').get().n;

beforeEach(() => {
  resetIds();
  dir = mkdtempSync(join(tmpdir(), 'herald-writer-'));
  store = open();
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function appWithEndpoints(n: number) {
  const a = await store.createApplication(app());
  for (let i = 0; i < n; i++) await store.createEndpoint(endpoint(a.id));
  return a.id;
}

describe('the SQLite writer thread', () => {
  it('writes messages and their tasks on its own connection, not the main one', async () => {
    const appId = await appWithEndpoints(2);
    const before = mainConnectionChanges(store);
    const msgs = Array.from({ length: 50 }, (_, i) => message(appId, { createdAt: T0 + i }));
    const out = await Promise.all(msgs.map((m) => store.createMessage(m, {})));
    expect(out.every((o) => o.tasks.length === 2)).toBe(true);
    // 50 messages and 100 tasks are in the file, and the main connection changed no row for them.
    expect(mainConnectionChanges(store)).toBe(before);
    expect((await store.queueStats(T0 + 100)).waiting).toBe(100);
    expect(await store.getMessage(appId, msgs[49]!.id)).toEqual(msgs[49]);
  });

  it('fails a duplicate eventId alone, in the same batch as the writes that succeed', async () => {
    const appId = await appWithEndpoints(1);
    const first = message(appId, { eventId: 'order-1' });
    const dup = message(appId, { eventId: 'order-1', createdAt: T0 + 1 });
    const other = message(appId, { eventId: 'order-2', createdAt: T0 + 2 });
    const [a, b, c] = await Promise.allSettled([first, dup, other].map((m) => store.createMessage(m, {})));
    expect(a.status).toBe('fulfilled');
    expect(c.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    const err = (b as PromiseRejectedResult).reason as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.status).toBe(409);
    // Nothing of the refused message was kept: no row, no task.
    expect(await store.getMessage(appId, dup.id)).toBeNull();
    expect((await store.queueStats(T0 + 10)).waiting).toBe(2);
  });

  it('builds a message write after the main connection writes queued with it: the fan-out sees a new endpoint', async () => {
    const appId = await appWithEndpoints(1);
    const ep = endpoint(appId);
    // Queued in one turn of the event loop, so both land in the same batch.
    const [, created] = await Promise.all([store.createEndpoint(ep), store.createMessage(message(appId), {})]);
    expect(created.tasks.map((t) => t.endpointId)).toContain(ep.id);
    expect(created.tasks).toHaveLength(2);
  });

  it('lets a main-connection write through while message writes keep coming', async () => {
    const appId = await appWithEndpoints(1);
    const order: string[] = [];
    const flood: Promise<unknown>[] = [];
    let appDone: Promise<unknown> | null = null;
    // A new chunk of messages on every turn of the event loop, for 40 turns; an application
    // (a main-connection write) is queued on the 5th.
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 0; i < 25; i++) {
        flood.push(store.createMessage(message(appId, { createdAt: T0 + turn * 25 + i }), {}).then(() => order.push(`m${turn}`)));
      }
      if (turn === 5) appDone = store.createApplication(app()).then(() => order.push('app'));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([...flood, appDone]);
    // It waited for the writer to finish what it held, not for the flood to end.
    expect(order.indexOf('app')).toBeLessThan(order.indexOf('m39'));
    expect((await store.queueStats(T0 + 2_000)).waiting).toBe(1_000);
  });

  it('keeps idempotent answers that it writes', async () => {
    const appId = await appWithEndpoints(1);
    const m = message(appId);
    // Keys reach the store hashed (base64url sha256), as the API layer stores them.
    const k = createHash('sha256').update('k-1').digest('base64url');
    await store.createMessage(m, { idem: { key: k, status: 202, body: (r) => JSON.stringify({ id: r.id }), now: T0 } });
    const got = await store.getIdempotentResponse(k, T0);
    expect(got?.status).toBe(202);
    expect(JSON.parse(got!.body)).toEqual({ id: m.id });
  });

  it('when the thread dies, uncommitted writes fail whole, committed ones are answered, and the next go to a new thread', async () => {
    const appId = await appWithEndpoints(2);
    const doomed = Array.from({ length: 200 }, (_, i) => message(appId, { createdAt: T0 + i }));
    const pending = doomed.map((m) => store.createMessage(m, {}));
    // Let the batch go to the thread, then stop the thread as a crash would.
    await new Promise((r) => setImmediate(r));
    expect(inside(store).writes.writer.inFlight).toBeGreaterThan(0);
    await inside(store).writes.writer.kill();
    const settled = await Promise.allSettled(pending);
    const failed = doomed.filter((_, i) => settled[i]!.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    // A failed write left nothing behind; a write that was answered is there (a batch that had
    // committed when the thread died is answered after the main thread fsyncs the WAL).
    for (const m of failed) expect(await store.getMessage(appId, m.id)).toBeNull();
    for (const [i, s] of settled.entries()) if (s.status === 'fulfilled') expect(await store.getMessage(appId, doomed[i]!.id)).not.toBeNull();
    const kept = settled.filter((s) => s.status === 'fulfilled').length;
    expect((await store.queueStats(T0 + 1_000)).waiting).toBe(2 * kept);
    const after = message(appId, { createdAt: T0 + 500 });
    await expect(store.createMessage(after, {})).resolves.toMatchObject({ message: after });
  });

  it('on close, commits every write already queued before the thread stops', async () => {
    const appId = await appWithEndpoints(1);
    const msgs = Array.from({ length: 300 }, (_, i) => message(appId, { createdAt: T0 + i }));
    const pending = msgs.map((m) => store.createMessage(m, {}));
    await store.close();
    await expect(Promise.all(pending)).resolves.toHaveLength(300);
    store = open();
    for (const m of [msgs[0]!, msgs[299]!]) expect(await store.getMessage(appId, m.id)).toEqual(m);
    expect((await store.queueStats(T0 + 1_000)).waiting).toBe(300);
  });
});
