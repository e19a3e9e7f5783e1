// A rolling upgrade on PostgreSQL with real processes of two Herald versions: an older Herald
// (built from this repository's history, helpers/old-herald.ts) runs an API and two workers; the
// current Herald's API replaces the old API and migrates the schema while the old workers go on
// delivering; then current workers replace the old ones one by one. Every message accepted at any
// point arrives exactly once, and the current API reads what the old workers recorded.
//
// This is what catches a schema change that an older process cannot run on (a column it does not
// know in a statement it prepared, a ledger entry it misreads): the old workers stop delivering,
// and the count never arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../src/store/migrate.js';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { buildOldHerald, oldHeraldAvailable, UPGRADE_FROM, type OldHerald } from './helpers/old-herald.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_rolling_upgrade_token_0123456789';
const BATCH = 20;
const available = oldHeraldAvailable();
if (!available.ok) console.warn(`rolling upgrade test skipped: ${available.why}`);

describe.skipIf(!available.ok)(`rolling upgrade on PostgreSQL from ${UPGRADE_FROM.slice(0, 12)} to this checkout`, () => {
  let old: OldHerald | undefined;
  const processes: (CliProcess | undefined)[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-rolling-',
    env: { HERALD_POLL_INTERVAL: '50ms' },
    processes: () => processes,
  });
  const { env } = fixture;

  beforeAll(() => {
    old = buildOldHerald();
  }, 240_000);
  afterAll(() => old?.remove());

  async function startWorker(cli?: string): Promise<CliProcess> {
    const w = spawnCli(['worker', '--no-migrate'], env(), cli);
    processes.push(w);
    await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
    return w;
  }

  async function startApi(cli?: string): Promise<Served> {
    const api = await serve(env(), ['--no-dispatch'], cli);
    processes.push(api);
    return api;
  }

  async function stop(p: CliProcess): Promise<number | null> {
    p.kill('SIGTERM');
    return (await p.exited).code;
  }

  it('old workers deliver beside the new API after it migrates, then new workers take over; every message arrives once', async () => {
    const rx = fixture.rx();
    rx.on('/roll', { status: 200 });
    const sent: string[] = [];
    const sendBatch = async (api: Served, appId: string, phase: string) => {
      const must = expecting(api.url, TOKEN);
      const batch = await Promise.all(
        Array.from({ length: BATCH }, (_, i) => must('POST', `/api/v1/app/${appId}/msg`, 202, { eventType: 'roll.test', payload: { phase, i } })),
      );
      sent.push(...batch.map((m) => m.id as string));
      await rx.waitForCount(sent.length, { path: '/roll', timeoutMs: 30_000 });
    };

    // The old Herald: its API creates (and migrates) the database, two old workers deliver.
    const oldApi = await startApi(old!.cli);
    const mustOld = expecting(oldApi.url, TOKEN);
    const app = await mustOld('POST', '/api/v1/app', 201, { name: 'rolling', uid: 'rolling' });
    await mustOld('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/roll') });
    const oldWorkers = [await startWorker(old!.cli), await startWorker(old!.cli)];
    await sendBatch(oldApi, app.id, 'old api, old workers');
    expect((await mustOld('GET', '/api/v1/version', 200)).schemaVersion).toBe(old!.latestMigration('postgres'));

    // The new API replaces the old one and migrates; only old workers run.
    expect(await stop(oldApi)).toBe(0);
    const api = await startApi();
    const must = expecting(api.url, TOKEN);
    const latest = loadMigrations('postgres').at(-1)!.version;
    expect((await must('GET', '/api/v1/version', 200)).schemaVersion).toBe(latest);
    await sendBatch(api, app.id, 'new api, old workers');
    // An old worker restarted mid-upgrade (a crash, a rescheduled pod) reads the migrated ledger
    // at start: it must find the schema allowed and deliver on its own.
    expect(await stop(oldWorkers[1]!)).toBe(0);
    oldWorkers[1] = await startWorker(old!.cli);
    expect(await stop(oldWorkers[0]!)).toBe(0);
    oldWorkers[0] = oldWorkers[1];
    await sendBatch(api, app.id, 'new api, one restarted old worker');
    expect(oldWorkers[0].stdout() + oldWorkers[0].stderr()).not.toMatch(/stops claiming/);

    // What the old workers recorded reads back through the new API.
    const last = sent.at(-1)!;
    await expect
      .poll(async () => (await must('GET', `/api/v1/app/${app.id}/msg/${last}/endpoint`, 200)).data[0]?.statusText, { timeout: 10_000 })
      .toBe('success');
    const attempts = await must('GET', `/api/v1/app/${app.id}/attempt/msg/${last}`, 200);
    expect(attempts.data.map((a: { responseStatusCode: number }) => a.responseStatusCode)).toEqual([200]);

    // New workers join the old one, which then leaves, with messages in between.
    await startWorker();
    await sendBatch(api, app.id, 'new api, one old and one new worker');
    await startWorker();
    expect(await stop(oldWorkers[0]!)).toBe(0);
    await sendBatch(api, app.id, 'new api, new workers');

    const ids = rx.received('/roll').map((r) => String(r.headers['svix-id']));
    expect(ids).toHaveLength(sent.length);
    expect(new Set(ids)).toEqual(new Set(sent));
  });
});
