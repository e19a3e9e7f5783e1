// The circuit breaker per endpoint, end to end against a loopback receiver on either store, with
// an injected clock: failures in a row open the circuit; due deliveries are then held (no attempt,
// no retry used, shown as held); after the cool-down exactly one delivery probes; a failed probe
// re-opens it with the cool-down doubled; a successful one closes it and releases the held
// deliveries. 4xx answers other than 429 do not count. "Not attempted" is read from the store's
// rows after a positive marker (the probe's attempt) has arrived.

import { describe, expect, it } from 'vitest';
import { Clock } from '../helpers/inproc.js';
import { rawRow } from '../helpers/rows.js';
import { attemptRecorded, createApp, createEndpoint, deliverySuite, destination, sendMessage, until, type DeliveryHerald } from './harness.js';

const S = 1000;

interface Row {
  held_by: string | null;
  attempt_count: number;
  lease_owner: string | null;
  status: number;
  next_attempt_at: number | null;
}
const row = async (h: DeliveryHerald, msgId: string, epId: string) =>
  (await rawRow<Row>(h, 'SELECT held_by, attempt_count, lease_owner, status, next_attempt_at FROM delivery_task WHERE msg_id = ? AND endpoint_id = ?', [
    msgId,
    epId,
  ]))!;

describe('the circuit breaker per endpoint', () => {
  const clock = new Clock();

  const s = deliverySuite({
    now: clock.now,
    env: { HERALD_RETRY_SCHEDULE: '1s,1s,1s,1s,1s', HERALD_CIRCUIT_FAILURES: '3', HERALD_CIRCUIT_COOLDOWN: '30s', HERALD_CIRCUIT_MAX_COOLDOWN: '10m' },
  });

  it('opens after the failures in a row, holds without attempts, probes once per cool-down, closes and releases', async () => {
    let status = 503;
    s.rx.on('/cb', () => ({ status }));
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/cb');
    const circuit = () => s.h.herald.store.getCircuit(ep.id);

    // Three failures in a row (one attempt of each of three messages) open the circuit.
    const first: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await sendMessage(s.h, app.id);
      await attemptRecorded(s.h, m.id, ep.id, 1);
      first.push(m.id);
    }
    const opened = await circuit();
    expect(opened).toMatchObject({ state: 'open', consecutiveFailures: 3, since: clock.t, nextProbeAt: clock.t + 30 * S });
    const health = `/api/v1/app/${app.id}/endpoint/${ep.id}/health`;
    expect(await s.h.call('GET', health, 200)).toEqual({
      circuit: 'open',
      since: new Date(clock.t).toISOString(),
      consecutiveFailures: 3,
      nextProbeAt: new Date(clock.t + 30 * S).toISOString(),
      inFlight: 0,
      concurrencyLimit: expect.any(Number),
    });
    // A portal token reads only its own application's endpoints.
    const mine = (await s.h.call('POST', `/api/v1/auth/app-portal-access/${app.id}`, 200, { permissions: ['view'] })).token;
    expect((await s.h.inject('GET', health, { token: mine })).status).toBe(200);
    const other = await createApp(s.h);
    const theirs = (await s.h.call('POST', `/api/v1/auth/app-portal-access/${other.id}`, 200, {})).token;
    expect((await s.h.inject('GET', health, { token: theirs })).status).toBe(403);
    expect((await s.h.inject('GET', `/api/v1/app/${other.id}/endpoint/${ep.id}/health`, { token: theirs })).status).toBe(404);

    // Due deliveries are held: a new message and the three retries, none attempted.
    const later = await sendMessage(s.h, app.id);
    clock.advance(2 * S);
    s.h.wake();
    for (const id of [later.id, ...first]) await until(`${id} held`, async () => (await row(s.h, id, ep.id)).held_by === 'circuit');
    expect((await row(s.h, later.id, ep.id)).attempt_count).toBe(0);
    for (const id of first) expect((await row(s.h, id, ep.id)).attempt_count).toBe(1);
    expect(s.rx.received('/cb')).toHaveLength(3);
    expect((await destination(s.h, app.id, later.id, ep.id)).heldBy).toBe('circuit');

    // After the cool-down exactly one of the four probes, fails, and the circuit re-opens for twice as long.
    clock.t = opened.nextProbeAt!;
    s.h.wake();
    await until('the probe to fail', async () => (await circuit()).consecutiveFailures === 4);
    const reopened = await circuit();
    expect(reopened).toMatchObject({ state: 'open', since: opened.since, cooldownMs: 60 * S, nextProbeAt: clock.t + 60 * S });
    await until('every delivery back, none leased', async () => {
      const rows = await Promise.all([later.id, ...first].map((id) => row(s.h, id, ep.id)));
      return rows.every((r) => r.lease_owner === null && r.status === 1);
    });
    expect(s.rx.received('/cb')).toHaveLength(4);
    const counts = await Promise.all([later.id, ...first].map(async (id) => (await row(s.h, id, ep.id)).attempt_count));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3 + 1);

    // The endpoint recovers: the next probe succeeds, the circuit closes and every held delivery goes out once.
    const before = new Map([later.id, ...first].map((id) => [id, s.rx.forMessage('/cb', id).length]));
    status = 200;
    clock.t = reopened.nextProbeAt!;
    s.h.wake();
    // Released at a rising rate: one in flight at first (the endpoint's limit starts from 1 again),
    // the rest put back briefly, so the clock has to move on for them.
    await until('every held delivery to be delivered', async () => {
      const rows = await Promise.all([later.id, ...first].map((id) => row(s.h, id, ep.id)));
      if (rows.every((r) => r.status === 0)) return true;
      clock.advance(100);
      s.h.wake();
      return false;
    });
    const closed = await circuit();
    expect(closed).toMatchObject({ state: 'closed', consecutiveFailures: 0, nextProbeAt: null });
    expect(closed.since).toBeGreaterThanOrEqual(reopened.nextProbeAt!);
    expect(await s.h.call('GET', health, 200)).toMatchObject({
      circuit: 'closed',
      since: new Date(closed.since!).toISOString(),
      consecutiveFailures: 0,
      nextProbeAt: null,
    });
    for (const id of [later.id, ...first]) expect(s.rx.forMessage('/cb', id)).toHaveLength(before.get(id)! + 1);
    expect((await destination(s.h, app.id, later.id, ep.id)).heldBy).toBeNull();
  });

  it("an open circuit's probe has until its endpoint's own timeout (and the margin to record it)", async () => {
    // The probe's answer waits until the test has read the half-open circuit.
    let hold: Promise<void> | null = null;
    let release = () => {};
    s.rx.on('/cb-timeout', async () => {
      if (hold) await hold;
      return { status: 503 };
    });
    const app = await createApp(s.h);
    // The server's timeout is 15 s; this endpoint's is 2 s.
    const ep = await createEndpoint(s.h, app.id, s.rx, '/cb-timeout', { timeout: 2 });
    for (let i = 0; i < 3; i++) {
      const m = await sendMessage(s.h, app.id);
      await attemptRecorded(s.h, m.id, ep.id, 1);
    }
    const opened = await s.h.herald.store.getCircuit(ep.id);
    expect(opened.state).toBe('open');
    hold = new Promise<void>((r) => (release = r));
    clock.t = opened.nextProbeAt!;
    s.h.wake();
    await until('the probe to be claimed', async () => (await s.h.herald.store.getCircuit(ep.id)).state === 'half-open');
    // 5 s: the dispatcher's margin for recording the probe's attempt.
    expect((await s.h.herald.store.getCircuit(ep.id)).probeUntil).toBe(clock.t + 2 * S + 5 * S);
    release();
    await until('the probe to fail', async () => (await s.h.herald.store.getCircuit(ep.id)).consecutiveFailures === 4);
  });

  it('a held delivery has not ended: at an endpoint ordered by key, the next message of its key stays parked', async () => {
    let status = 503;
    s.rx.on('/cb-order', () => ({ status }));
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/cb-order', { ordering: 'key' });
    const m1 = await sendMessage(s.h, app.id, { orderingKey: 'k' });
    const m2 = await sendMessage(s.h, app.id, { orderingKey: 'k' });
    expect((await destination(s.h, app.id, m2.id, ep.id)).waitingFor).toBe(m1.id);
    // m1 fails three times in a row (its retries), which opens the circuit; its next retry is held.
    await attemptRecorded(s.h, m1.id, ep.id, 1);
    for (const n of [2, 3]) {
      clock.advance(2 * S);
      s.h.wake();
      await attemptRecorded(s.h, m1.id, ep.id, n);
    }
    const opened = await s.h.herald.store.getCircuit(ep.id);
    expect(opened.state).toBe('open');
    clock.advance(2 * S);
    s.h.wake();
    await until('m1 held', async () => (await row(s.h, m1.id, ep.id)).held_by === 'circuit');
    const d1 = await destination(s.h, app.id, m1.id, ep.id);
    expect(d1).toMatchObject({ heldBy: 'circuit', waitingFor: null });
    // m2 still waits for m1: parked (no due time), never attempted.
    expect(await destination(s.h, app.id, m2.id, ep.id)).toMatchObject({ waitingFor: m1.id, heldBy: null });
    expect(await row(s.h, m2.id, ep.id)).toMatchObject({ next_attempt_at: null, attempt_count: 0 });
    expect(s.rx.forMessage('/cb-order', m2.id)).toHaveLength(0);

    // m1 probes and succeeds: its turn ends, and only then m2 goes.
    status = 200;
    clock.t = opened.nextProbeAt!;
    s.h.wake();
    await until('m2 delivered', async () => {
      if ((await row(s.h, m2.id, ep.id)).status === 0) return true;
      clock.advance(100);
      s.h.wake();
      return false;
    });
    const got = s.rx.received('/cb-order').map((r) => r.headers['webhook-id'] ?? r.headers['svix-id']);
    expect(got).toEqual([m1.id, m1.id, m1.id, m1.id, m2.id]);
  });

  it('4xx answers other than 429 do not count; 429s do', async () => {
    let status = 404;
    s.rx.on('/cb4xx', () => ({ status }));
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/cb4xx');
    for (let i = 0; i < 4; i++) {
      const m = await sendMessage(s.h, app.id);
      await attemptRecorded(s.h, m.id, ep.id, 1);
    }
    expect(await s.h.herald.store.getCircuit(ep.id)).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    status = 429;
    for (let i = 0; i < 3; i++) {
      const m = await sendMessage(s.h, app.id);
      await attemptRecorded(s.h, m.id, ep.id, 1);
    }
    expect(await s.h.herald.store.getCircuit(ep.id)).toMatchObject({ state: 'open', consecutiveFailures: 3 });
  });

  it('the 5-day auto-disable still applies to an endpoint whose circuit never closes: its probes exhaust deliveries', async () => {
    s.rx.on('/cb-dead', { status: 502 });
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/cb-dead');
    const firstFailure = async () => (await rawRow<{ f: number | null }>(s.h, 'SELECT first_failure_at AS f FROM endpoint WHERE id = ?', [ep.id]))!.f;
    const disabled = async () => (await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200)).disabled as boolean;
    const msgs = [(await sendMessage(s.h, app.id)).id];
    /** Move the clock past the next probe (and any retry) until `done`; one probe at a time. */
    const probeUntil = async (what: string, done: () => Promise<boolean>) => {
      for (let i = 0; i < 40 && !(await done()); i++) {
        const before = await s.h.herald.store.getCircuit(ep.id);
        clock.advance(11 * 60 * S);
        s.h.wake();
        await until(`a probe (${what})`, async () => {
          const rows = await Promise.all(msgs.map((id) => row(s.h, id, ep.id)));
          return (await s.h.herald.store.getCircuit(ep.id)).version > before.version && rows.every((r) => r.lease_owner === null);
        });
      }
      expect(await done(), what).toBe(true);
    };
    // The circuit opens on the third attempt; the probes are the delivery's next attempts, and the
    // sixth exhausts it: the streak starts then, as it would have without the circuit.
    await probeUntil('the first exhaustion', async () => (await firstFailure()) !== null);
    expect((await row(s.h, msgs[0]!, ep.id)).attempt_count).toBe(6);
    expect((await s.h.herald.store.getCircuit(ep.id)).state).toBe('open');
    expect(await disabled()).toBe(false);

    // Five days on, a new delivery is attempted only as probes; when it exhausts, the endpoint is disabled.
    clock.advance(5 * 24 * 3600 * S);
    msgs.push((await sendMessage(s.h, app.id)).id);
    msgs.push((await sendMessage(s.h, app.id)).id);
    await probeUntil('the endpoint to be disabled', disabled);
    const got = await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200);
    expect(got.disabledReason).toMatch(/5 days/);
    // What the circuit held is released and then canceled, as for any disabled endpoint (a delivery
    // that lost the last probe may be put back after that release: it ends when it is next due).
    for (const id of msgs) {
      await until(`${id} to end`, async () => {
        if ((await row(s.h, id, ep.id)).next_attempt_at === null) return true;
        clock.advance(60 * S);
        s.h.wake();
        return false;
      });
    }
  });
});
