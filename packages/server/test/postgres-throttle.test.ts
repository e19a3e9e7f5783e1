// throttleRate holds cluster-wide: three real `herald worker` processes on one PostgreSQL database
// drain a backlog for one endpoint limited to 20/s. They take their send slots from one schedule
// in the database, so the receiver sees at most 10% over 20/s in any 10 s window, not three
// workers' worth (each with its own schedule, this would be ~60/s).
import { describe, expect, it } from 'vitest';
import { expecting, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_throttle_test_token_0123456789abcdef';
const RATE = 20;
const WINDOW_MS = 10_000;
const BACKLOG = 300;
const WORKERS = 3;

describe(`PostgreSQL: throttleRate ${RATE}/s across ${WORKERS} worker processes`, () => {
  let api: Served | undefined;
  const workers: CliProcess[] = [];
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-throttle-',
    env: { HERALD_POLL_INTERVAL: '50ms' },
    processes: () => [...workers, api],
  });
  const { env } = fixture;

  it(`delivers at most ${RATE * 1.1}/s over ${WINDOW_MS / 1000} s, whichever worker sends`, { timeout: 60_000 }, async () => {
    const rx = fixture.rx();
    api = await serve(env(), ['--no-dispatch']);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'throttle', uid: 'throttle' });
    rx.on('/t', { status: 200 });
    await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/t'), throttleRate: RATE });
    // The backlog is in place before any worker runs, so every worker finds plenty to claim.
    for (let i = 0; i < BACKLOG; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, j) => must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 't', payload: { n: i + j } })));
    }
    for (let i = 0; i < WORKERS; i++) workers.push(spawnCli(['worker', '--no-migrate'], env()));
    await Promise.all(workers.map((w) => w.waitFor('the worker to start', () => /dispatching/.test(w.stdout()))));
    // Every worker is claiming now: look at the arrivals over the next window and a bit.
    const from = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS + 1000));
    const arrivals = rx.received('/t').map((r) => r.hr).sort((a, b) => a - b);
    // The busiest window of WINDOW_MS among those starting at an arrival (any window's count is at
    // most that of the window starting at its first arrival).
    let busiest = 0;
    for (let i = 0, j = 0; i < arrivals.length; i++) {
      while (j < arrivals.length && arrivals[j]! < arrivals[i]! + WINDOW_MS) j++;
      busiest = Math.max(busiest, j - i);
    }
    const sinceStart = arrivals.filter((t) => t >= from && t < from + WINDOW_MS).length;
    console.log(`${WORKERS} workers, limit ${RATE}/s: ${sinceStart} arrivals in the ${WINDOW_MS / 1000} s after all started; busiest window ${busiest}`);
    expect(busiest).toBeLessThanOrEqual(RATE * (WINDOW_MS / 1000) * 1.1);
    // And the workers together do deliver (a schedule that wasted slots would fall far short).
    expect(sinceStart).toBeGreaterThanOrEqual(RATE * (WINDOW_MS / 1000) * 0.5);
    // Every delivery is distinct: no message was sent twice.
    const ids = rx.received('/t').map((r) => String(r.headers['svix-id']));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
