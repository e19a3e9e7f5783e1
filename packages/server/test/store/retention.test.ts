// Retention on both stores: expired payloads are cleared (the message stays, listed with no
// payload), attempts past the configured age and old idempotency answers are deleted, in batches of
// the size asked for, and nothing of a message whose delivery is still due or in flight is touched.
// Rows are back-dated (records at T0, the purge's clock months later); nothing sleeps.
import { expect, it } from 'vitest';
import { Purger } from '../../src/dispatch/purger.js';
import { MessageStatus } from '../../src/domain/types.js';
import { SQLITE_PURGE_SQL, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { eachStore } from './backends.js';
import { app, attemptFor, DAY, endpoint, LEASE, message, page, T0 } from './records.js';

/** Claim everything due at `at` and record one attempt each: success, or a failure retried at `retryAt`. */
async function deliverDue(store: Store, at: number, outcome: (msgId: string) => { ok: true } | { ok: false; retryAt: number | null }) {
  const claimed = await store.claimDueTasks('w', at, LEASE, 100);
  for (const c of claimed) {
    const o = outcome(c.msgId);
    const status = o.ok ? MessageStatus.success : o.retryAt === null ? MessageStatus.fail : MessageStatus.pending;
    await store.completeAttempt(c, { attempt: attemptFor(c, at, o.ok), task: { status, nextAttemptAt: o.ok ? null : o.retryAt } }, at);
  }
  return claimed.length;
}

async function allPages<T>(fetch: (iterator: string | null) => Promise<{ data: T[]; iterator: string | null; done: boolean }>): Promise<T[]> {
  const out: T[] = [];
  let it: string | null = null;
  for (let i = 0; i < 100; i++) {
    const p = await fetch(it);
    out.push(...p.data);
    if (p.done) return out;
    it = p.iterator;
  }
  throw new Error('pagination did not finish');
}

eachStore('store: retention', (t, kind) => {
  it('clears expired payloads but keeps the message; a delivery still retrying keeps its payload until it ends', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const ep = await store.createEndpoint(endpoint(a.id));
    const done = (await store.createMessage(message(a.id, { createdAt: T0, expiresAt: T0 + 30 * DAY }), {})).message;
    const retrying = (await store.createMessage(message(a.id, { createdAt: T0 + 1, expiresAt: T0 + 30 * DAY }), {})).message;
    const fresh = (await store.createMessage(message(a.id, { createdAt: T0 + 2, expiresAt: T0 + 150 * DAY }), {})).message;
    await deliverDue(store, T0 + 10, (id) => (id === retrying.id ? { ok: false, retryAt: T0 + 120 * DAY } : { ok: true }));

    // At the expiry instant itself the payload goes (expires_at <= now); not a millisecond before.
    expect(await store.purgeBatch('payloads', T0 + 30 * DAY - 1, 100)).toEqual({ purged: 0, busy: false });
    expect(await store.purgeBatch('payloads', T0 + 30 * DAY, 100)).toEqual({ purged: 1, busy: false });
    expect((await store.getMessage(a.id, done.id))!.payload).toBeNull();
    expect((await store.getMessage(a.id, retrying.id))!.payload).toBe('{"a":1}');
    expect((await store.getMessage(a.id, fresh.id))!.payload).toBe('{"a":1}');
    // The message itself is still listed, by the application and by the endpoint.
    expect((await store.listMessages(a.id, page())).data.map((m) => m.id).sort()).toEqual([done.id, retrying.id, fresh.id].sort());
    expect((await store.listEndpointMessages(a.id, ep.id, page())).data).toHaveLength(3);

    // A delivery in flight (claimed, not yet completed) also keeps its payload.
    const [c] = await store.claimDueTasks('w', T0 + 120 * DAY, LEASE, 10);
    expect(c!.msgId).toBe(retrying.id);
    expect((await store.purgeBatch('payloads', T0 + 120 * DAY, 100)).purged).toBe(0);
    await store.completeAttempt(
      c!,
      { attempt: attemptFor(c!, T0 + 120 * DAY, true), task: { status: MessageStatus.success, nextAttemptAt: null } },
      T0 + 120 * DAY,
    );
    // Once it has ended, the payload past its retention goes too; the later one stays until its own.
    expect((await store.purgeBatch('payloads', T0 + 120 * DAY, 100)).purged).toBe(1);
    expect((await store.getMessage(a.id, retrying.id))!.payload).toBeNull();
    expect((await store.getMessage(a.id, fresh.id))!.payload).toBe('{"a":1}');
    expect((await store.purgeBatch('payloads', T0 + 150 * DAY, 100)).purged).toBe(1);
    expect((await store.getMessage(a.id, fresh.id))!.payload).toBeNull();
  });

  it('deletes attempts created before the cutoff, except those of a message whose delivery is still retrying', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const ep = await store.createEndpoint(endpoint(a.id));
    const old = (await store.createMessage(message(a.id, { createdAt: T0 }), {})).message;
    const retrying = (await store.createMessage(message(a.id, { createdAt: T0 + 1 }), {})).message;
    await deliverDue(store, T0 + 10, (id) => (id === retrying.id ? { ok: false, retryAt: T0 + 200 * DAY } : { ok: true }));
    const recent = (await store.createMessage(message(a.id, { createdAt: T0 + 50 * DAY }), {})).message;
    await deliverDue(store, T0 + 50 * DAY + 10, () => ({ ok: true }));

    const cutoff = T0 + 40 * DAY;
    expect(await store.purgeBatch('attempts', cutoff, 100)).toEqual({ purged: 1, busy: false });
    expect((await store.listAttemptsByMessage(a.id, old.id, page())).data).toHaveLength(0);
    expect((await store.listAttemptsByMessage(a.id, retrying.id, page())).data).toHaveLength(1);
    expect((await store.listAttemptsByMessage(a.id, recent.id, page())).data).toHaveLength(1);
    // The delivery state is not an attempt: the message still shows as delivered to the endpoint.
    const list = (await store.listEndpointMessages(a.id, ep.id, page())).data;
    expect(list.find((d) => d.message.id === old.id)!.task).toMatchObject({ status: MessageStatus.success, attemptCount: 1 });

    // When the retry ends, the old attempt of that delivery is no longer protected; the new one is young.
    await deliverDue(store, T0 + 200 * DAY, () => ({ ok: true }));
    expect((await store.purgeBatch('attempts', cutoff, 100)).purged).toBe(1);
    const left = (await store.listAttemptsByMessage(a.id, retrying.id, page())).data;
    expect(left.map((x) => x.createdAt)).toEqual([T0 + 200 * DAY]);
    expect((await store.listAttemptsByEndpoint(a.id, ep.id, page())).data).toHaveLength(2);
  });

  it('works in batches of the size asked for, oldest first', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    await store.createEndpoint(endpoint(a.id));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await store.createMessage(message(a.id, { createdAt: T0 + i, expiresAt: T0 + DAY + i }), {})).message.id);
    await deliverDue(store, T0 + 10, () => ({ ok: true }));
    // Oldest expiry first.
    expect((await store.purgeBatch('payloads', T0 + 2 * DAY, 1)).purged).toBe(1);
    const msgs = await Promise.all(ids.map((id) => store.getMessage(a.id, id)));
    expect(msgs.map((m) => m!.payload === null)).toEqual([true, false, false, false, false]);
    const sizes: number[] = [];
    for (;;) {
      const r = await store.purgeBatch('payloads', T0 + 2 * DAY, 2);
      sizes.push(r.purged);
      if (r.purged < 2) break;
    }
    expect(sizes).toEqual([2, 2, 0]);
    expect((await store.purgeBatch('attempts', T0 + DAY, 3)).purged).toBe(3);
    expect((await store.purgeBatch('attempts', T0 + DAY, 3)).purged).toBe(2);
    expect((await store.purgeBatch('attempts', T0 + DAY, 3)).purged).toBe(0);
  });

  it('deletes stored idempotent answers older than the cutoff', async () => {
    const { store } = t();
    await store.putIdempotentResponse('a2V5LW9sZC0xMjM0NTY3ODkw', { status: 200, body: '{"old":1}', createdAt: T0 });
    await store.putIdempotentResponse('a2V5LW5ldy0xMjM0NTY3ODkw', { status: 200, body: '{"new":1}', createdAt: T0 + DAY });
    expect((await store.purgeBatch('idempotency', T0 + DAY, 100)).purged).toBe(1);
    expect(await store.getIdempotentResponse('a2V5LW9sZC0xMjM0NTY3ODkw', 0)).toBeNull();
    expect(await store.getIdempotentResponse('a2V5LW5ldy0xMjM0NTY3ODkw', 0)).toMatchObject({ body: '{"new":1}' });
  });

  it('list endpoints page correctly after a purge, including from an iterator whose row was deleted', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const ep = await store.createEndpoint(endpoint(a.id));
    // 12 messages a day apart, each delivered once on the day it was sent.
    const msgIds: string[] = [];
    for (let d = 0; d < 12; d++) {
      msgIds.push((await store.createMessage(message(a.id, { createdAt: T0 + d * DAY, expiresAt: T0 + d * DAY + 5 * DAY }), {})).message.id);
      await deliverDue(store, T0 + d * DAY + 1, () => ({ ok: true }));
    }
    // An iterator taken before the purge, pointing at an attempt the purge will delete.
    const before = await store.listAttemptsByEndpoint(a.id, ep.id, page({ limit: 4, order: 'ascending' }));
    const staleIterator = before.iterator!;

    const purger = new Purger({ store, now: () => T0 + 14 * DAY, attemptRetentionMs: 8 * DAY, batchSize: 2, intervalMs: 60_000, minPauseMs: 0 });
    // Payloads expired for days 0-9 (expiry day+5 <= 14), attempts of days 0-5 (< day 6).
    expect(await purger.runPass()).toEqual({ payloads: 10, attempts: 6, idempotency: 0, busy: false });

    const attempts = await allPages((it) => store.listAttemptsByEndpoint(a.id, ep.id, { ...page({ limit: 4 }), after: it }));
    expect(attempts.map((x) => x.msgId)).toEqual(msgIds.slice(6).reverse());
    const asc = await allPages((it) => store.listAttemptsByEndpoint(a.id, ep.id, { ...page({ limit: 5, order: 'ascending' }), after: it }));
    expect(asc.map((x) => x.msgId)).toEqual(msgIds.slice(6));
    // The old iterator still continues from where it pointed: everything after it that is left.
    const cont = await store.listAttemptsByEndpoint(a.id, ep.id, { ...page({ limit: 50, order: 'ascending' }), after: staleIterator });
    expect(cont.data.map((x) => x.msgId)).toEqual(msgIds.slice(6));
    // Backwards from the first surviving attempt: nothing before it any more.
    const back = await store.listAttemptsByEndpoint(a.id, ep.id, { ...page({ limit: 3, order: 'ascending' }), before: asc[0]!.id });
    expect(back.data).toEqual([]);

    // Messages are all still listed, purged payloads included, page by page.
    const msgs = await allPages((it) => store.listMessages(a.id, { ...page({ limit: 5 }), after: it }));
    expect(msgs.map((m) => m.id)).toEqual([...msgIds].reverse());
    expect(msgs.filter((m) => m.payload === null)).toHaveLength(10);
    const delivered = await allPages((it) => store.listEndpointMessages(a.id, ep.id, { ...page({ limit: 5 }), after: it }));
    expect(delivered).toHaveLength(12);
    // A second pass finds nothing more to do.
    expect(await purger.runPass()).toEqual({ payloads: 0, attempts: 0, idempotency: 0, busy: false });
  });

  if (kind === 'sqlite') {
    it('the pending check is a primary-key look-up of the task, even with statistics from empty tables', async () => {
      const db = (t().store as SqliteStore).db;
      // ANALYZE on empty tables is the case where the planner prefers the partial due index,
      // which would scan every pending task for every candidate row.
      db.exec('ANALYZE');
      for (const [kind, sql] of Object.entries(SQLITE_PURGE_SQL)) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(kind === 'attempts' ? ['a', 1, 1] : [1, 1])) as { detail: string }[]).map(
          (r) => r.detail,
        );
        if (kind !== 'idempotency')
          expect(
            plan.filter((d) => d.includes(' t ')),
            kind,
          ).toEqual(['SEARCH t USING PRIMARY KEY (msg_id=?)']);
        // Every candidate scan is an index range bounded by the cutoff, never a full scan.
        expect(
          plan.filter((d) => d.startsWith('SCAN')),
          kind,
        ).toEqual([]);
      }
    });
  }

  if (kind === 'postgres') {
    it('while another process holds the purge, a batch reports busy and touches nothing', async () => {
      const { store, sibling } = t();
      const other = (await sibling()) as import('../../src/store/postgres/pg-store.js').PgStore;
      const a = await store.createApplication(app());
      await store.createEndpoint(endpoint(a.id));
      await store.createMessage(message(a.id, { createdAt: T0, expiresAt: T0 + DAY }), {});
      await deliverDue(store, T0 + 1, () => ({ ok: true }));
      // Hold the purge lock in another session, as a purging process does for the length of a batch.
      const c = await other.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(`SELECT pg_advisory_xact_lock(${0x6865_7261_6c64_3a70n}::bigint)` /* 'herald:p', the store's purge lock */);
        expect(await store.purgeBatch('payloads', T0 + 2 * DAY, 100)).toEqual({ purged: 0, busy: true });
        // A background pass leaves the work to the holder.
        const bg = new Purger({ store, now: () => T0 + 2 * DAY, attemptRetentionMs: null, batchSize: 10, intervalMs: 60_000 });
        expect(await bg.runPass('background')).toEqual({ payloads: 0, attempts: 0, idempotency: 0, busy: true });
      } finally {
        await c.query('ROLLBACK');
        c.release();
      }
      expect(await store.purgeBatch('payloads', T0 + 2 * DAY, 100)).toEqual({ purged: 1, busy: false });
    });

    it('purgers in several processes at once each finish, and together purge every row exactly once', async () => {
      const { store, sibling } = t();
      const stores = [store, await sibling(), await sibling()];
      const a = await store.createApplication(app());
      await store.createEndpoint(endpoint(a.id));
      for (let i = 0; i < 60; i++) await store.createMessage(message(a.id, { createdAt: T0 + i, expiresAt: T0 + DAY }), {});
      await deliverDue(store, T0 + 100, () => ({ ok: true }));
      const purgers = stores.map(
        (s) => new Purger({ store: s, now: () => T0 + 2 * DAY, attemptRetentionMs: DAY, batchSize: 5, intervalMs: 60_000, minPauseMs: 0 }),
      );
      // Manual passes: each one waits for gaps in the others' batches and runs to the end.
      const results = await Promise.all(purgers.map((p) => p.runPass()));
      expect(results.reduce((n, r) => n + r.payloads, 0)).toBe(60);
      expect(results.reduce((n, r) => n + r.attempts, 0)).toBe(60);
      const left = await t().raw('SELECT COUNT(*) AS n FROM message WHERE payload IS NOT NULL');
      expect(Number(left[0]!.n)).toBe(0);
      expect(Number((await t().raw('SELECT COUNT(*) AS n FROM attempt'))[0]!.n)).toBe(0);
    });
  }
});
