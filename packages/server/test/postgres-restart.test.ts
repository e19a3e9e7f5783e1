// A PostgreSQL restart in the middle of a delivery run: one `herald serve --no-dispatch` and two
// `herald worker`s on a private cluster (the shared server on 5432 is never restarted), messages
// being accepted and delivered, then `pg_ctl restart -m fast` cuts every connection. Afterwards
// every message that got a 202 (before, during or after the restart) reaches every endpoint, no
// delivery stays pending or leased, every process is still running, and the workers' LISTEN
// connections came back.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { call, expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';
import { postgresBinDir, startPrivateCluster } from './helpers/private-pg.js';
import { until } from './helpers/wait.js';

const TOKEN = 'pg_restart_test_token_0123456789abcdef';
const BEFORE = 150;
const AFTER = 100;
const PATHS = ['/fast', '/slow'];

const bin = postgresBinDir();
if (!bin) console.warn('postgres-restart.test: SKIPPED, no initdb under /usr/lib/postgresql to start a private cluster');

describe.skipIf(!bin)('PostgreSQL restarted in the middle of a delivery run', () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-restart-',
    env: {
      HERALD_POLL_INTERVAL: '200ms',
      // Attempts cut off by the restart are repeated once their lease lapses: keep it short.
      HERALD_LEASE: '2s',
      HERALD_DELIVERY_TIMEOUT: '1s',
      HERALD_RETRY_SCHEDULE: '100ms,200ms,500ms,1s,1s,1s,1s,1s',
    },
    routes: { '/fast': { status: 200 }, '/slow': { status: 200, delayMs: 150 } },
    database: async () => {
      const cluster = await startPrivateCluster();
      return { ...cluster, drop: () => cluster.stop() };
    },
    setupTimeoutMs: 60_000,
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it('loses nothing, wedges nothing, and every process carries on', { timeout: 120_000 }, async () => {
    const rx = fixture.rx();
    const cluster = fixture.db();
    api = await serve(env(), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'restart', uid: 'restart' });
    for (const p of PATHS) await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url(p) });
    for (let i = 0; i < 2; i++) {
      const w = spawnCli(['worker', '--no-migrate'], env());
      workers.push(w);
      await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
    }

    const accepted: string[] = [];
    let failedPosts = 0;
    /** Post until a 202 (the API answers 5xx, or the connection fails, while the database is down). */
    const send = async (n: number) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const r = await call(api!.url, TOKEN, 'POST', `/api/v1/app/${app.id}/msg`, { eventType: 'restart.test', payload: { n } });
          if (r.status === 202) {
            accepted.push(r.json.id);
            return;
          }
        } catch {
          // connection trouble: try again
        }
        failedPosts++;
        if (Date.now() > deadline) throw new Error(`message ${n} was never accepted`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    for (let i = 0; i < BEFORE; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => send(i + j)));
    // Mid-run: deliveries under way (the slow endpoint always has attempts in flight), and more
    // messages arriving throughout the restart.
    await rx.waitForCount(20, { path: '/slow', timeoutMs: 20_000 });

    // Keep accepting while the server restarts.
    const during = (async () => {
      for (let i = BEFORE; i < BEFORE + AFTER; i += 5) await Promise.all(Array.from({ length: 5 }, (_, j) => send(i + j)));
    })();
    await cluster.restart();
    await during;

    // Every accepted message reaches both endpoints (at least once), and nothing stays queued.
    const missing = () =>
      PATHS.flatMap((p) => {
        const got = new Set(rx.received(p).map((r) => String(r.headers['svix-id'])));
        return accepted.filter((id) => !got.has(id)).map((id) => `${p} ${id}`);
      });
    // On a timeout the assertion below names what is missing.
    await until('every accepted message at both endpoints', () => missing().length === 0, 60_000, 100).catch(() => undefined);
    expect(missing()).toEqual([]);
    expect(accepted).toHaveLength(BEFORE + AFTER);

    const db = new pg.Client({ connectionString: cluster.url });
    await db.connect();
    try {
      await until(
        'nothing to stay queued',
        async () => (await db.query('SELECT count(*)::int AS n FROM delivery_task WHERE next_attempt_at IS NOT NULL')).rows[0].n === 0,
        60_000,
        100,
      );
      // Every accepted message's deliveries ended in success.
      const ok = (await db.query('SELECT count(*)::int AS n FROM delivery_task WHERE status = 0 AND msg_id = ANY($1::text[])', [accepted])).rows[0].n;
      expect(ok).toBe(accepted.length * PATHS.length);
    } finally {
      await db.end();
    }

    // Still running, and woken by NOTIFY again: one more message, delivered.
    const last = await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'restart.test', payload: { last: true } });
    await rx.waitForCount(1, { path: '/fast', where: (r) => r.headers['svix-id'] === last.id, timeoutMs: 10_000 });
    for (const w of workers) {
      expect(w.stdout() + w.stderr()).toMatch(/listener connection re-established/);
    }
    for (const p of [api, ...workers]) expect(p.child.exitCode).toBeNull();
    console.log(`restart: ${accepted.length} accepted (${failedPosts} posts refused or cut while the server was down), all delivered`);
  });
});
