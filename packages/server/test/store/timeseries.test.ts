// An endpoint's health over time, on SQLite and on PostgreSQL: attempts counted per bucket with
// their p50/p95 durations, empty buckets present, other endpoints and applications left out.
import { expect, it } from 'vitest';
import { MessageStatus } from '../../src/domain/types.js';
import { timeseriesWindow } from '../../src/domain/timeseries.js';
import { eachStore } from './backends.js';
import { app, attemptFor, endpoint, LEASE, message, T0 } from './records.js';
import type { Store } from '../../src/store/store.js';

const HOUR = 3_600_000;

/** One delivery of a new message to `endpointId`, attempted at `at` (the clock the test drives) for `ms` ms. */
async function attempt(store: Store, appId: string, endpointId: string, at: number, ok: boolean, ms: number) {
  const { message: m } = await store.createMessage(message(appId, { createdAt: at - 1 }), { onlyEndpointId: endpointId });
  const claimed = await store.claimDueTasks('w', at, LEASE, 100);
  const task = claimed.find((c) => c.msgId === m.id)!;
  await store.completeAttempt(
    task,
    {
      attempt: attemptFor(task, at, ok, { responseDurationMs: ms }),
      task: { status: ok ? MessageStatus.success : MessageStatus.fail, nextAttemptAt: null },
    },
    at,
  );
}

eachStore('store: endpoint timeseries', (t) => {
  it('counts succeeded and failed attempts per bucket, with nearest-rank p50/p95, and every empty bucket', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const ep = await store.createEndpoint(endpoint(a.id));
    const other = await store.createEndpoint(endpoint(a.id));
    const b = await store.createApplication(app());
    const foreign = await store.createEndpoint(endpoint(b.id));
    // Hour 0: twenty attempts of 1..20 ms, every fifth failed. Hour 1: nothing. Hour 2: one.
    for (let i = 1; i <= 20; i++) await attempt(store, a.id, ep.id, T0 + 10 + i * 1000, i % 5 !== 0, i);
    await attempt(store, a.id, ep.id, T0 + 2 * HOUR + 5, false, 700);
    // Outside the window, and on other endpoints: never counted.
    await attempt(store, a.id, ep.id, T0 + 3 * HOUR, true, 9);
    await attempt(store, a.id, other.id, T0 + 100, true, 9);
    await attempt(store, b.id, foreign.id, T0 + 100, true, 9);

    const got = await store.endpointTimeseries(a.id, ep.id, T0, T0 + 3 * HOUR, HOUR);
    expect(got).toEqual([
      { start: T0, succeeded: 16, failed: 4, p50Ms: 10, p95Ms: 19 },
      { start: T0 + HOUR, succeeded: 0, failed: 0, p50Ms: null, p95Ms: null },
      { start: T0 + 2 * HOUR, succeeded: 0, failed: 1, p50Ms: 700, p95Ms: 700 },
    ]);
    // Another application's id never reads this endpoint.
    const across = await store.endpointTimeseries(b.id, ep.id, T0, T0 + 3 * HOUR, HOUR);
    expect(across.every((x) => x.succeeded === 0 && x.failed === 0)).toBe(true);
  });

  it('reads a window the domain chose: whole days back-dated from the clock, the last one partial', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const ep = await store.createEndpoint(endpoint(a.id));
    const now = T0 + 3 * 864e5 + 5 * HOUR;
    const w = timeseriesWindow(now, 'day');
    expect(w.sinceMs).toBe(now - 5 * HOUR - 13 * 864e5);
    await attempt(store, a.id, ep.id, now - 864e5, true, 30);
    await attempt(store, a.id, ep.id, now - 1000, true, 40);
    await attempt(store, a.id, ep.id, now - 500, false, 50);
    const got = await store.endpointTimeseries(a.id, ep.id, w.sinceMs, w.untilMs, w.bucketMs);
    expect(got).toHaveLength(14);
    expect(got.at(-2)).toEqual({ start: now - 5 * HOUR - 864e5, succeeded: 1, failed: 0, p50Ms: 30, p95Ms: 30 });
    expect(got.at(-1)).toEqual({ start: now - 5 * HOUR, succeeded: 1, failed: 1, p50Ms: 40, p95Ms: 50 });
    expect(got.slice(0, 12).every((x) => x.succeeded + x.failed === 0 && x.p50Ms === null)).toBe(true);
  });
});
