// Cross-process wake-ups on PostgreSQL: every commit that makes tasks due (a message accepted
// alone or in a batch, a message that creates its application, a resend, a recover, leases
// released on a graceful stop) is followed by a notification on the channel (coalesced: a burst of
// commits shares a few; a message accepted on a quiet store notifies in its own statement); a store that asked for wake-ups from elsewhere hears them on its own
// LISTEN connection, notices when that connection is killed, and re-establishes it. Two PgStores
// stand for two processes.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageStatus } from '../../src/domain/types.js';
import { DUE_CHANNEL, LISTENER_APPLICATION_NAME } from '../../src/store/postgres/pg-listener.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { Sealer } from '../../src/security/sealer.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { until } from '../delivery/harness.js';
import { app, attemptFor, endpoint, LEASE, message, T0 } from './records.js';

let db: TestDatabase;
let api: PgStore;
let worker: PgStore;
/** A plain LISTEN client of the test's own, to see exactly which commits notify. */
let spy: pg.Client;
const heard: string[] = [];
let woken = 0;
const warnings: string[] = [];

const MARKER_SQL = 'SELECT pg_notify($1, $2)';

/**
 * The notifications the spy hears for `work`, and nothing else: after it, the test sends a marker
 * on the channel itself; notifications arrive in commit order, so once the marker is in, every
 * notification `work` caused is in too.
 */
async function notificationsFor(work: () => Promise<unknown>): Promise<string[]> {
  heard.length = 0;
  await work();
  await api.announced();
  await worker.announced();
  const marker = `marker-${randomBytes(4).toString('hex')}`;
  await api.pool.query(MARKER_SQL, [DUE_CHANNEL, marker]);
  await until('the marker', () => heard.includes(marker));
  return heard.filter((h) => h !== marker);
}

beforeAll(async () => {
  db = await createTestDatabase();
  const key = randomBytes(32);
  api = await PgStore.open({ url: db.url, sealer: new Sealer(key), poolSize: 3 });
  worker = await PgStore.open({ url: db.url, sealer: new Sealer(key), poolSize: 3 });
  spy = new pg.Client({ connectionString: db.url });
  await spy.connect();
  spy.on('notification', (n) => heard.push(n.payload ?? ''));
  await spy.query(`LISTEN ${DUE_CHANNEL}`);
});
afterAll(async () => {
  await spy?.end();
  await api?.close();
  await worker?.close();
  await db?.drop();
});

describe('PostgreSQL: LISTEN/NOTIFY wake-ups across processes', () => {
  it('each commit that makes tasks due notifies once; one that makes none notifies nobody', async () => {
    const a = await api.createApplication(app());
    const ep = await api.createEndpoint(endpoint(a.id, { eventTypes: ['user.created'] }));
    expect(await notificationsFor(() => api.createMessage(message(a.id), {}))).toEqual(['']);
    // Matches no endpoint: no task, no notification.
    expect(await notificationsFor(() => api.createMessage(message(a.id, { eventType: 'other' }), {}))).toEqual([]);
    // A batch in one transaction: one notification for the commit.
    expect(await notificationsFor(() => api.createMessages([message(a.id), message(a.id)], {}))).toEqual(['']);
    // A burst of concurrent commits: coalesced, never more notifications than commits, and the
    // last one is sent after the last commit (the marker, sent after all, comes after it).
    const burst = await notificationsFor(() => Promise.all(Array.from({ length: 50 }, () => api.createMessage(message(a.id), {}))));
    expect(burst.length).toBeGreaterThanOrEqual(1);
    expect(burst.length).toBeLessThanOrEqual(50);
    // A message that creates its application (no endpoints yet, so no task).
    const fresh = app({ uid: 'created-with-message' });
    expect(await notificationsFor(() => api.createMessage(message(fresh.id), { createApp: fresh }))).toEqual([]);

    const all = await worker.claimDueTasks('w', T0 + 1, LEASE, 100);
    expect(all).toHaveLength(53);
    for (const t of all) {
      await worker.completeAttempt(t, { attempt: attemptFor(t, T0 + 2, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, T0 + 2);
    }
    const c = all[0];
    // A retry scheduled for later is found by the dispatchers' own clocks, not announced.
    expect(await notificationsFor(() => api.requeueDelivery(c!.msgId, ep.id, a.id, T0 + 3))).toEqual(['']);
    const [m] = await worker.claimDueTasks('w', T0 + 3, LEASE, 1);
    expect(m!.msgId).toBe(c!.msgId);
    await worker.completeAttempt(m!, { attempt: attemptFor(m!, T0 + 4, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, T0 + 4);
    expect(await notificationsFor(() => api.recoverEndpoint(a.id, ep.id, T0 + 1e6, T0 + 2e6, T0 + 5))).toEqual([]);
    expect(await notificationsFor(() => api.recoverEndpoint(a.id, ep.id, T0 - 1e6, T0 + 1e6, T0 + 5))).toEqual(['']);

    // A graceful stop hands its leases back, due now: others hear of it.
    expect((await worker.claimDueTasks('w2', T0 + 6, LEASE, 10)).length).toBeGreaterThan(0);
    expect(await notificationsFor(() => worker.releaseLeases('w2', T0 + 7))).toEqual(['']);
    expect(await notificationsFor(() => worker.releaseLeases('nobody', T0 + 7))).toEqual([]);
    // A rolled-back transaction notifies nobody: a duplicate eventId fails the whole batch.
    expect(await notificationsFor(() => api.createMessage(message(a.id, { eventId: 'dup' }), {}))).toEqual(['']);
    heard.length = 0;
    await expect(notificationsFor(() => api.createMessages([message(a.id), message(a.id, { eventId: 'dup' })], {}))).rejects.toThrow();
    const marker = `marker-${randomBytes(4).toString('hex')}`;
    await api.pool.query('SELECT pg_notify($1, $2)', [DUE_CHANNEL, marker]);
    await until('the marker', () => heard.includes(marker));
    expect(heard.filter((h) => h !== marker)).toEqual([]);
  });

  it('a message accepted while no notification is in flight is announced by its own commit; a burst keeps one notifying statement in flight', async () => {
    const a = await api.createApplication(app());
    await api.createEndpoint(endpoint(a.id));
    // Watch the statements the store sends on its real pool: which carry a notification, and how
    // many of those are in flight at once.
    const statements: string[] = [];
    let notifying = 0;
    let mostNotifying = 0;
    const query = api.pool.query.bind(api.pool);
    api.pool.query = ((q: string | { text: string }, values?: unknown[]) => {
      const text = typeof q === 'string' ? q : q.text;
      if (text === MARKER_SQL) return query(q as never, values as never);
      statements.push(text);
      const p = query(q as never, values as never) as unknown as Promise<unknown>;
      if (!text.includes('pg_notify')) return p;
      mostNotifying = Math.max(mostNotifying, ++notifying);
      return p.finally(() => notifying--);
    }) as typeof api.pool.query;
    try {
      // Quiet: one statement writes the message and its task and notifies at its commit; no
      // notification follows it.
      expect(await notificationsFor(() => api.createMessage(message(a.id), {}))).toEqual(['']);
      expect(statements.filter((s) => s.includes('INSERT INTO message'))).toHaveLength(1);
      expect(statements.filter((s) => s.includes('pg_notify'))).toEqual(statements.filter((s) => s.includes('INSERT INTO message')));
      // A burst: every commit is still followed by a notification (the marker comes after them
      // all), never more than one notifying statement at a time, and fewer notifications than
      // commits.
      statements.length = 0;
      const burst = await notificationsFor(() => Promise.all(Array.from({ length: 50 }, () => api.createMessage(message(a.id), {}))));
      expect(burst.length).toBeGreaterThanOrEqual(1);
      expect(burst.length).toBeLessThan(50);
      expect(mostNotifying).toBe(1);
      expect((await query('SELECT count(*)::int AS n FROM delivery_task WHERE app_id = $1', [a.id])).rows[0].n).toBe(51);
    } finally {
      api.pool.query = query;
    }
  });

  it("another process's commit wakes the listener; a killed listener connection is re-established and wakes again", async () => {
    worker.onTasksDueElsewhere(() => woken++, { warn: (_o, msg) => warnings.push(msg) });
    await until('the listener to connect', () => worker.listener?.connected === true);
    const a = await api.createApplication(app());
    await api.createEndpoint(endpoint(a.id));

    const before = woken;
    await api.createMessage(message(a.id), {});
    await until('a wake-up from the other store', () => woken > before);

    const sessions = async () =>
      (await api.pool.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [db.name, LISTENER_APPLICATION_NAME])).rows.map(
        (r) => r.pid as number,
      );
    const [old] = await sessions();
    expect(old).toBeDefined();
    await api.pool.query('SELECT pg_terminate_backend($1)', [old]);
    await until('the listener to reconnect', async () => {
      const now = await sessions();
      return worker.listener!.connected && now.length === 1 && now[0] !== old;
    });
    expect(worker.listener!.connects).toBe(2);
    expect(warnings).toEqual([
      'task wake-up listener connection lost; polling continues while it reconnects',
      'task wake-up listener connection re-established',
    ]);

    const after = woken;
    await api.createMessage(message(a.id), {});
    await until('a wake-up after reconnecting', () => woken > after);
  });
});
