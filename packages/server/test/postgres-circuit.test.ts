// The circuit breaker across real processes on one PostgreSQL database: `herald serve
// --no-dispatch` accepts, two `herald worker`s deliver. Three failures in a row (from either
// worker) open the endpoint's one stored circuit; the deliveries that fall due meanwhile are held
// by both workers without attempts; after the cool-down both workers find them due at once, and
// exactly one delivery probes (the compare-and-set on the stored circuit); its success closes the
// circuit and every held delivery goes out, once.
//
// "Exactly one probe" is an ordering, not a duration: the probe's answer is held back a little, and
// every other request must arrive after it was given (a second probe would arrive before).
import { describe, expect, it } from 'vitest';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_circuit_test_token_0123456789abcdef';
const HELD = 30;

describe('the circuit breaker with two herald workers on one PostgreSQL database', () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-circuit-',
    env: {
      HERALD_POLL_INTERVAL: '50ms',
      HERALD_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms',
      HERALD_CIRCUIT_FAILURES: '3',
      // Long enough that a loaded host still posts and holds the messages below inside it.
      HERALD_CIRCUIT_COOLDOWN: '15s',
    },
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it('holds while open, lets exactly one probe through, then releases every held delivery once', async () => {
    const rx = fixture.rx();
    api = await serve(env(), ['--no-dispatch']);
    await api.waitFor('the store line', () => /^Store: /m.test(api!.stdout()));
    const must = expecting(api.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'pg-circuit' });

    // Three failures, then the probe: answered 200 after a pause, its answer's time kept.
    let n = 0;
    rx.on('/cb', () => (++n <= 3 ? { status: 503 } : n === 4 ? { status: 200, delayMs: 300 } : { status: 200 }));
    const ep = await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/cb') });
    for (let i = 0; i < 2; i++) {
      const w = spawnCli(['worker', '--no-migrate'], env());
      workers.push(w);
      await w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()));
    }
    const health = () => must('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/health`, 200);

    const first: string[] = [];
    for (let i = 0; i < 3; i++) {
      first.push((await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'pg.circuit', payload: { first: i } })).id);
      await rx.waitForCount(i + 1, { path: '/cb', timeoutMs: 10_000 });
    }
    await expect.poll(async () => (await health()).circuit, { timeout: 10_000 }).toBe('open');
    const opened = await health();
    expect(opened.consecutiveFailures).toBe(3);

    // Due while open: held by both workers, not attempted.
    const held: string[] = [];
    for (let i = 0; i < HELD; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) => must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'pg.circuit', payload: { held: i + j } })),
      );
      held.push(...batch.map((m) => m.id as string));
    }
    const heldBy = async (msgId: string) => (await must('GET', `/api/v1/app/${app.id}/msg/${msgId}/endpoint`, 200)).data[0]?.heldBy;
    // The cool-down may end while this looks, so "held" or already delivered both count as not attempted before the probe.
    await expect.poll(async () => (await Promise.all(held.map(heldBy))).filter((h) => h === 'circuit').length, { timeout: 15_000 }).toBeGreaterThan(0);

    // After the cool-down: one probe, then everything.
    await rx.waitForCount(3 + 3 + HELD, { path: '/cb', timeoutMs: 30_000 });
    await expect.poll(async () => (await health()).circuit, { timeout: 10_000 }).toBe('closed');
    const requests = rx.received('/cb');
    const probe = requests[3]!;
    expect(probe.answeredStatus).toBe(200);
    expect(requests.slice(4).every((r) => r.hr >= probe.answeredHr!)).toBe(true);
    // Every message delivered exactly once with success: the held ones on their first attempt.
    const ids = requests.map((r) => String(r.headers['svix-id']));
    for (const id of held) expect(ids.filter((x) => x === id)).toHaveLength(1);
    for (const id of first) expect(ids.filter((x) => x === id)).toHaveLength(2);
    await expect
      .poll(
        async () => {
          const states = await Promise.all([...first, ...held].map(async (m) => (await must('GET', `/api/v1/app/${app.id}/msg/${m}/endpoint`, 200)).data[0]));
          return states.every((s) => s.statusText === 'success' && s.heldBy === null);
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    expect(ids.length).toBe(3 + 3 + HELD);

    for (const w of workers) w.kill('SIGTERM');
    expect((await Promise.all(workers.map((w) => w.exited))).map((e) => e.code)).toEqual([0, 0]);
  }, 90_000);
});
