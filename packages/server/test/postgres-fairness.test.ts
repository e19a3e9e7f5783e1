// Fair shares across real processes on one PostgreSQL database: `herald serve --no-dispatch`
// accepts, two `herald worker`s deliver. Tenant A has 50,000 due deliveries to an endpoint that
// answers in 50 ms, enough to keep every place of both workers busy (each worker's places are its
// endpoint concurrency, and here that is all of its dispatch concurrency); tenant B then sends 100
// messages to a fast endpoint. All of B's arrive while A still has more than 40,000 waiting: a
// marker read from the database when B's last one arrived, not a stopwatch. With the claim that
// took the oldest due tasks first, B's deliveries waited behind the whole backlog.
//
// A's backlog is seeded by SQL (one message accepted through the API, copied 49,999 times with its
// delivery task), since accepting 50,000 messages through the API would take most of the test.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_fairness_test_token_0123456789abcdef';
const BACKLOG = 50_000;
const B_MESSAGES = 100;

describe("PostgreSQL: one tenant's backlog does not delay another's deliveries, across two workers", () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-fairness-',
    env: { HERALD_POLL_INTERVAL: '100ms', HERALD_DISPATCH_CONCURRENCY: '20', HERALD_ENDPOINT_CONCURRENCY: '20' },
    routes: { '/slow': { status: 200, delayMs: 50 }, '/fast': { status: 200 } },
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it("all of B's 100 arrive while A still has more than 40,000 of its 50,000 due", { timeout: 120_000 }, async () => {
    const rx = fixture.rx();
    const db = fixture.db();
    api = await serve(env(), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const a = await must('POST', '/api/v1/app', 201, { name: 'tenant-a' });
    const b = await must('POST', '/api/v1/app', 201, { name: 'tenant-b' });
    await must('POST', `/api/v1/app/${a.id}/endpoint`, 201, { url: rx.url('/slow') });
    await must('POST', `/api/v1/app/${b.id}/endpoint`, 201, { url: rx.url('/fast') });
    const first = await must('POST', `/api/v1/app/${a.id}/msg`, 202, { eventType: 'a.backlog', payload: { n: 0 } });

    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      // Copies of A's one message and its task, under new ids, all due now.
      const copy = (table: string, key: string) =>
        sql.query(
          `INSERT INTO ${table} SELECT (jsonb_populate_record(NULL::${table}, to_jsonb(t) || jsonb_build_object('${key}', t.${key} || '_' || lpad(g::text, 5, '0')))).*
           FROM ${table} t, generate_series(1, $2::int) g WHERE t.${key} = $1`,
          [first.id, BACKLOG - 1],
        );
      await copy('message', 'id');
      await copy('delivery_task', 'msg_id');
      const waitingOfA = async () =>
        (await sql.query('SELECT count(*)::int AS n FROM delivery_task WHERE app_id = $1 AND next_attempt_at IS NOT NULL', [a.id])).rows[0].n as number;
      expect(await waitingOfA()).toBe(BACKLOG);

      for (let i = 0; i < 2; i++) {
        const w = spawnCli(['worker', '--no-migrate'], env());
        workers.push(w);
        await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
      }
      // A's backlog is being worked on by both workers before B sends anything.
      await rx.waitForCount(200, { path: '/slow', timeoutMs: 30_000 });

      for (let i = 0; i < B_MESSAGES; i += 10) {
        await Promise.all(Array.from({ length: 10 }, (_, j) => must('POST', `/api/v1/app/${b.id}/msg`, 202, { eventType: 'b.fresh', payload: { n: i + j } })));
      }
      await rx.waitForCount(B_MESSAGES, { path: '/fast', timeoutMs: 60_000 });
      const left = await waitingOfA();
      expect(left).toBeGreaterThan(40_000);
      // Every one of B's messages arrived once, and A's deliveries went on meanwhile.
      expect(new Set(rx.received('/fast').map((r) => r.headers['svix-id'])).size).toBe(B_MESSAGES);
      expect(left).toBeLessThan(BACKLOG - 200);
    } finally {
      await sql.end();
    }
    for (const w of workers) w.kill('SIGTERM');
    expect((await Promise.all(workers.map((w) => w.exited))).map((e) => e.code)).toEqual([0, 0]);
  });
});
