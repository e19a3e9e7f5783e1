// SIGKILL of a worker process on PostgreSQL loses nothing: two `herald worker`s deliver a backlog
// to a slow endpoint; one is killed with SIGKILL while it holds leases on attempts in flight. Its
// leases lapse and the other worker delivers those messages, so every accepted message arrives;
// the only repeats are deliveries the killed worker had sent but not yet recorded.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';
import { until } from './helpers/wait.js';

const TOKEN = 'pg_worker_kill_test_token_0123456789abcdef';
const N = 200;

describe('PostgreSQL: SIGKILL of a worker process mid-delivery', () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-worker-kill-',
    env: {
      HERALD_POLL_INTERVAL: '100ms',
      HERALD_LEASE: '2s',
      HERALD_DELIVERY_TIMEOUT: '1s',
      // Few attempts in flight per worker, so the backlog takes a while and the kill lands mid-run.
      HERALD_ENDPOINT_CONCURRENCY: '4',
    },
    routes: { '/w': { status: 200, delayMs: 50 } },
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it('the surviving worker delivers what the killed one held', { timeout: 90_000 }, async () => {
    const rx = fixture.rx();
    const db = fixture.db();
    api = await serve(env(), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'wkill', uid: 'wkill' });
    await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/w') });
    const accepted: string[] = [];
    for (let i = 0; i < N; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, j) => must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'w', payload: { n: i + j } })),
      );
      accepted.push(...batch.map((m) => m.id as string));
    }
    for (let i = 0; i < 2; i++) {
      const w = spawnCli(['worker', '--no-migrate'], env());
      workers.push(w);
      await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
    }
    const [victim, survivor] = workers as [CliProcess, CliProcess];
    await rx.waitForCount(30, { path: '/w', timeoutMs: 20_000 });
    // The victim holds leases right now (attempts in flight): kill it then.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    let held = 0;
    try {
      const owner = /worker (disp_[0-9a-f]+)/.exec(victim.stdout())![1];
      held = await until(
        'the victim to hold leases',
        async () => (await admin.query('SELECT count(*)::int AS n FROM delivery_task WHERE lease_owner = $1 AND status = 3', [owner])).rows[0].n as number,
        10_000,
        0,
      );
      victim.kill('SIGKILL');
      await victim.exited;
    } finally {
      await admin.end();
    }
    expect(held).toBeGreaterThan(0);

    const missing = () => {
      const got = new Set(rx.received('/w').map((r) => String(r.headers['svix-id'])));
      return accepted.filter((id) => !got.has(id));
    };
    // On a timeout the assertion below names what is missing.
    await until('every accepted message to arrive', () => missing().length === 0, 60_000, 50).catch(() => undefined);
    expect(missing()).toEqual([]);
    expect(survivor.child.exitCode).toBeNull();
    const repeats = rx.received('/w').length - N;
    // Repeats only for what the victim had in flight (4 per endpoint at most, plus ones it had
    // just sent), never the whole backlog.
    expect(repeats).toBeLessThanOrEqual(8);
    console.log(`worker SIGKILL: ${N} accepted, victim held ${held} leases at the kill, all delivered, ${repeats} repeats`);
  });
});
