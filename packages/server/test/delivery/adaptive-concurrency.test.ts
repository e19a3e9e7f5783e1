// Adaptive concurrency per endpoint (domain/concurrency.ts), end to end on either store: an
// endpoint that answers 429 gets fewer deliveries in flight (the limit halves down to 1), and gets
// back up as it answers again; 429s wait longer for their retry than other failures. In-flight
// counts come from the receiver's own record of when each request arrived and was answered.

import { describe, expect, it } from 'vitest';
import { Clock } from '../helpers/inproc.js';
import type { ReceivedRequest } from '../helpers/receiver.js';
import { attemptRecorded, createApp, createEndpoint, deliverySuite, sendMessage, taskRow, until } from './harness.js';

const CAP = 8;

/** The most requests the receiver had open at once among `reqs`. */
function mostAtOnce(reqs: ReceivedRequest[]): number {
  const events = reqs
    .flatMap(
      (r) =>
        [
          [r.hr, 1],
          [r.answeredHr ?? Infinity, -1],
        ] as const,
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (open += d));
  return most;
}

describe('adaptive concurrency per endpoint', () => {
  const clock = new Clock();

  // The circuit stays out of it (429s count against it): this is about the in-flight limit.
  const s = deliverySuite({ now: clock.now, env: { HERALD_ENDPOINT_CONCURRENCY: String(CAP), HERALD_CIRCUIT_FAILURES: '0', HERALD_RETRY_SCHEDULE: '10s' } });

  it('429s halve the limit down to 1; answers raise it again, and the endpoint sees no more in flight than the limit', async () => {
    const app = await createApp(s.h);
    let status = 429;
    s.rx.on('/aimd', () => ({ status, delayMs: 30 }));
    const ep = await createEndpoint(s.h, app.id, s.rx, '/aimd');
    const health = () => s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/health`, 200);
    expect((await health()).concurrencyLimit).toBe(CAP);

    // Four 429s, one after another: 8 → 4 → 2 → 1 → 1.
    for (let i = 0; i < 4; i++) await attemptRecorded(s.h, (await sendMessage(s.h, app.id)).id, ep.id, 1);
    expect((await health()).concurrencyLimit).toBe(1);

    // A burst of twelve while the limit is 1, the endpoint answering again: the first two never overlap
    // (one in flight until the first answer raises the limit to 2), and never as many as the cap.
    status = 200;
    const before = s.rx.received('/aimd').length;
    const burst = await Promise.all(Array.from({ length: 12 }, () => sendMessage(s.h, app.id)));
    // Deliveries over the limit are put back briefly (100 ms), so the injected clock moves on meanwhile.
    await until('the burst to be delivered', async () => {
      const rows = await Promise.all(burst.map((m) => taskRow(s.h, m.id, ep.id)));
      if (rows.every((r) => r?.status === 0)) return true;
      clock.advance(100);
      s.h.wake();
      return false;
    });
    const sent = s.rx.received('/aimd').slice(before);
    expect(sent).toHaveLength(12);
    expect(sent[1]!.hr).toBeGreaterThanOrEqual(sent[0]!.answeredHr!);
    expect(mostAtOnce(sent)).toBeLessThan(CAP);
    // Back up: twelve answers from 1 is past 4 (1 + 1 + 1/2 + 1/2.5 + …).
    expect((await health()).concurrencyLimit).toBeGreaterThanOrEqual(4);
  });

  it('a 429 without Retry-After waits twice its scheduled delay for the retry; a 500 does not', async () => {
    const app = await createApp(s.h);
    s.rx.on('/slow-429', { status: 429 });
    s.rx.on('/plain-500', { status: 500 });
    const a = await createEndpoint(s.h, app.id, s.rx, '/slow-429');
    const b = await createEndpoint(s.h, app.id, s.rx, '/plain-500');
    const m = await sendMessage(s.h, app.id);
    const ta = await attemptRecorded(s.h, m.id, a.id, 1);
    const tb = await attemptRecorded(s.h, m.id, b.id, 1);
    // 10 s ± 20% for the 500; twice that for the 429.
    expect(tb.next_attempt_at! - clock.t).toBeGreaterThanOrEqual(8_000);
    expect(tb.next_attempt_at! - clock.t).toBeLessThanOrEqual(12_000);
    expect(ta.next_attempt_at! - clock.t).toBeGreaterThanOrEqual(16_000);
    expect(ta.next_attempt_at! - clock.t).toBeLessThanOrEqual(24_000);
  });
});
