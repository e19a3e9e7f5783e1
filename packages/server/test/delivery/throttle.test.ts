// throttleRate is enforced per endpoint (and inherited from the application), and neither a
// throttled nor a slow endpoint delays deliveries to the others. The delivered rate is the one
// timing assertion the issue asks for: arrivals at the receiver over a 5 s window must stay within
// 10% of the limit. Everything else is asserted on order and counts, not on durations.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';
import { createApp, createEndpoint, sendMessage, startDelivery, type DeliveryHerald } from './harness.js';

const RATE = 20;
const WINDOW_MS = 5000;

/** Arrivals in [first, first + windowMs), by the receiver's monotonic clock. */
function inWindow(reqs: ReceivedRequest[], windowMs: number): number {
  if (reqs.length === 0) return 0;
  const start = Math.min(...reqs.map((r) => r.hr));
  return reqs.filter((r) => r.hr < start + windowMs).length;
}

/** Send `n` messages to `appId`, `parallel` at a time. */
async function burst(h: DeliveryHerald, appId: string, n: number, parallel = 20): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, n - i) }, (_, j) => sendMessage(h, appId, { payload: { i: i + j } })),
    );
    ids.push(...batch.map((m) => m.id));
  }
  return ids;
}

describe('throttling', () => {
  let h: DeliveryHerald;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await Receiver.start();
    h = await startDelivery();
  });
  afterAll(async () => {
    await rx?.close(); // first, so attempts still held by the throttle end at once
    await h?.close();
  });

  it(`holds an endpoint with throttleRate ${RATE} (own or inherited from the app) to ${RATE}/s ±10% over ${WINDOW_MS / 1000} s, while an unthrottled endpoint gets its messages at once`, async () => {
    const app = await createApp(h);
    const throttled = await createEndpoint(h, app.id, rx, '/t-own', { throttleRate: RATE });
    const free = await createEndpoint(h, app.id, rx, '/t-free');
    const app2 = await createApp(h, { throttleRate: RATE });
    const inherited = await createEndpoint(h, app2.id, rx, '/t-inherited');
    expect(throttled.throttleRate).toBe(RATE);
    expect(free.throttleRate ?? null).toBeNull();
    expect(inherited.id).toMatch(/^ep_/);

    const [ids] = await Promise.all([burst(h, app.id, 200), burst(h, app2.id, 150)]);
    expect(ids).toHaveLength(200);

    // The unthrottled endpoint gets all 200 while the throttled one is still far from done.
    await rx.waitForCount(200, { path: '/t-free', timeoutMs: 8000 });
    const throttledSoFar = rx.received('/t-own').length;
    expect(throttledSoFar).toBeLessThan(100);
    expect(new Set(rx.received('/t-free').map((r) => r.headers['svix-id'])).size).toBe(200);

    // Watch the throttled endpoints for the whole window.
    const first = Math.min(...rx.received('/t-own').map((r) => r.hr));
    await rx.waitUntil(() => performance.now() > first + WINDOW_MS + 300, { timeoutMs: WINDOW_MS + 3000 });

    const own = inWindow(rx.received('/t-own'), WINDOW_MS);
    const inh = inWindow(rx.received('/t-inherited'), WINDOW_MS);
    const expected = (RATE * WINDOW_MS) / 1000;
    console.log(`throttle: ${own} (own rate) and ${inh} (inherited) deliveries in ${WINDOW_MS} ms; limit ${expected}; unthrottled had 200 when throttled had ${throttledSoFar}`);
    expect(own).toBeGreaterThanOrEqual(expected * 0.9);
    expect(own).toBeLessThanOrEqual(expected * 1.1);
    expect(inh).toBeGreaterThanOrEqual(expected * 0.9);
    expect(inh).toBeLessThanOrEqual(expected * 1.1);
    // No message is delivered twice while being held back.
    const seen = rx.received('/t-own').map((r) => r.headers['svix-id']);
    expect(new Set(seen).size).toBe(seen.length);
  });

  /** Send N messages to an app with a slow and a fast endpoint; true if every fast delivery beat the first slow answer. */
  async function slowVersusFast(slowRx: Receiver, fastRx: Receiver, N: number) {
    slowRx.on('/slow', { status: 200, delayMs: 2000 });
    fastRx.on('/fast', { status: 200 });
    const app = await createApp(h);
    await createEndpoint(h, app.id, slowRx, '/slow');
    await createEndpoint(h, app.id, fastRx, '/fast');
    await burst(h, app.id, N);
    const fast = await fastRx.waitForCount(N, { path: '/fast', timeoutMs: 10_000 });
    const slow = slowRx.received('/slow');
    expect(slow.length).toBeGreaterThan(0);
    const lastFast = Math.max(...fast.map((r) => r.hr));
    const slowAnswers = slow.map((r) => r.answeredHr).filter((t): t is number => t !== undefined);
    const firstSlowAnswer = slowAnswers.length ? Math.min(...slowAnswers) : Infinity;
    const held = fast.filter((r) => r.hr > firstSlowAnswer).length;
    if (held > 0) console.log(`slow vs fast: ${held} of ${N} fast deliveries waited for the slow endpoint to answer`);
    return { lastFast, firstSlowAnswer };
  }

  it('a slow endpoint (answers after 2 s) does not delay deliveries to a fast endpoint on another host', async () => {
    // Fresh receivers, so nothing left in flight by another test shares their connections.
    const [slowRx, fastRx] = await Promise.all([Receiver.start(), Receiver.start()]);
    try {
      // More messages than one endpoint may have in flight (64 by default).
      const { lastFast, firstSlowAnswer } = await slowVersusFast(slowRx, fastRx, 100);
      // Every fast delivery arrived before the slow endpoint had answered even once.
      expect(lastFast).toBeLessThan(firstSlowAnswer);
    } finally {
      await Promise.all([slowRx.close(), fastRx.close()]);
    }
  });

  it('a slow endpoint does not delay deliveries to a fast endpoint on the same host (another path)', async () => {
    // Endpoints often share a host (one tenant's API, or many tenants on one integration
    // platform), so a connection pool per origin must not let one slow path starve the others.
    const shared = await Receiver.start();
    try {
      const { lastFast, firstSlowAnswer } = await slowVersusFast(shared, shared, 100);
      expect(lastFast).toBeLessThan(firstSlowAnswer);
    } finally {
      await shared.close();
    }
  });
});
