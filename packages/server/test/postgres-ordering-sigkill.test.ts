// Ordered delivery per key holds across `herald worker` processes on PostgreSQL and a SIGKILL of
// one of them: two workers deliver interleaved messages of many keys to an endpoint with
// `ordering: "key"`; one is killed while it holds leases. At the receiver, each key's deliveries
// arrive in sequence: a repeat (a delivery the killed worker had sent but not recorded) comes again
// before the next one of its key, never after it, and every message arrives with the sequence
// number of its place in its key.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_ordering_kill_test_token_0123456789abcdef';
const KEYS = 20;
const PER_KEY = 25;

describe('PostgreSQL: ordered delivery across two workers and a SIGKILL', () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-ordering-kill-',
    env: { HERALD_POLL_INTERVAL: '100ms', HERALD_LEASE: '2s', HERALD_DELIVERY_TIMEOUT: '1s', HERALD_ENDPOINT_CONCURRENCY: '8' },
    // Slow enough that each key takes seconds (one at a time), so the kill lands mid-run.
    routes: { '/o': { status: 200, delayMs: 100 } },
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it('each key arrives in order, with its sequence numbers, though a worker was killed mid-delivery', { timeout: 90_000 }, async () => {
    const rx = fixture.rx();
    const db = fixture.db();
    api = await serve(env(), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'okill', uid: 'okill' });
    await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/o'), ordering: 'key' });
    // Round r sends message r of every key at once: keys interleave, each key's messages follow one another.
    const byKey = new Map<string, string[]>(Array.from({ length: KEYS }, (_, k) => [`contact-${k}`, []]));
    for (let r = 0; r < PER_KEY; r++) {
      await Promise.all(
        [...byKey].map(async ([key, ids]) => {
          const m = await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'o', payload: { key, r }, orderingKey: key });
          ids.push(m.id);
        }),
      );
    }
    for (let i = 0; i < 2; i++) {
      const w = spawnCli(['worker', '--no-migrate'], env());
      workers.push(w);
      await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
    }
    const [victim, survivor] = workers as [CliProcess, CliProcess];
    await rx.waitForCount(30, { path: '/o', timeoutMs: 20_000 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    let held = 0;
    try {
      const owner = /worker (disp_[0-9a-f]+)/.exec(victim.stdout())![1];
      const deadline = Date.now() + 10_000;
      while (held === 0 && Date.now() < deadline) {
        held = (await admin.query('SELECT count(*)::int AS n FROM delivery_task WHERE lease_owner = $1 AND status = 3', [owner])).rows[0].n;
      }
      victim.kill('SIGKILL');
      await victim.exited;
    } finally {
      await admin.end();
    }
    expect(held).toBeGreaterThan(0);

    const all = [...byKey.values()].flat();
    const missing = () => {
      const got = new Set(rx.received('/o').map((r) => String(r.headers['svix-id'])));
      return all.filter((id) => !got.has(id));
    };
    await rx.waitUntil(() => missing().length === 0, { timeoutMs: 60_000, what: () => `${missing().length} messages still to arrive` });
    expect(survivor.child.exitCode).toBeNull();

    for (const [key, ids] of byKey) {
      const arrivals = rx.received('/o', (r) => r.headers['herald-ordering-key'] === key);
      // Each message carries its place in its key.
      for (const r of arrivals) expect(r.headers['herald-sequence'], key).toBe(String(ids.indexOf(String(r.headers['svix-id'])) + 1));
      // In arrival order the numbers never go back: a repeat comes before the next one, not after.
      const seqs = arrivals.map((r) => Number(r.headers['herald-sequence']));
      expect(seqs, key).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size, key).toBe(PER_KEY);
    }
    const repeats = rx.received('/o').length - all.length;
    expect(repeats).toBeLessThanOrEqual(16);
    console.log(`ordering SIGKILL: ${all.length} accepted over ${KEYS} keys, victim held ${held} leases, all in order, ${repeats} repeats`);
  });
});
