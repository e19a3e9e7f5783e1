// LISTEN/NOTIFY between real processes: `herald serve --no-dispatch` accepts, a `herald worker`
// with a 60 s poll interval (the longest allowed) delivers. The worker is spawned inside a test
// that times out after 50 s, and its poll timer cannot fire before 60 s (every wake-up restarts
// it), so a passing test shows every message was brought by a notification, not by polling. Each
// message is sent only once the worker's loop is asleep (its last statement was the look for the
// next due time, read from pg_stat_activity), so no claim already under way can pick it up. Then
// the worker's LISTEN session is killed with pg_terminate_backend: the worker notices, reconnects,
// and is woken by the next message again.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../src/store/postgres/pg-listener.js';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';
import { until } from './delivery/harness.js';

const TOKEN = 'pg_notify_test_token_0123456789abcdef';
const POLL_MS = 60_000;
const TEST_TIMEOUT_MS = 50_000; // below POLL_MS: see the top of the file
const ARRIVAL_MS = 10_000;
/** The worker's pool connections carry this application_name (node-pg reads PGAPPNAME). */
const WORKER_APP = 'herald-notify-worker';

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

  /**
   * The worker's dispatch loop is asleep: none of its pool connections is running a statement, and
   * its latest statement on the queue (claims, reads, completions; the purger's deletes aside) was
   * a claim, the last thing the loop does before it sleeps (the claim also says when to wake).
   */
  const workerAsleep = async (): Promise<boolean> => {
    const { rows } = await admin.query<{ state: string | null; query: string }>(
      'SELECT state, query FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 ORDER BY state_change DESC',
      [fixture.db().name, WORKER_APP],
    );
    if (rows.length === 0 || rows.some((r) => r.state !== 'idle')) return false;
    const last = rows.find((r) => /\bdelivery_task\b/.test(r.query) && !/\bDELETE\b/i.test(r.query));
    return last !== undefined && /^WITH RECURSIVE fwd AS/.test(last.query);
  };

  /** The harness's until(), with the worker's output added to a timeout. */
  const waitFor = (what: string, pred: () => Promise<boolean> | boolean) =>
    until(what, pred).catch((e: Error) => {
      throw new Error(`${e.message}\nworker stdout:\n${worker?.stdout()}\nstderr:\n${worker?.stderr()}`);
    });

  it('delivers within seconds with a 60 s poll interval, and again after its listener connection is killed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const rx = fixture.rx();
    api = await serve(env('50ms'), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'notify', uid: 'notify' });
    rx.on('/n', { status: 200 });
    await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/n') });

    worker = spawnCli(['worker', '--no-migrate'], { ...env(`${POLL_MS}ms`), PGAPPNAME: WORKER_APP });
    await worker.waitFor('the worker to start', () => /dispatching/.test(worker!.stdout()));
    await waitFor('the worker to LISTEN', async () => (await listenerPids()).length === 1);
    // The start-up claim (and the listener's catch-up wake) done: the loop is asleep.
    await waitFor('the worker to go to sleep after start-up', workerAsleep);

    const deliverOne = async (n: number) => {
      const m = await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'notify.test', payload: { n } });
      await rx.waitForCount(1, { path: '/n', where: (r) => r.headers['svix-id'] === m.id, timeoutMs: ARRIVAL_MS });
      // The next message must find the loop asleep, not still looking.
      await waitFor(`the worker to go back to sleep after message ${n}`, workerAsleep);
    };
    for (let i = 0; i < 5; i++) await deliverOne(i);

    const [old] = await listenerPids();
    await admin.query('SELECT pg_terminate_backend($1)', [old]);
    await waitFor('the worker to LISTEN again on a new connection', async () => {
      const pids = await listenerPids();
      return pids.length === 1 && pids[0] !== old;
    });
    await waitFor('the worker to go to sleep after reconnecting', workerAsleep);
    for (let i = 5; i < 8; i++) await deliverOne(i);

    expect(rx.received('/n')).toHaveLength(8);
    expect(worker.stdout() + worker.stderr()).toMatch(/listener connection lost; polling continues/);
    expect(worker.stdout() + worker.stderr()).toMatch(/listener connection re-established/);
  });
});
