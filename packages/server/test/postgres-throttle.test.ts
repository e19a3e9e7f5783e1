// throttleRate holds cluster-wide: three dispatchers (three Heralds, each with its own dispatcher
// and connection pool) on one PostgreSQL database drain a backlog for one endpoint limited to
// 20/s. They take their send slots from one schedule in the database, so on a shared, injected
// clock the endpoint gets exactly the slots that clock allows, whichever dispatcher sends: 21 at
// the start (the slots up to one second ahead), then 20 per second of the clock. With a schedule
// per dispatcher it would get three times that. The multi-process suites (postgres-processes and
// the sigkill ones) show that `herald worker` processes share the database the same way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from './helpers/inproc.js';
import { Receiver } from './helpers/receiver.js';
import { createApp, createEndpoint, deliveryStates, sendMessage, slotsUsed, startDelivery, type DeliveryHerald } from './delivery/harness.js';

const RATE = 20;
const BACKLOG = 100;
const DISPATCHERS = 3;

describe(`PostgreSQL: throttleRate ${RATE}/s across ${DISPATCHERS} dispatchers`, () => {
  const clock = new Clock('2026-06-01T00:00:00Z');
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-pg-throttle-'));
  const heralds: DeliveryHerald[] = [];
  let rx: Receiver;
  beforeAll(async () => {
    rx = await Receiver.start();
    // The same data folder: on PostgreSQL that is the same database (and the same master key).
    for (let i = 0; i < DISPATCHERS; i++) heralds.push(await startDelivery({ database: 'postgres', dataDir, now: clock.now }));
  });
  afterAll(async () => {
    await rx?.close();
    for (const h of heralds) await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`delivers exactly the slots of one ${RATE}/s schedule, whichever dispatcher sends`, async () => {
    const h = heralds[0]!;
    const app = await createApp(h);
    rx.on('/t', { status: 200 });
    const ep = await createEndpoint(h, app.id, rx, '/t', { throttleRate: RATE });
    for (let i = 0; i < BACKLOG; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, j) => sendMessage(h, app.id, { payload: { n: i + j } })));
    }
    const start = clock.t;
    for (let k = 0; ; k++) {
      const expected = slotsUsed(RATE, k, BACKLOG);
      // Every dispatcher has had its go: the slots that are due are used, and every other delivery
      // waits in the database for a later slot, unleased, so nobody takes it before the clock moves.
      await expect.poll(() => deliveryStates(h, ep.id, clock.t), { timeout: 15_000 }).toEqual({ sent: expected, waiting: BACKLOG - expected, other: 0 });
      expect(rx.received('/t'), `${k} s after the backlog`).toHaveLength(expected);
      if (expected === BACKLOG) break;
      clock.t = start + (k + 1) * 1000;
      for (const d of heralds) d.wake();
    }
    // Every delivery is distinct: no message was sent twice.
    const ids = rx.received('/t').map((r) => String(r.headers['svix-id']));
    expect(new Set(ids).size).toBe(BACKLOG);
  });
});
