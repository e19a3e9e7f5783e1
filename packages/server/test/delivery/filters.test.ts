// Who gets what: fan-out by event type and channel (disabled endpoints skipped), resend (one
// manual attempt, never retried), recover (failed deliveries since a time, as a background task),
// send-example, and delivery status as the API shows it (pending → sending → success / fail in
// list-attempted-messages, list-attempted-destinations and endpoint stats).

import { beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../helpers/inproc.js';
import {
  attemptRecorded,
  attemptsOf,
  createApp,
  createEndpoint,
  createEventType,
  deliverySuite,
  destination,
  sendMessage,
  settled,
  taskRow,
  uniq,
  until,
} from './harness.js';

const sorted = (xs: Iterable<string>) => [...xs].sort();

// ---------------------------------------------------------------------------------------------
describe('fan-out: each message goes only to the endpoints it matches', () => {
  const s = deliverySuite();

  it('filters by event type and channel and skips disabled endpoints', async () => {
    const A = uniq('contact.created').replaceAll('-', '_');
    const B = uniq('contact.deleted').replaceAll('-', '_');
    await createEventType(s.h, A);
    await createEventType(s.h, B);
    const app = await createApp(s.h);
    const eps = {
      all: await createEndpoint(s.h, app.id, s.rx, '/f-all'),
      typeA: await createEndpoint(s.h, app.id, s.rx, '/f-a', { eventTypes: [A] }),
      typeB: await createEndpoint(s.h, app.id, s.rx, '/f-b', { filterTypes: [B] }),
      eu: await createEndpoint(s.h, app.id, s.rx, '/f-eu', { channels: ['eu'] }),
      aEuUs: await createEndpoint(s.h, app.id, s.rx, '/f-a-eu-us', { eventTypes: [A], channels: ['eu', 'us'] }),
      off: await createEndpoint(s.h, app.id, s.rx, '/f-off', { disabled: true }),
      offLater: await createEndpoint(s.h, app.id, s.rx, '/f-off-later'),
    };
    await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${eps.offLater.id}`, 200, { disabled: true });

    const m1 = await sendMessage(s.h, app.id, { eventType: A });
    const m2 = await sendMessage(s.h, app.id, { eventType: B, channels: ['eu'] });
    const m3 = await sendMessage(s.h, app.id, { eventType: A, channels: ['us'] });
    const m4 = await sendMessage(s.h, app.id, { eventType: B, channels: ['asia'] });

    const expected: Record<keyof typeof eps, string[]> = {
      all: [m1.id, m2.id, m3.id, m4.id],
      typeA: [m1.id, m3.id],
      typeB: [m2.id, m4.id],
      eu: [m2.id],
      aEuUs: [m3.id],
      off: [],
      offLater: [],
    };
    const paths: Record<keyof typeof eps, string> = {
      all: '/f-all',
      typeA: '/f-a',
      typeB: '/f-b',
      eu: '/f-eu',
      aEuUs: '/f-a-eu-us',
      off: '/f-off',
      offLater: '/f-off-later',
    };

    // Every expected delivery completes...
    for (const [k, ids] of Object.entries(expected) as [keyof typeof eps, string[]][]) {
      for (const id of ids) expect((await settled(s.h, id, eps[k].id)).status, `${k} ← ${id}`).toBe(0);
    }
    // ...and no other delivery exists (the API's view: destinations per message).
    for (const m of [m1, m2, m3, m4]) {
      const page = await s.h.call('GET', `/api/v1/app/${app.id}/msg/${m.id}/endpoint`, 200);
      const want = (Object.keys(expected) as (keyof typeof eps)[]).filter((k) => expected[k].includes(m.id)).map((k) => eps[k].id);
      expect(sorted(page.data.map((d: any) => d.id)), `destinations of ${m.id}`).toEqual(sorted(want));
    }
    // The receiver saw exactly that, once each.
    for (const [k, ids] of Object.entries(expected) as [keyof typeof eps, string[]][]) {
      const got = s.rx.received(paths[k]).map((r) => String(r.headers['svix-id']));
      expect(sorted(got), k).toEqual(sorted(ids));
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('resend', () => {
  const s = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: '100ms' } });

  const resend = (appId: string, msgId: string, epId: string) => s.h.call('POST', `/api/v1/app/${appId}/msg/${msgId}/endpoint/${epId}/resend`, 202, {});

  it('sends a delivered message once more, as a manual attempt with the same svix-id', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/resend-ok');
    const msg = await sendMessage(s.h, app.id, { payload: { n: 1 } });
    await settled(s.h, msg.id, ep.id);
    expect(await resend(app.id, msg.id, ep.id)).toEqual({});
    const reqs = await s.rx.waitForCount(2, { path: '/resend-ok' });
    expect(reqs.map((r) => r.headers['svix-id'])).toEqual([msg.id, msg.id]);
    expect(reqs[1]!.text).toBe(reqs[0]!.text);
    await until('the manual attempt to be recorded', async () => (await attemptsOf(s.h, app.id, msg.id)).length === 2);
    const attempts = await attemptsOf(s.h, app.id, msg.id);
    expect(attempts.map((a) => [a.triggerType, a.statusText])).toEqual([
      [0, 'success'],
      [1, 'success'],
    ]);
  });

  it('makes exactly one manual attempt on a failing endpoint, which is not retried', async () => {
    s.rx.on('/resend-fail', { status: 500 });
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/resend-fail');
    const msg = await sendMessage(s.h, app.id);
    expect((await settled(s.h, msg.id, ep.id)).attempt_count).toBe(2);
    await resend(app.id, msg.id, ep.id);
    await s.rx.waitForCount(3, { path: '/resend-fail' });
    const t = await settled(s.h, msg.id, ep.id);
    expect(t.status).toBe(2);
    // The store has nothing more to hand out for this delivery: no next attempt, ever.
    expect(t.next_attempt_at).toBeNull();
    // A positive marker: a later message to the same endpoint runs its whole schedule; a retry
    // of the manual attempt, had one been scheduled, would have been due before it finished.
    const marker = await sendMessage(s.h, app.id);
    expect((await settled(s.h, marker.id, ep.id)).attempt_count).toBe(2);
    expect(s.rx.forMessage('/resend-fail', msg.id)).toHaveLength(3);
    const attempts = await attemptsOf(s.h, app.id, msg.id);
    expect(attempts.map((a) => [a.triggerType, a.statusText])).toEqual([
      [0, 'fail'],
      [0, 'fail'],
      [1, 'fail'],
    ]);
  });

  it('bypasses the event-type filter (the message never went to this endpoint)', async () => {
    const T = uniq('only.this').replaceAll('-', '_');
    await createEventType(s.h, T);
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/resend-unmatched', { eventTypes: [T] });
    const msg = await sendMessage(s.h, app.id, { eventType: 'something.else' });
    expect(await taskRow(s.h, msg.id, ep.id)).toBeUndefined();
    await resend(app.id, msg.id, ep.id);
    const [r] = await s.rx.waitForCount(1, { path: '/resend-unmatched' });
    expect(r!.headers['svix-id']).toBe(msg.id);
    await until('the manual attempt', async () => (await attemptsOf(s.h, app.id, msg.id, ep.id)).length === 1);
    expect((await attemptsOf(s.h, app.id, msg.id, ep.id))[0]).toMatchObject({ triggerType: 1, statusText: 'success' });
  });

  it('does not send to a disabled endpoint', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/resend-disabled');
    const msg = await sendMessage(s.h, app.id);
    await settled(s.h, msg.id, ep.id);
    await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { disabled: true });
    const r = await s.h.inject('POST', `/api/v1/app/${app.id}/msg/${msg.id}/endpoint/${ep.id}/resend`, { body: {} });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    // Nothing was queued: the delivery is still finished in the store.
    expect(await taskRow(s.h, msg.id, ep.id)).toMatchObject({ attempt_count: 1, next_attempt_at: null });
    // A positive marker: enabled again, the endpoint gets a new message, and still only the one
    // delivery of the first.
    await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { disabled: false });
    const marker = await sendMessage(s.h, app.id);
    await s.rx.waitForCount(2, { path: '/resend-disabled' });
    expect((await settled(s.h, marker.id, ep.id)).status).toBe(0);
    expect(s.rx.forMessage('/resend-disabled', msg.id)).toHaveLength(1);
    expect(s.rx.received('/resend-disabled')).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
describe('resend while scheduled retries are pending (injected clock, default schedule)', () => {
  const clock = new Clock('2026-04-01T00:00:00Z');
  const s = deliverySuite({ now: clock.now });

  it('a failed manual resend does not cancel the scheduled retries (Svix runs them as separate tasks)', async () => {
    s.rx.on('/resend-mid', { status: 500 });
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/resend-mid');
    const msg = await sendMessage(s.h, app.id);
    const first = await attemptRecorded(s.h, msg.id, ep.id, 1);
    expect(first.status).toBe(1);
    const scheduledAt = first.next_attempt_at!;

    await s.h.call('POST', `/api/v1/app/${app.id}/msg/${msg.id}/endpoint/${ep.id}/resend`, 202, {});
    await s.rx.waitForCount(2, { path: '/resend-mid' });
    await until('the manual attempt', async () => (await attemptsOf(s.h, app.id, msg.id)).length === 2);

    // The delivery is still being retried on its schedule.
    const d = await destination(s.h, app.id, msg.id, ep.id);
    expect(d.statusText).toBe('pending');
    expect(d.nextAttempt).not.toBeNull();
    clock.t = Math.max(scheduledAt, clock.t) + 1;
    s.h.wake();
    await s.rx.waitForCount(3, { path: '/resend-mid', timeoutMs: 3000 });
    await until('the scheduled retry', async () => (await attemptsOf(s.h, app.id, msg.id)).length === 3);
    expect((await attemptsOf(s.h, app.id, msg.id)).map((a) => a.triggerType)).toEqual([0, 1, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('recover', () => {
  const clock = new Clock('2026-02-01T00:00:00Z');
  let healthy = false;
  const s = deliverySuite({ now: clock.now, env: { HERALD_RETRY_SCHEDULE: 'none' } });
  beforeAll(async () => {
    s.rx.otherwise((r) => (healthy || JSON.parse(r.text).ok ? { status: 200 } : { status: 503, body: 'maintenance' }));
  });

  let recoverTaskId = '';

  it('re-sends, once each as manual attempts, the failed deliveries since the given time and nothing else', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/recover');
    const old = await sendMessage(s.h, app.id, { payload: { n: 0 } });
    expect((await settled(s.h, old.id, ep.id)).status).toBe(2);

    clock.advance(2 * 3600 * 1000);
    const failed = [];
    for (let n = 1; n <= 3; n++) failed.push(await sendMessage(s.h, app.id, { payload: { n } }));
    const good = await sendMessage(s.h, app.id, { payload: { ok: true } });
    for (const m of failed) expect((await settled(s.h, m.id, ep.id)).status).toBe(2);
    expect((await settled(s.h, good.id, ep.id)).status).toBe(0);
    expect(s.rx.received('/recover')).toHaveLength(5);

    healthy = true;
    clock.advance(1000);
    const since = new Date(clock.t - 3600 * 1000).toISOString();
    const res = await s.h.call('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/recover`, 202, { since });
    expect(res).toMatchObject({ status: 'running', task: 'endpoint.recover' });
    expect(res.id).toMatch(/^qtask_/);
    recoverTaskId = res.id;

    // Recover runs after the answer, in the background: wait for the re-sends to arrive.
    await s.rx.waitForCount(8, { path: '/recover' });
    for (const m of failed) {
      await until(`${m.id} recovered`, async () => (await taskRow(s.h, m.id, ep.id))?.status === 0);
    }
    for (const m of failed) {
      expect(s.rx.forMessage('/recover', m.id)).toHaveLength(2);
      const attempts = await attemptsOf(s.h, app.id, m.id);
      expect(attempts.map((a) => [a.triggerType, a.statusText])).toEqual([
        [0, 'fail'],
        [1, 'success'],
      ]);
    }
    // Before `since`, and already delivered: left alone.
    expect(s.rx.forMessage('/recover', old.id)).toHaveLength(1);
    expect(s.rx.forMessage('/recover', good.id)).toHaveLength(1);
    expect((await taskRow(s.h, old.id, ep.id))!.status).toBe(2);
    healthy = false;
  });

  it('the recover task can be looked up and reports how many messages it sent', async () => {
    expect(recoverTaskId).not.toBe('');
    const t = await until('the recover task to finish', async () => {
      const r = await s.h.inject('GET', `/api/v1/background-task/${recoverTaskId}`);
      return r.status === 200 && r.json.status === 'finished' ? r.json : r.status === 404 ? { notFound: r.text } : undefined;
    });
    expect(t).toMatchObject({ id: recoverTaskId, status: 'finished', task: 'endpoint.recover', data: { messagesSent: 3 } });
  });
});

// ---------------------------------------------------------------------------------------------
describe('send-example', () => {
  const s = deliverySuite();

  it('delivers the event type’s example payload to that endpoint only', async () => {
    const name = uniq('voucher.issued').replaceAll('-', '_');
    const examples = [
      { voucherId: 'v-1', contact: { id: 'c-1', email: 'a@example.com' }, amount: 100 },
      { voucherId: 'v-2', amount: 5 },
    ];
    await createEventType(s.h, name, { schemas: { '1': { type: 'object', examples } } });
    const other = uniq('other.type').replaceAll('-', '_');
    await createEventType(s.h, other);
    const app = await createApp(s.h);
    // Forced to this endpoint even though its filter does not list the type.
    const ep = await createEndpoint(s.h, app.id, s.rx, '/example', { eventTypes: [other] });
    const bystander = await createEndpoint(s.h, app.id, s.rx, '/example-bystander');

    const r = await s.h.inject('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/send-example`, { body: { eventType: name } });
    expect([200, 202]).toContain(r.status);
    expect(r.json.id).toMatch(/^msg_/);
    const [got] = await s.rx.waitForCount(1, { path: '/example' });
    expect(JSON.parse(got!.text)).toEqual(examples[0]);
    expect(got!.headers['svix-id']).toBe(r.json.id);

    const r2 = await s.h.inject('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/send-example`, { body: { eventType: name, exampleIndex: 1 } });
    expect([200, 202]).toContain(r2.status);
    const [, got2] = await s.rx.waitForCount(2, { path: '/example' });
    expect(JSON.parse(got2!.text)).toEqual(examples[1]);

    await settled(s.h, r2.json.id, ep.id);
    expect(await taskRow(s.h, r.json.id, bystander.id)).toBeUndefined();
    expect(s.rx.received('/example-bystander')).toHaveLength(0);
  });

  it('sends {"success": true} for svix.ping', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/ping');
    const r = await s.h.inject('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/send-example`, { body: { eventType: 'svix.ping' } });
    expect([200, 202]).toContain(r.status);
    const [got] = await s.rx.waitForCount(1, { path: '/ping' });
    expect(JSON.parse(got!.text)).toEqual({ success: true });
  });
});

// ---------------------------------------------------------------------------------------------
describe('delivery status in the API: pending, sending, success, fail, and endpoint stats', () => {
  const clock = new Clock('2026-06-01T00:00:00Z');
  const s = deliverySuite({ now: clock.now, env: { HERALD_RETRY_SCHEDULE: '10s' } });

  const stats = (appId: string, epId: string) => s.h.call('GET', `/api/v1/app/${appId}/endpoint/${epId}/stats`, 200);
  const attempted = async (appId: string, epId: string, msgId: string) =>
    (await s.h.call('GET', `/api/v1/app/${appId}/endpoint/${epId}/msg`, 200)).data.find((m: any) => m.id === msgId);

  it('moves each delivery through its states, visible in list-attempted-messages, list-attempted-destinations and stats', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    s.rx.on('/st-ok', { status: 200 });
    s.rx.on('/st-fail', { status: 500 });
    s.rx.on('/st-held', () => gate.then(() => ({ status: 200 })));
    const app = await createApp(s.h);
    const ok = await createEndpoint(s.h, app.id, s.rx, '/st-ok');
    const bad = await createEndpoint(s.h, app.id, s.rx, '/st-fail');
    const held = await createEndpoint(s.h, app.id, s.rx, '/st-held');

    const msg = await sendMessage(s.h, app.id);
    await settled(s.h, msg.id, ok.id);
    await attemptRecorded(s.h, msg.id, bad.id, 1);
    await s.rx.waitForCount(1, { path: '/st-held' });

    // While the held endpoint has not answered: sending; the failed one: pending with a next attempt.
    expect(await destination(s.h, app.id, msg.id, ok.id)).toMatchObject({ status: 0, statusText: 'success', nextAttempt: null });
    const pendingDest = await destination(s.h, app.id, msg.id, bad.id);
    expect(pendingDest).toMatchObject({ status: 1, statusText: 'pending' });
    expect(Date.parse(pendingDest.nextAttempt)).toBeGreaterThan(clock.t);
    expect(await destination(s.h, app.id, msg.id, held.id)).toMatchObject({ status: 3, statusText: 'sending' });

    expect(await attempted(app.id, ok.id, msg.id)).toMatchObject({ status: 0, statusText: 'success' });
    expect(await attempted(app.id, bad.id, msg.id)).toMatchObject({ status: 1, statusText: 'pending' });
    expect(await attempted(app.id, held.id, msg.id)).toMatchObject({ status: 3, statusText: 'sending' });

    expect(await stats(app.id, ok.id)).toMatchObject({ success: 1, pending: 0, sending: 0, fail: 0 });
    expect(await stats(app.id, bad.id)).toMatchObject({ success: 0, pending: 1, sending: 0, fail: 0 });
    expect(await stats(app.id, held.id)).toMatchObject({ success: 0, pending: 0, sending: 1, fail: 0 });

    // The held one answers: success. The failing one's last retry fails: fail.
    release();
    expect((await settled(s.h, msg.id, held.id)).status).toBe(0);
    clock.advance(13_000);
    s.h.wake();
    expect((await settled(s.h, msg.id, bad.id)).status).toBe(2);

    expect(await destination(s.h, app.id, msg.id, held.id)).toMatchObject({ status: 0, statusText: 'success' });
    expect(await destination(s.h, app.id, msg.id, bad.id)).toMatchObject({ status: 2, statusText: 'fail', nextAttempt: null });
    expect(await attempted(app.id, bad.id, msg.id)).toMatchObject({ status: 2, statusText: 'fail' });
    expect(await stats(app.id, held.id)).toMatchObject({ success: 1, pending: 0, sending: 0, fail: 0 });
    expect(await stats(app.id, bad.id)).toMatchObject({ success: 0, pending: 0, sending: 0, fail: 1 });

    // Filtering list-attempted-messages by status.
    const failed = await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${bad.id}/msg?status=2`, 200);
    expect(failed.data.map((m: any) => m.id)).toEqual([msg.id]);
    const succeeded = await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${bad.id}/msg?status=0`, 200);
    expect(succeeded.data).toEqual([]);
  });

  it('counts several messages per endpoint in stats', async () => {
    s.rx.on('/st-mixed', (r) => (JSON.parse(r.text).ok ? { status: 200 } : { status: 500 }));
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/st-mixed');
    const msgs = [];
    for (const ok of [true, true, true, false, false]) msgs.push(await sendMessage(s.h, app.id, { payload: { ok } }));
    for (const m of msgs.slice(0, 3)) expect((await settled(s.h, m.id, ep.id)).status).toBe(0);
    for (const m of msgs.slice(3)) await attemptRecorded(s.h, m.id, ep.id, 1);
    expect(await stats(app.id, ep.id)).toMatchObject({ success: 3, pending: 2, sending: 0, fail: 0 });
    clock.advance(13_000);
    s.h.wake();
    for (const m of msgs.slice(3)) expect((await settled(s.h, m.id, ep.id)).status).toBe(2);
    expect(await stats(app.id, ep.id)).toMatchObject({ success: 3, pending: 0, sending: 0, fail: 2 });
  });
});
