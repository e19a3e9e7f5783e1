// Auto-disable: an endpoint whose deliveries keep exhausting their retries with no success for
// 5 days is disabled, durably, with the reason kept. Time is moved by back-dating
// endpoint.first_failure_at in the real database (and, for the one-failed-attempt rule, with an
// injected clock), never by waiting.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import { rawRow, rawRun } from '../helpers/rows.js';
import { createApp, createEndpoint, deliverySuite, sendMessage, settled, startDelivery, taskRow, until, type DeliveryHerald } from './harness.js';

const DAY = 24 * 3600 * 1000;

async function firstFailureAt(h: DeliveryHerald, epId: string): Promise<number | null> {
  return (await rawRow<{ f: number | null }>(h, 'SELECT first_failure_at AS f FROM endpoint WHERE id = ?', [epId]))!.f;
}

/** Move the start of the endpoint's failure streak `ms` into the past. */
async function backdate(h: DeliveryHerald, epId: string, ms: number): Promise<void> {
  const changed = await rawRun(h, 'UPDATE endpoint SET first_failure_at = first_failure_at - ? WHERE id = ? AND first_failure_at IS NOT NULL', [ms, epId]);
  expect(changed).toBe(1);
}

describe('auto-disable after 5 days of exhausted deliveries (back-dated rows)', () => {
  let rx: Receiver;
  let dataDir: string;
  let h: DeliveryHerald;
  const env = { HERALD_RETRY_SCHEDULE: '50ms' };

  beforeAll(async () => {
    rx = await Receiver.start();
    // Messages say whether this endpoint should fail them.
    rx.otherwise((r) => (JSON.parse(r.text).fail ? { status: 500, body: 'down' } : { status: 200 }));
    dataDir = mkdtempSync(join(tmpdir(), 'herald-autodisable-'));
    h = await startDelivery({ dataDir, env });
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function restart(): Promise<void> {
    await h.close();
    h = await startDelivery({ dataDir, env });
  }

  async function exhaust(appId: string, epId: string): Promise<string> {
    const m = await sendMessage(h, appId, { payload: { fail: true } });
    const t = await settled(h, m.id, epId);
    expect(t.status).toBe(2);
    expect(t.attempt_count).toBe(2);
    return m.id;
  }

  it('disables the endpoint when a delivery exhausts 5 days after the first one did, keeps the reason across restarts', async () => {
    const app = await createApp(h);
    const ep = await createEndpoint(h, app.id, rx, '/streak');
    expect(await firstFailureAt(h, ep.id)).toBeNull();

    await exhaust(app.id, ep.id);
    const started = await firstFailureAt(h, ep.id);
    expect(started).not.toBeNull();
    expect(Math.abs(started! - Date.now())).toBeLessThan(60_000);
    expect((await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200)).disabled).toBe(false);

    // The streak is durable: it survives a restart.
    await restart();
    expect(await firstFailureAt(h, ep.id)).toBe(started);

    await backdate(h, ep.id, 5 * DAY + 60_000);
    const m2 = await exhaust(app.id, ep.id);
    const got = await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200);
    expect(got.disabled).toBe(true);
    expect(typeof got.disabledReason).toBe('string');
    expect(got.disabledReason.length).toBeGreaterThan(0);
    expect(rx.forMessage('/streak', m2)).toHaveLength(2);

    // Disabled endpoints get nothing more.
    const m3 = await sendMessage(h, app.id, { payload: { fail: false } });
    expect(await taskRow(h, m3.id, ep.id)).toBeUndefined();

    // Durable: disabled, with the same reason, after a restart.
    await restart();
    const again = await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200);
    expect(again.disabled).toBe(true);
    expect(again.disabledReason).toBe(got.disabledReason);
    const listed = await h.call('GET', `/api/v1/app/${app.id}/endpoint`, 200);
    expect(listed.data.find((e: any) => e.id === ep.id)).toMatchObject({ disabled: true });
    const m4 = await sendMessage(h, app.id, { payload: { fail: false } });
    expect(await taskRow(h, m4.id, ep.id)).toBeUndefined();
    expect(rx.forMessage('/streak', m4.id)).toHaveLength(0);
  });

  it('does not disable before 5 days have passed', async () => {
    const app = await createApp(h);
    const ep = await createEndpoint(h, app.id, rx, '/four-days');
    await exhaust(app.id, ep.id);
    await backdate(h, ep.id, 4 * DAY);
    await exhaust(app.id, ep.id);
    const got = await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200);
    expect(got.disabled).toBe(false);
    expect(got.disabledReason ?? null).toBeNull();
    // The streak still runs from the first exhaustion.
    expect(Date.now() - (await firstFailureAt(h, ep.id))!).toBeGreaterThanOrEqual(4 * DAY);
  });

  it('a success in between clears the streak', async () => {
    const app = await createApp(h);
    const ep = await createEndpoint(h, app.id, rx, '/cleared');
    await exhaust(app.id, ep.id);
    await backdate(h, ep.id, 6 * DAY);

    const ok = await sendMessage(h, app.id, { payload: { fail: false } });
    expect((await settled(h, ok.id, ep.id)).status).toBe(0);
    expect(await firstFailureAt(h, ep.id)).toBeNull();

    await exhaust(app.id, ep.id);
    const got = await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200);
    expect(got.disabled).toBe(false);
    // A new streak, starting now.
    expect(Math.abs((await firstFailureAt(h, ep.id))! - Date.now())).toBeLessThan(60_000);
  });

  it('a success on a retry also clears the streak', async () => {
    const app = await createApp(h);
    rx.on('/retry-ok', Receiver.sequence({ status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }));
    const ep = await createEndpoint(h, app.id, rx, '/retry-ok');
    const m1 = await sendMessage(h, app.id);
    expect((await settled(h, m1.id, ep.id)).status).toBe(2);
    await backdate(h, ep.id, 6 * DAY);
    // Fails once, then succeeds on its retry.
    const m2 = await sendMessage(h, app.id);
    expect((await settled(h, m2.id, ep.id)).status).toBe(0);
    expect(await firstFailureAt(h, ep.id)).toBeNull();
    expect((await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200)).disabled).toBe(false);
  });
});

describe('auto-disable counts exhausted deliveries only (injected clock, default schedule)', () => {
  const clock = new Clock('2026-05-01T00:00:00Z');
  const s = deliverySuite({ now: clock.now });
  beforeAll(async () => {
    s.rx.otherwise({ status: 500 });
  });

  /** Walk one message through every scheduled attempt by moving the clock; returns when it is fail. */
  async function walkToExhaustion(msgId: string, epId: string): Promise<void> {
    for (let n = 1; n <= 8; n++) {
      const t = await until(`attempt ${n}`, async () => {
        const r = await taskRow(s.h, msgId, epId);
        return r && r.attempt_count === n && r.lease_owner === null ? r : undefined;
      });
      if (n === 8) {
        expect(t.status).toBe(2);
        return;
      }
      clock.t = t.next_attempt_at!;
      s.h.wake();
    }
  }

  it('a failed attempt with retries left does not start the streak; days of failures with no exhaustion do not disable', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/clocked');
    const m1 = await sendMessage(s.h, app.id);
    await until('first attempt', async () => {
      const r = await taskRow(s.h, m1.id, ep.id);
      return r?.attempt_count === 1 && r.lease_owner === null;
    });
    expect(await firstFailureAt(s.h, ep.id)).toBeNull();

    await walkToExhaustion(m1.id, ep.id);
    const started = await firstFailureAt(s.h, ep.id);
    expect(started).toBe(clock.t);

    // Five days and a bit later another message exhausts: now the endpoint is disabled.
    clock.advance(5 * DAY);
    const m2 = await sendMessage(s.h, app.id);
    await walkToExhaustion(m2.id, ep.id);
    const got = await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200);
    expect(got.disabled).toBe(true);
    expect(got.disabledReason).toEqual(expect.any(String));
  });
});
