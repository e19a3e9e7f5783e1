// What only PostgreSQL has to prove: several stores (as several processes would have: separate
// pools, separate connections) claiming from one database never claim a task twice; migrations
// are safe when processes start at once; a schema newer than the code refuses to start.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exhausted } from '../../src/domain/outcome.js';
import { MessageStatus } from '../../src/domain/types.js';
import { loadMigrations, SchemaTooNewError } from '../../src/store/migrate.js';
import { migratePostgres } from '../../src/store/postgres/pg-migrate.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { Sealer } from '../../src/security/sealer.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { app, attemptFor, endpoint, LEASE, message, T0 } from './records.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** A store of its own (`poolSize` connections) with one application, `endpoints` endpoints and `messages` messages to them, created T0, T0 + 1, … */
async function seededStore(poolSize: number, endpoints: number, messages: number) {
  const store = await PgStore.open({ url: db.url, sealer: new Sealer(randomBytes(32)), poolSize });
  const a = await store.createApplication(app());
  for (let i = 0; i < endpoints; i++) await store.createEndpoint(endpoint(a.id));
  for (let i = 0; i < messages; i++) await store.createMessage(message(a.id, { createdAt: T0 + i }), {});
  return { store, appId: a.id };
}

describe('PostgreSQL store: several processes on one database', () => {
  it('concurrent claimers take disjoint tasks, and together take all of them', async () => {
    const key = randomBytes(32);
    const stores = await Promise.all([1, 2, 3, 4].map(() => PgStore.open({ url: db.url, sealer: new Sealer(key), poolSize: 4 })));
    try {
      const [s] = stores;
      const a = await s!.createApplication(app());
      await s!.createEndpoint(endpoint(a.id));
      await s!.createEndpoint(endpoint(a.id));
      const N = 300;
      for (let i = 0; i < N; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => s!.createMessage(message(a.id, { createdAt: T0 + i + j }), {})));
      }
      // Each store runs several claim loops at once, as a dispatcher's pollers would.
      const seen = new Map<string, number>();
      await Promise.all(
        stores.flatMap((st, w) =>
          [0, 1, 2].map(async () => {
            for (;;) {
              const got = await st.claimDueTasks(`w${w}`, T0 + 10_000, LEASE, 7);
              if (got.length === 0) return;
              for (const c of got) {
                const k = `${c.msgId}/${c.endpointId}`;
                seen.set(k, (seen.get(k) ?? 0) + 1);
              }
              await Promise.all(
                got.map((c) =>
                  st.completeAttempt(
                    c,
                    { attempt: attemptFor(c, T0 + 10_001, true), task: { status: MessageStatus.success, nextAttemptAt: null } },
                    T0 + 10_001,
                  ),
                ),
              );
            }
          }),
        ),
      );
      expect(seen.size).toBe(2 * N);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(await s!.queueStats(T0 + 20_000)).toEqual({ waiting: 0, due: 0, oldestDueAgeMs: 0 });
    } finally {
      for (const st of stores) await st.close();
    }
  });
});

describe('PostgreSQL store: writes that lock rows in opposite orders', () => {
  it('completions (task, then endpoint) racing endpoint deletes (endpoint, then tasks) on two stores all succeed and all log their attempt', async () => {
    const key = randomBytes(32);
    const [s1, s2] = await Promise.all([1, 2].map(() => PgStore.open({ url: db.url, sealer: new Sealer(key), poolSize: 8 })));
    try {
      const a = await s1!.createApplication(app());
      const eps = await Promise.all(Array.from({ length: 8 }, () => s1!.createEndpoint(endpoint(a.id))));
      for (let i = 0; i < 10; i++) await s1!.createMessage(message(a.id, { createdAt: T0 + i }), {});
      const claimed = await s1!.claimDueTasks('w', T0 + 100, LEASE, 1000);
      expect(claimed).toHaveLength(80);
      // One exhausted delivery per endpoint starts a failure streak, so a later success must
      // write the endpoint row too (clearing it): task row first, endpoint row second.
      const first = new Map(claimed.map((c) => [c.endpointId, c]));
      for (const c of first.values()) {
        await s1!.completeAttempt(
          c,
          { attempt: attemptFor(c, T0 + 101, false), task: { status: MessageStatus.fail, nextAttemptAt: null }, endpoint: exhausted(T0 + 101, 5 * 864e5) },
          T0 + 101,
        );
      }
      const rest = claimed.filter((c) => first.get(c.endpointId) !== c);
      const ops: Promise<unknown>[] = rest.map((c, i) =>
        (i % 2 ? s1! : s2!).completeAttempt(
          c,
          { attempt: attemptFor(c, T0 + 102, true), task: { status: MessageStatus.success, nextAttemptAt: null }, endpoint: { kind: 'success' } },
          T0 + 102,
        ),
      );
      ops.push(...eps.map((e, i) => (i % 2 ? s2! : s1!).deleteEndpoint(a.id, e.id, T0 + 103)));
      const results = await Promise.allSettled(ops);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const { rows } = await s1!.pool.query('SELECT COUNT(*) AS n FROM attempt WHERE app_id = $1', [a.id]);
      expect(rows[0].n).toBe(80);
    } finally {
      await s1!.close();
      await s2!.close();
    }
  });
});

describe('PostgreSQL migrations', () => {
  it('processes migrating one fresh database at once apply each migration exactly once', async () => {
    const fresh = await createTestDatabase();
    const pools = [1, 2, 3, 4].map(() => new pg.Pool({ connectionString: fresh.url, max: 1 }));
    try {
      const applied = await Promise.all(pools.map((p) => migratePostgres(p)));
      const latest = loadMigrations('postgres').map((m) => m.version);
      expect(applied.flat().sort((a, b) => a - b)).toEqual(latest);
      expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
      const { rows } = await pools[0]!.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(latest);
      // Again: nothing to do.
      expect(await migratePostgres(pools[0]!)).toEqual([]);
    } finally {
      for (const p of pools) await p.end();
      await fresh.drop();
    }
  });

  it('refuses a schema newer than the code, and a pending migration when told not to migrate', async () => {
    const fresh = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: fresh.url, max: 1 });
    const sealer = new Sealer(randomBytes(32));
    try {
      await expect(PgStore.open({ url: fresh.url, sealer, migrate: false })).rejects.toThrow(/needs migrations 1.*herald migrate/);
      const s = await PgStore.open({ url: fresh.url, sealer });
      await s.close();
      await pool.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from_the_future', 0)");
      await expect(PgStore.open({ url: fresh.url, sealer })).rejects.toBeInstanceOf(SchemaTooNewError);
      await expect(PgStore.open({ url: fresh.url, sealer, migrate: false })).rejects.toThrow(/version 999/);
    } finally {
      await pool.end();
      await fresh.drop();
    }
  });
});

describe('PostgreSQL store: a claim read and completed in few statements', () => {
  // Its own database: claims take due tasks from every application.
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('loadDeliveries reads a claim of 200 deliveries over 4 endpoints in 2 statements', async () => {
    const { store } = await seededStore(4, 4, 50);
    try {
      const claimed = await store.claimDueTasks('w', T0 + 100, LEASE, 1000);
      expect(claimed).toHaveLength(200);
      const query = store.pool.query.bind(store.pool);
      let statements = 0;
      (store.pool as { query: unknown }).query = (...args: Parameters<typeof query>) => {
        statements++;
        return query(...args);
      };
      const loaded = await store.loadDeliveries(claimed);
      expect(statements).toBe(2);
      expect(loaded.every((l, i) => l.endpoint?.id === claimed[i]!.endpointId && l.message?.id === claimed[i]!.msgId)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('its prepared statements keep working after a migration adds columns under the running process', async () => {
    // One connection, so the second round surely runs the statements prepared in the first.
    const store = await PgStore.open({ url: db.url, sealer: new Sealer(randomBytes(32)), poolSize: 1 });
    try {
      const a = await store.createApplication(app());
      await store.createEndpoint(endpoint(a.id));
      const round = async (at: number) => {
        await store.createMessage(message(a.id, { createdAt: at }), {});
        const claimed = (await store.claimDueTasks('w', at, LEASE, 1000)).filter((c) => c.appId === a.id);
        expect(claimed).toHaveLength(1);
        const [ctx] = await store.loadDeliveries(claimed);
        expect(ctx!.message!.payload).toBe('{"a":1}');
        const done = await store.completeAttempt(
          claimed[0]!,
          { attempt: attemptFor(claimed[0]!, at + 1, true), task: { status: MessageStatus.success, nextAttemptAt: null } },
          at + 1,
        );
        expect(done.fenced).toBe(true);
      };
      await round(T0 + 10_000);
      for (const t of ['message', 'endpoint', 'application', 'delivery_task', 'attempt']) {
        await store.pool.query(`ALTER TABLE ${t} ADD COLUMN added_later_${t} TEXT`);
      }
      await round(T0 + 20_000);
    } finally {
      await store.close();
    }
  });

  it('completions that arrive together share statements, and one that cannot be written fails alone', async () => {
    const { store, appId } = await seededStore(4, 1, 100);
    try {
      const claimed = await store.claimDueTasks('w', T0 + 100, LEASE, 1000);
      expect(claimed).toHaveLength(100);
      // Attempt ids are unique: the last completion reuses the first one's id and cannot be written.
      const attempts = claimed.map((c) => attemptFor(c, T0 + 101, true));
      attempts[99] = { ...attempts[99]!, id: attempts[0]!.id };
      const results = await Promise.allSettled(
        claimed.map((c, i) => store.completeAttempt(c, { attempt: attempts[i]!, task: { status: MessageStatus.success, nextAttemptAt: null } }, T0 + 101)),
      );
      expect(results.slice(0, 99).every((r) => r.status === 'fulfilled' && r.value.fenced)).toBe(true);
      expect(results[99]!.status).toBe('rejected');
      // The batch failed as a whole and its completions were then written one by one.
      expect(store.completionStats).toEqual({ batches: 0, completions: 0 });
      const { rows } = await store.pool.query('SELECT COUNT(*) AS n FROM attempt WHERE app_id = $1', [appId]);
      expect(rows[0].n).toBe(99);
      // The failed one is still leased: it comes back when the lease runs out.
      const back = (await store.claimDueTasks('w2', T0 + 101 + LEASE, LEASE, 1000)).filter((c) => c.appId === appId);
      expect(back.map((c) => c.msgId)).toEqual([claimed[99]!.msgId]);

      const more = await Promise.all(Array.from({ length: 50 }, (_, i) => store.createMessage(message(appId, { createdAt: T0 + 200 + i }), {})));
      expect(more).toHaveLength(50);
      const next = (await store.claimDueTasks('w', T0 + 300 + LEASE, LEASE, 1000)).filter((c) => c.appId === appId);
      expect(next).toHaveLength(50);
      const done = await Promise.all(
        next.map((c) =>
          store.completeAttempt(
            c,
            { attempt: attemptFor(c, T0 + 301 + LEASE, true), task: { status: MessageStatus.success, nextAttemptAt: null } },
            T0 + 301 + LEASE,
          ),
        ),
      );
      expect(done.every((d) => d.fenced)).toBe(true);
      expect(store.completionStats.completions).toBe(50);
      expect(store.completionStats.batches).toBeLessThanOrEqual(2);
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL store: the claim statement', () => {
  it('keeps reading indexes from a plan cached while delivery_task was small, and commits without waiting for the flush', async () => {
    const { store } = await seededStore(2, 1, 5);
    try {
      // Prepared on the claim's connection while the table holds a handful of rows.
      expect(await store.claimDueTasks('w', T0 + 10, LEASE, 2)).toHaveLength(2);
      // The plan that connection would cache for every later claim (a pool of one: the same
      // session). Planned for a table this small, sequential scans would win; they would read the
      // whole table in every claim once a backlog arrived.
      await store.claimPool.query('SET plan_cache_mode = force_generic_plan');
      const plan = (
        await store.claimPool.query(`EXPLAIN (COSTS OFF) EXECUTE herald_claim('w', ${T0 + LEASE}, 3, ${T0 + 10}, 10, '{}', '{}', 64, '', '', 128)`)
      ).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      expect(plan).toMatch(/Index (Only )?Scan/);
      expect(plan).not.toMatch(/Seq Scan on delivery_task/);
      // And its commits do not wait for the WAL flush: a lost claim is only claimed again.
      expect((await store.claimPool.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('off');
    } finally {
      await store.close();
    }
  });
});
