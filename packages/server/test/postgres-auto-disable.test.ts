// Auto-disable across processes on PostgreSQL: two `herald worker` processes exhaust deliveries to
// one failing endpoint at the same moment, after its failure streak has run 5 days (back-dated in
// the database, never waited for). The endpoint is disabled once, durably, with its reason, and
// `endpoint.disabled` is reported to the operational application once, whichever worker did it.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { until } from './delivery/harness.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_auto_disable_test_token_0123456789abcdef';
const OPS_UID = 'ops-pg-auto-disable';
const DAY = 24 * 3600 * 1000;

describe('PostgreSQL: auto-disable with two worker processes', () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-autodisable-',
    env: {
      HERALD_POLL_INTERVAL: '50ms',
      // Two attempts 50 ms apart, then the delivery is exhausted.
      HERALD_RETRY_SCHEDULE: '50ms',
      HERALD_OPERATIONAL_APP: OPS_UID,
      // Few deliveries per claim, so the burst is shared between the two workers.
      HERALD_DISPATCH_CONCURRENCY: '4',
      // The endpoint's circuit opens during the burst; its failed probes carry the streak, every
      // 100-200 ms here instead of every 30 s to 10 min.
      HERALD_CIRCUIT_COOLDOWN: '100ms',
      HERALD_CIRCUIT_MAX_COOLDOWN: '200ms',
    },
    routes: {
      // Slow failures, so the burst's leases are visible while it runs.
      '/down': { status: 500, body: 'down', delayMs: 100 },
      '/ops': { status: 200 },
    },
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it('disables the endpoint once and reports it once, whichever worker exhausts first', { timeout: 60_000 }, async () => {
    const rx = fixture.rx();
    const db = fixture.db();
    api = await serve(env(), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const ops = await must('POST', '/api/v1/app', 201, { name: 'ops', uid: OPS_UID });
    await must('POST', `/api/v1/app/${ops.id}/endpoint`, 201, { url: rx.url('/ops') });
    const app = await must('POST', '/api/v1/app', 201, { name: 'tenant', uid: 'pg-ad-tenant' });
    const ep = await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/down') });
    for (let i = 0; i < 2; i++) {
      const w = spawnCli(['worker', '--no-migrate'], env());
      workers.push(w);
      await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
    }
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const waitFor = <T>(what: string, f: () => Promise<T>) => until(what, f, 30_000);
    try {
      // One exhausted delivery starts the streak.
      await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'first', payload: { n: 0 } });
      const started = await waitFor(
        'the failure streak to start',
        async () => (await admin.query('SELECT first_failure_at AS f FROM endpoint WHERE id = $1', [ep.id])).rows[0].f as number | null,
      );
      expect(Math.abs(Number(started) - Date.now())).toBeLessThan(60_000);
      // Every claim of a delivery to the endpoint, by owner: a trigger sees each one, where polling
      // the lease column would miss claims that start and end between two looks.
      await admin.query(`
        CREATE TABLE test_claims (owner text NOT NULL);
        CREATE FUNCTION test_log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO test_claims VALUES (NEW.lease_owner); RETURN NEW; END $$;
        CREATE TRIGGER test_log_claim AFTER UPDATE OF lease_owner ON delivery_task
          FOR EACH ROW WHEN (NEW.lease_owner IS NOT NULL AND NEW.endpoint_id = '${ep.id}') EXECUTE FUNCTION test_log_claim();`);
      // Five days pass (in the database), then a burst of deliveries exhausts on both workers.
      await admin.query('UPDATE endpoint SET first_failure_at = first_failure_at - $1 WHERE id = $2', [5 * DAY + 60_000, ep.id]);
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, n) => must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'burst', payload: { n } })),
      );
      expect(burst).toHaveLength(40);
      const got = await waitFor('the endpoint to be disabled', async () => {
        const e = await must('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200);
        return e.disabled ? e : null;
      });
      expect(got.disabledReason).toMatch(/5 days/);
      // Both workers took part in the burst.
      const owners = (await admin.query('SELECT DISTINCT owner FROM test_claims')).rows;
      expect(owners).toHaveLength(2);
      // Durable: the row says disabled, and nothing is left to send to it.
      const row = (await admin.query('SELECT disabled, disabled_reason FROM endpoint WHERE id = $1', [ep.id])).rows[0];
      expect(row.disabled).toBe(true);
      expect(row.disabled_reason).toBe(got.disabledReason);
      const reports = () =>
        rx
          .received('/ops')
          .map((r) => JSON.parse(r.text))
          .filter((e) => e.type === 'endpoint.disabled' && e.data?.endpointId === ep.id);
      await waitFor('endpoint.disabled to be reported', async () => reports().length > 0);
      // Nothing of the burst is due or in flight any more, so no worker can exhaust a delivery (and
      // report) again. Then every report there will be is written: the operational application's
      // messages, each delivered and finished.
      const open = (where: string, param: string) =>
        admin.query(`SELECT count(*)::int AS n FROM delivery_task WHERE ${where} = $1 AND (next_attempt_at IS NOT NULL OR lease_owner IS NOT NULL)`, [param]);
      await waitFor('no delivery to the endpoint to be due or in flight', async () => (await open('endpoint_id', ep.id)).rows[0].n === 0);
      await waitFor('the operational deliveries to be finished', async () => (await open('app_id', ops.id)).rows[0].n === 0);
      // One report, delivered by whichever worker claimed it.
      const written = await admin.query("SELECT count(*)::int AS n FROM message WHERE app_id = $1 AND event_type = 'endpoint.disabled'", [ops.id]);
      expect(written.rows[0].n).toBe(1);
      expect(reports()).toHaveLength(1);
      expect(reports()[0].data).toMatchObject({ appId: app.id, endpointId: ep.id });
      expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
    } finally {
      await admin.end();
    }
  });
});
