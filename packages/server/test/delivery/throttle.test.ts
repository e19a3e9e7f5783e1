// throttleRate is enforced per endpoint (and inherited from the application), and neither a
// throttled nor a slow endpoint delays deliveries to the others. Time is the injected clock: at a
// frozen instant a throttled endpoint gets exactly the slots up to one second ahead (the ones the
// dispatcher holds in memory), the rest wait in the store for their slots, and each second the
// clock moves lets exactly `rate` more through. Slow endpoints do not answer until released, so
// "not delayed" is shown by the fast deliveries all arriving while the slow ones are unanswered.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import { createApp, createEndpoint, deliveryStates, sendMessage, settled, slotsUsed, startDelivery, type DeliveryHerald } from './harness.js';

const RATE = 20;
const N = 60;

/** Send `n` messages to `appId`, `parallel` at a time. */
async function burst(h: DeliveryHerald, appId: string, n: number, parallel = 20): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, j) => sendMessage(h, appId, { payload: { i: i + j } })));
    ids.push(...batch.map((m) => m.id));
  }
  return ids;
}

describe('throttling', () => {
  const clock = new Clock('2026-06-01T00:00:00Z');
  let h: DeliveryHerald;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await Receiver.start();
    h = await startDelivery({ now: clock.now });
  });
  afterAll(async () => {
    await rx?.close(); // first, so attempts still held by the throttle end at once
    await h?.close();
  });

  it(`holds an endpoint with throttleRate ${RATE} (own or inherited from the app) to ${RATE} per second of the clock, while an unthrottled endpoint gets its messages at once`, async () => {
    const app = await createApp(h);
    const throttled = await createEndpoint(h, app.id, rx, '/t-own', { throttleRate: RATE });
    const free = await createEndpoint(h, app.id, rx, '/t-free');
    const app2 = await createApp(h, { throttleRate: RATE });
    const inherited = await createEndpoint(h, app2.id, rx, '/t-inherited');
    expect(throttled.throttleRate).toBe(RATE);
    expect(free.throttleRate ?? null).toBeNull();
    expect(inherited.id).toMatch(/^ep_/);

    const [ids] = await Promise.all([burst(h, app.id, N), burst(h, app2.id, N)]);
    expect(ids).toHaveLength(N);

    const start = clock.t;
    // The clock stands still: the unthrottled endpoint gets all of them at once.
    await rx.waitForCount(N, { path: '/t-free' });
    for (const id of ids) expect((await settled(h, id, free.id)).status).toBe(0);
    expect(new Set(rx.received('/t-free').map((r) => r.headers['svix-id'])).size).toBe(N);
    for (let k = 0; ; k++) {
      const expected = slotsUsed(RATE, k, N);
      for (const [ep, path] of [
        [throttled.id, '/t-own'],
        [inherited.id, '/t-inherited'],
      ] as const) {
        // The slots that are due have been used; every other delivery waits in the store for a
        // slot after now, unleased, so no dispatcher can take it before the clock moves.
        await expect.poll(() => deliveryStates(h, ep, clock.t), { timeout: 10_000 }).toEqual({ sent: expected, waiting: N - expected, other: 0 });
        expect(rx.received(path), `${path} ${k} s after the burst`).toHaveLength(expected);
      }
      if (expected === N) break;
      clock.t = start + (k + 1) * 1000;
      h.wake();
    }
    for (const path of ['/t-own', '/t-inherited']) {
      // No message is delivered twice while being held back.
      const seen = rx.received(path).map((r) => r.headers['svix-id']);
      expect(new Set(seen).size).toBe(N);
      expect(seen).toHaveLength(N);
    }
  });
});

describe('slow endpoints', () => {
  // The real clock here: deliveries over the per-endpoint concurrency are put back for 100 ms.
  let h: DeliveryHerald;
  beforeAll(async () => {
    h = await startDelivery();
  });
  afterAll(async () => {
    await h?.close();
  });

  /**
   * Send `n` messages to an app with a slow and a fast endpoint. The slow one does not answer until
   * the test lets it: every fast delivery must arrive while it still has not.
   */
  async function fastWhileSlowHangs(slowRx: Receiver, fastRx: Receiver, n: number): Promise<void> {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    slowRx.on('/slow', () => gate.then(() => ({ status: 200 })));
    fastRx.on('/fast', { status: 200 });
    const app = await createApp(h);
    await createEndpoint(h, app.id, slowRx, '/slow');
    await createEndpoint(h, app.id, fastRx, '/fast');
    try {
      await burst(h, app.id, n);
      await fastRx.waitForCount(n, { path: '/fast' });
      // The slow endpoint is being attempted, and none of its attempts has been answered.
      expect(slowRx.received('/slow').length).toBeGreaterThan(0);
      expect(slowRx.received('/slow').every((r) => r.answeredHr === undefined)).toBe(true);
    } finally {
      release();
    }
  }

  it('a slow endpoint (not answering) does not delay deliveries to a fast endpoint on another host', async () => {
    // Fresh receivers, so nothing left in flight by another test shares their connections.
    const [slowRx, fastRx] = await Promise.all([Receiver.start(), Receiver.start()]);
    try {
      // More messages than one endpoint may have in flight (64 by default).
      await fastWhileSlowHangs(slowRx, fastRx, 100);
    } finally {
      await Promise.all([slowRx.close(), fastRx.close()]);
    }
  });

  it('a slow endpoint does not delay deliveries to a fast endpoint on the same host (another path)', async () => {
    // Endpoints often share a host (one tenant's API, or many tenants on one integration
    // platform), so a connection pool per origin must not let one slow path starve the others.
    const shared = await Receiver.start();
    try {
      await fastWhileSlowHangs(shared, shared, 100);
    } finally {
      await shared.close();
    }
  });
});
