// Operational webhooks (Svix's names and shapes, delivered to the operator's operational
// application like any other message), the Prometheus /metrics route, and graceful stop (attempts
// in flight finish and are recorded; nothing stays leased).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify as heraldVerify } from '@herald/receiver';
import { beforeAll, describe, expect, it } from 'vitest';
import { startInProcess } from '../helpers/inproc.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';
import { rawRow, rawRows } from '../helpers/rows.js';
import { attemptRecorded, createApp, createEndpoint, deliverySuite, getSecret, sendMessage, settled, startDelivery, until } from './harness.js';

const OPS_UID = 'ops-for-tests';

describe('operational webhooks', () => {
  let opsSecret: string;
  const s = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: '50ms,50ms,50ms,50ms,50ms', HERALD_OPERATIONAL_APP: OPS_UID } });
  beforeAll(async () => {
    const ops = await createApp(s.h, { uid: OPS_UID });
    const ep = await createEndpoint(s.h, ops.id, s.rx, '/ops');
    opsSecret = await getSecret(s.h, ops.id, ep.id);
  });

  /** Operational events received so far about `match` (by data field), verified and parsed. */
  function events(type: string, match: Record<string, unknown>): any[] {
    return s.rx
      .received('/ops')
      .map((r: ReceivedRequest) => heraldVerify(r.body, r.headers, opsSecret) as any)
      .filter((e) => e.type === type && Object.entries(match).every(([k, v]) => e.data?.[k] === v));
  }
  const waitEvent = (type: string, match: Record<string, unknown>) => until(`${type} ${JSON.stringify(match)}`, () => events(type, match)[0]);

  it('reports endpoint.created, endpoint.updated and endpoint.deleted', async () => {
    const app = await createApp(s.h, { uid: 'tenant-a' });
    const ep = await createEndpoint(s.h, app.id, s.rx, '/tenant-a', { uid: 'ep-a' });
    const created = await waitEvent('endpoint.created', { endpointId: ep.id });
    expect(created).toMatchObject({ type: 'endpoint.created', data: { appId: app.id, appUid: 'tenant-a', endpointId: ep.id, endpointUid: 'ep-a' } });
    expect(Number.isNaN(Date.parse(created.timestamp))).toBe(false);
    await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { description: 'changed' });
    await waitEvent('endpoint.updated', { endpointId: ep.id });
    await s.h.call('DELETE', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 204);
    await waitEvent('endpoint.deleted', { endpointId: ep.id });
  });

  it('reports message.attempt.failing on the 4th failed attempt and message.attempt.exhausted when retries run out', async () => {
    s.rx.on('/always-fails', { status: 500 });
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/always-fails');
    const msg = await sendMessage(s.h, app.id, { eventId: 'evt-exhaust-1' });
    expect((await settled(s.h, msg.id, ep.id)).status).toBe(2);
    const failing = await waitEvent('message.attempt.failing', { msgId: msg.id });
    expect(failing.data).toMatchObject({ appId: app.id, endpointId: ep.id, msgId: msg.id, msgEventId: 'evt-exhaust-1' });
    expect(failing.data.lastAttempt).toMatchObject({ responseStatusCode: 500 });
    const exhausted = await waitEvent('message.attempt.exhausted', { msgId: msg.id });
    expect(exhausted.data).toMatchObject({ appId: app.id, endpointId: ep.id });
    expect(events('message.attempt.failing', { msgId: msg.id })).toHaveLength(1);
    expect(events('message.attempt.exhausted', { msgId: msg.id })).toHaveLength(1);
  });

  it('reports message.attempt.recovered when a delivery succeeds after failing four or more times', async () => {
    s.rx.on('/late-ok', Receiver.sequence({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }));
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/late-ok');
    const msg = await sendMessage(s.h, app.id);
    expect((await settled(s.h, msg.id, ep.id)).status).toBe(0);
    await waitEvent('message.attempt.recovered', { msgId: msg.id });
  });

  it('reports endpoint.circuit.opened after five failures in a row and endpoint.circuit.closed when a delivery succeeds again', async () => {
    s.rx.on('/breaker', Receiver.sequence({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }));
    const app = await createApp(s.h, { uid: 'tenant-breaker' });
    const ep = await createEndpoint(s.h, app.id, s.rx, '/breaker', { uid: 'ep-breaker' });
    const msg = await sendMessage(s.h, app.id);
    expect((await settled(s.h, msg.id, ep.id)).status).toBe(0);
    const opened = await waitEvent('endpoint.circuit.opened', { endpointId: ep.id });
    expect(opened.data).toEqual({
      appId: app.id,
      appUid: 'tenant-breaker',
      endpointId: ep.id,
      endpointUid: 'ep-breaker',
      consecutiveFailures: 5,
      since: expect.any(String),
    });
    const closed = await waitEvent('endpoint.circuit.closed', { endpointId: ep.id });
    expect(closed.data).toMatchObject({ appId: app.id, endpointId: ep.id, consecutiveFailures: 5 });
    expect(Date.parse(closed.data.since)).toBeGreaterThanOrEqual(Date.parse(opened.data.since));
    expect(events('endpoint.circuit.opened', { endpointId: ep.id })).toHaveLength(1);
    // Metrics count the changes and the circuits open now.
    const metrics = (await s.h.inject('GET', '/metrics')).text;
    expect(metrics).toMatch(/herald_circuit_changes_total\{change="opened"\} [1-9]/);
    expect(metrics).toMatch(/herald_circuit_changes_total\{change="closed"\} [1-9]/);
    expect(metrics).toMatch(/^herald_circuits_open \d+$/m);
  });

  it('reports endpoint.disabled with failSince when an endpoint is disabled', async () => {
    s.rx.on('/gone', { status: 410 });
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/gone');
    const msg = await sendMessage(s.h, app.id);
    await settled(s.h, msg.id, ep.id);
    const ev = await waitEvent('endpoint.disabled', { endpointId: ep.id });
    expect(ev.data).toMatchObject({ appId: app.id, endpointId: ep.id });
    expect(Number.isNaN(Date.parse(ev.data.failSince))).toBe(false);
  });
});

describe('/metrics', () => {
  const s = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: '1h' } });

  it('counts deliveries by outcome (no per-endpoint series), times them, and shows the queue', async () => {
    s.rx.on('/m-ok', { status: 200 });
    s.rx.on('/m-bad', { status: 500 });
    const app = await createApp(s.h);
    const ok = await createEndpoint(s.h, app.id, s.rx, '/m-ok');
    const bad = await createEndpoint(s.h, app.id, s.rx, '/m-bad');
    const msgs = [await sendMessage(s.h, app.id), await sendMessage(s.h, app.id)];
    for (const m of msgs) {
      await settled(s.h, m.id, ok.id);
      await attemptRecorded(s.h, m.id, bad.id, 1);
    }

    expect((await s.h.inject('GET', '/metrics', { token: null })).status).toBe(401);
    const okRe = /^herald_deliveries_total\{outcome="success"\} (\d+)$/m;
    const badRe = /^herald_deliveries_total\{outcome="retry"\} (\d+)$/m;
    let text = '';
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    // The counters move just after the attempt is committed: scrape until all four are counted.
    await until('the four attempts in /metrics', async () => {
      const r = await s.h.inject('GET', '/metrics');
      expect(r.status).toBe(200);
      text = r.text;
      return value(okRe) + value(badRe) >= 4;
    });
    expect(value(okRe)).toBe(2);
    expect(value(badRe)).toBe(2);
    // One series per outcome, whatever the number of endpoints: no endpoint id in any label.
    expect(text).not.toContain(ok.id);
    expect(text).not.toContain(bad.id);
    expect(value(/herald_delivery_duration_seconds_count\{[^}]*outcome="success"[^}]*\} (\d+)/)).toBeGreaterThanOrEqual(2);
    // Two retries wait an hour: queued, not yet due.
    expect(value(/^herald_queue_depth (\d+)/m)).toBe(2);
    expect(value(/^herald_queue_due (\d+)/m)).toBe(0);
    expect(text).toMatch(/^herald_oldest_due_task_age_seconds \d/m);
  });
});

describe('graceful stop', () => {
  it('lets attempts in flight finish and records them, leaving nothing leased', async () => {
    const rx = await Receiver.start();
    rx.on('/slow-stop', { status: 200, delayMs: 400 });
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-stop-'));
    try {
      const h = await startDelivery({ dataDir });
      const app = await createApp(h);
      const ep = await createEndpoint(h, app.id, rx, '/slow-stop');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await sendMessage(h, app.id)).id);
      await rx.waitForCount(5, { path: '/slow-stop' });
      await h.close(); // while all five are waiting for their answers
      expect(rx.received('/slow-stop').every((r) => r.answeredStatus === 200)).toBe(true);

      // What the stopped Herald left, read by a Herald without a dispatcher on the same data.
      const reader = await startInProcess({ dataDir });
      try {
        const tasks = await rawRows(reader, 'SELECT msg_id, status, lease_owner FROM delivery_task WHERE endpoint_id = ?', [ep.id]);
        expect(tasks).toHaveLength(5);
        for (const t of tasks) expect(t).toMatchObject({ status: 0, lease_owner: null });
        const n = (await rawRow<{ n: number }>(reader, 'SELECT COUNT(*) AS n FROM attempt WHERE endpoint_id = ? AND status = 0', [ep.id]))!.n;
        expect(n).toBe(5);
      } finally {
        await reader.close();
      }
    } finally {
      await rx.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves work it had not started to the next start: after a stop mid-way and a restart, each message arrives exactly once', async () => {
    const rx = await Receiver.start();
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-stop-'));
    try {
      let h = await startDelivery({ dataDir });
      const app = await createApp(h);
      // Throttled to 10/s: 30 messages take about 3 s, so a stop after the first few leaves most unsent.
      const ep = await createEndpoint(h, app.id, rx, '/stop-midway', { throttleRate: 10 });
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push((await sendMessage(h, app.id, { payload: { i } })).id);
      await rx.waitForCount(3, { path: '/stop-midway' });
      await h.close();
      const sentBefore = rx.received('/stop-midway').length;
      expect(sentBefore).toBeLessThan(30);

      const reader = await startInProcess({ dataDir });
      try {
        const tasks = await rawRows<{ status: number; lease_owner: string | null; next_attempt_at: number | null }>(
          reader,
          'SELECT status, lease_owner, next_attempt_at FROM delivery_task WHERE endpoint_id = ?',
          [ep.id],
        );
        expect(tasks).toHaveLength(30);
        // Nothing stays leased; everything not yet sent is still due (or scheduled).
        for (const t of tasks) expect(t.lease_owner).toBeNull();
        expect(tasks.filter((t) => t.status !== 0).every((t) => t.next_attempt_at !== null)).toBe(true);
      } finally {
        await reader.close();
      }

      h = await startDelivery({ dataDir });
      try {
        await rx.waitForCount(30, { path: '/stop-midway', timeoutMs: 10_000 });
        for (const id of ids) expect((await settled(h, id, ep.id)).status).toBe(0);
        const seen = rx.received('/stop-midway').map((r) => String(r.headers['svix-id']));
        expect(seen.sort()).toEqual([...ids].sort());
      } finally {
        await h.close();
      }
    } finally {
      await rx.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
