// Herald's process roles on one PostgreSQL database, as real child processes: one
// `herald serve --no-dispatch` accepts, two `herald worker`s deliver. Every message arrives once
// (the workers claim with FOR UPDATE SKIP LOCKED under leases, so they never take the same task),
// and the API process sees the workers' results.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { until } from './delivery/harness.js';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_proc_test_token_0123456789abcdef';
const MESSAGES = 150;

describe('herald serve --no-dispatch and two herald workers on one PostgreSQL database', () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-roles-',
    env: { HERALD_POLL_INTERVAL: '50ms' },
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it('every accepted message is delivered exactly once, and the API process sees it delivered', async () => {
    const rx = fixture.rx();
    // The API process migrates the database; the workers find it migrated.
    api = await serve(env(), ['--no-dispatch']);
    // The store line is a later write than the listening line, so it may arrive in a later chunk.
    await api.waitFor('the store line', () => /^Store: /m.test(api!.stdout()));
    expect(api.stdout()).toMatch(/Store: PostgreSQL at 127\.0\.0\.1:5432\/herald_test_/);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'pg-roles', uid: 'pg-roles' });
    rx.on('/pg', { status: 200 });
    await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/pg') });

    for (let i = 0; i < 2; i++) {
      const w = spawnCli(['worker', '--no-migrate'], env());
      workers.push(w);
      await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
    }
    const sent: string[] = [];
    for (let i = 0; i < MESSAGES; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, j) => must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'pg.test', payload: { n: i + j } })),
      );
      sent.push(...batch.map((m) => m.id as string));
    }
    await rx.waitForCount(MESSAGES, { path: '/pg', timeoutMs: 20_000 });
    // Once every delivery is finished (nothing due, nothing leased) no worker can send again: a
    // second send needs a second claim, and a finished task is never claimed (a lapsed lease would
    // take 60 s). Each attempt is recorded, even one whose lease was lost, so one attempt row per
    // message and one request per message mean exactly once.
    const admin = new pg.Client({ connectionString: fixture.db().url });
    await admin.connect();
    try {
      await until('every delivery to be finished', async () => {
        const r = await admin.query('SELECT count(*)::int AS open FROM delivery_task WHERE next_attempt_at IS NOT NULL OR lease_owner IS NOT NULL');
        return r.rows[0].open === 0;
      });
      const attempts = await admin.query('SELECT msg_id FROM attempt');
      expect(attempts.rows.map((r) => r.msg_id as string).sort()).toEqual([...sent].sort());
    } finally {
      await admin.end();
    }
    const ids = rx.received('/pg').map((r) => String(r.headers['svix-id']));
    expect(ids).toHaveLength(MESSAGES);
    expect(new Set(ids)).toEqual(new Set(sent));

    // The API process reads the workers' outcome from the shared database.
    const last = sent.at(-1)!;
    expect((await must('GET', `/api/v1/app/${app.id}/msg/${last}/endpoint`, 200)).data[0]?.statusText).toBe('success');

    for (const w of workers) w.kill('SIGTERM');
    const exits = await Promise.all(workers.map((w) => w.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
  });
});
