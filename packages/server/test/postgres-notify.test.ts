// LISTEN/NOTIFY between real processes: `herald serve --no-dispatch` accepts, a `herald worker`
// with a 60 s poll interval delivers. The worker's poll timer cannot fire before 60 s after it
// was spawned (and every wake-up restarts it), so every message that arrives well before that was
// brought by a notification, not by polling; each must arrive within 10 s of its 202. Then the
// worker's LISTEN session is killed with pg_terminate_backend: the worker notices, reconnects,
// and is woken by the next message again.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../src/store/postgres/pg-listener.js';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';
import { until } from './delivery/harness.js';

const TOKEN = 'pg_notify_test_token_0123456789abcdef';
const POLL_MS = 60_000;
const ARRIVAL_MS = 10_000;

describe('PostgreSQL: a worker is woken by NOTIFY, long before its poll interval', () => {
  let admin: pg.Client;
  let api: Served | undefined;
  let worker: CliProcess | undefined;
  const fixture = usePostgresProcesses({ token: TOKEN, dataDirPrefix: 'herald-pg-notify-', processes: () => [worker, api] });
  const env = (poll: string) => fixture.env({ HERALD_POLL_INTERVAL: poll });

  // Hooks run in stack order: this one after the fixture's set-up, its afterAll before the drop.
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: fixture.db().url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  const listenerPids = async (): Promise<number[]> =>
    (
      await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [fixture.db().name, LISTENER_APPLICATION_NAME])
    ).rows.map((r) => r.pid as number);

  /** The harness's until(), with the worker's output added to a timeout. */
  const waitFor = (what: string, pred: () => Promise<boolean> | boolean) =>
    until(what, pred).catch((e: Error) => {
      throw new Error(`${e.message}\nworker stdout:\n${worker?.stdout()}\nstderr:\n${worker?.stderr()}`);
    });

  it('delivers within seconds with a 60 s poll interval, and again after its listener connection is killed', { timeout: 50_000 }, async () => {
    const rx = fixture.rx();
    api = await serve(env('50ms'), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'notify', uid: 'notify' });
    rx.on('/n', { status: 200 });
    await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/n') });

    const spawnedAt = Date.now();
    worker = spawnCli(['worker', '--no-migrate'], env(`${POLL_MS}ms`));
    await worker.waitFor('the worker to start', () => /dispatching/.test(worker!.stdout()));
    await waitFor('the worker to LISTEN', async () => (await listenerPids()).length === 1);
    // Let the start-up claim (and the listener's catch-up wake) finish: the loop is then asleep.
    await new Promise((r) => setTimeout(r, 300));

    const deliverOne = async (n: number) => {
      const m = await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'notify.test', payload: { n } });
      await rx.waitForCount(1, { path: '/n', where: (r) => r.headers['svix-id'] === m.id, timeoutMs: ARRIVAL_MS });
      // Let the loop go back to sleep, so the next message finds it asleep, not still looking.
      await new Promise((r) => setTimeout(r, 300));
    };
    for (let i = 0; i < 5; i++) await deliverOne(i);

    const [old] = await listenerPids();
    await admin.query('SELECT pg_terminate_backend($1)', [old]);
    await waitFor('the worker to LISTEN again on a new connection', async () => {
      const pids = await listenerPids();
      return pids.length === 1 && pids[0] !== old;
    });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 5; i < 8; i++) await deliverOne(i);

    // All of it happened before the worker's first poll could have fired.
    expect(Date.now() - spawnedAt).toBeLessThan(POLL_MS);
    expect(rx.received('/n')).toHaveLength(8);
    expect(worker.stdout() + worker.stderr()).toMatch(/listener connection lost; polling continues/);
    expect(worker.stdout() + worker.stderr()).toMatch(/listener connection re-established/);
  });
});
