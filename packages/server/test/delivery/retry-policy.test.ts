// Per-tenant retry policy: `retrySchedule` and `timeout` on applications and endpoints. The pure
// resolution rule (domain/policy.ts), the API's validation and answers, and end to end against a
// loopback receiver with an injected clock: the endpoint's schedule wins, then the application's,
// then the server's; `[]` is a single attempt; a timeout cuts a hanging receiver off.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { effectivePolicy, policyIssues } from '../../src/domain/policy.js';
import { Clock } from '../helpers/inproc.js';
import { attemptRecorded, attemptsOf, createApp, createEndpoint, deliverySuite, sendMessage, settled, startDelivery, type DeliveryHerald } from './harness.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const SERVER = { retryScheduleMs: [5 * S, 5 * M], timeoutMs: 15 * S, maxTimeoutMs: 30 * S };

describe('the policy resolution rule (pure)', () => {
  it('takes each field from the endpoint, else the application, else the server', () => {
    expect(effectivePolicy(null, null, SERVER)).toEqual({ retryScheduleMs: SERVER.retryScheduleMs, timeoutMs: 15 * S });
    expect(effectivePolicy(null, { retrySchedule: ['1m', '2h'], timeout: 5 }, SERVER)).toEqual({ retryScheduleMs: [M, 2 * H], timeoutMs: 5 * S });
    expect(effectivePolicy({ retrySchedule: ['10s'] }, { retrySchedule: ['1m'], timeout: 5 }, SERVER)).toEqual({ retryScheduleMs: [10 * S], timeoutMs: 5 * S });
    expect(effectivePolicy({ timeout: 2 }, { retrySchedule: ['1m'] }, SERVER)).toEqual({ retryScheduleMs: [M], timeoutMs: 2 * S });
    expect(effectivePolicy({ retrySchedule: null, timeout: null }, { retrySchedule: ['1m'] }, SERVER).retryScheduleMs).toEqual([M]);
  });

  it('reads [] as a single attempt, not as "inherit"', () => {
    expect(effectivePolicy({ retrySchedule: [] }, { retrySchedule: ['1m'] }, SERVER).retryScheduleMs).toEqual([]);
    expect(effectivePolicy(null, { retrySchedule: [] }, SERVER).retryScheduleMs).toEqual([]);
  });

  it('caps a timeout at the server’s maximum (half the lease)', () => {
    expect(effectivePolicy({ timeout: 60 }, null, SERVER).timeoutMs).toBe(30 * S);
  });

  it('names each bad field', () => {
    expect(policyIssues({ retrySchedule: ['5s', '30m', '2h', '24h', '1s', '1d'], timeout: 60 })).toEqual([]);
    const locs = (p: object) => policyIssues(p).map((i) => i.loc.join('.'));
    expect(locs({ retrySchedule: ['5s', '5 parsecs'] })).toEqual(['body.retrySchedule.1']);
    expect(locs({ retrySchedule: ['500ms', '25h', '1s,2s'] })).toEqual(['body.retrySchedule.0', 'body.retrySchedule.1', 'body.retrySchedule.2']);
    expect(locs({ retrySchedule: Array(21).fill('1s') })).toEqual(['body.retrySchedule']);
    expect(locs({ timeout: 0 })).toEqual(['body.timeout']);
    expect(locs({ timeout: 1.5 })).toEqual(['body.timeout']);
    expect(locs({ timeout: 61 })).toEqual(['body.timeout']);
  });
});

describe('retry policy through the API', () => {
  let h: DeliveryHerald;
  beforeAll(async () => {
    h = await startDelivery();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers the fields on applications and endpoints (null when unset), through create, update and patch', async () => {
    const plain = await createApp(h);
    expect(plain).toMatchObject({ retrySchedule: null, timeout: null });
    const app = await createApp(h, { retrySchedule: ['1m', '10m'], timeout: 7 });
    expect(app).toMatchObject({ retrySchedule: ['1m', '10m'], timeout: 7 });
    expect(await h.call('GET', `/api/v1/app/${app.id}`, 200)).toMatchObject({ retrySchedule: ['1m', '10m'], timeout: 7 });
    // PATCH: named fields change (null clears), others stay.
    expect(await h.call('PATCH', `/api/v1/app/${app.id}`, 200, { timeout: null })).toMatchObject({ retrySchedule: ['1m', '10m'], timeout: null });
    // PUT: what it leaves out is kept (a Svix client does not know these fields); null clears.
    expect(await h.call('PUT', `/api/v1/app/${app.id}`, 200, { name: 'renamed', timeout: 3 })).toMatchObject({ retrySchedule: ['1m', '10m'], timeout: 3 });
    expect(await h.call('PUT', `/api/v1/app/${app.id}`, 200, { name: 'renamed', retrySchedule: null })).toMatchObject({ retrySchedule: null, timeout: 3 });

    const url = 'https://example.com/hook';
    const ep = await h.call('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url, retrySchedule: [], timeout: 60 });
    expect(ep).toMatchObject({ retrySchedule: [], timeout: 60 });
    expect(await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200)).toMatchObject({ retrySchedule: [], timeout: 60 });
    expect(await h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { retrySchedule: ['2h'] })).toMatchObject({
      retrySchedule: ['2h'],
      timeout: 60,
    });
    expect(await h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { retrySchedule: null })).toMatchObject({ retrySchedule: null, timeout: 60 });
    expect(await h.call('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { url })).toMatchObject({ retrySchedule: null, timeout: 60 });
    expect(await h.call('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200, { url, timeout: null })).toMatchObject({ retrySchedule: null, timeout: null });
    const listed = await h.call('GET', `/api/v1/app/${app.id}/endpoint`, 200);
    expect(listed.data[0]).toMatchObject({ retrySchedule: null, timeout: null });
  });

  it('refuses invalid values with a 422 naming the field, on every write', async () => {
    const app = await createApp(h);
    const ep = await h.call('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: 'https://example.com/x' });
    const cases: [unknown, string][] = [
      [{ retrySchedule: ['5s', 'soon'] }, 'body.retrySchedule.1'],
      [{ retrySchedule: ['0s'] }, 'body.retrySchedule.0'],
      [{ retrySchedule: ['25h'] }, 'body.retrySchedule.0'],
      [{ retrySchedule: Array(21).fill('1m') }, 'body.retrySchedule'],
      [{ retrySchedule: '5s' }, 'body.retrySchedule'],
      [{ retrySchedule: [5] }, 'body.retrySchedule.0'],
      [{ timeout: 0 }, 'body.timeout'],
      [{ timeout: 61 }, 'body.timeout'],
      [{ timeout: 2.5 }, 'body.timeout'],
      [{ timeout: '10' }, 'body.timeout'],
    ];
    for (const [extra, loc] of cases) {
      const writes: [string, string, object][] = [
        ['POST', '/api/v1/app', { name: 'x', ...(extra as object) }],
        ['PUT', `/api/v1/app/${app.id}`, { name: 'x', ...(extra as object) }],
        ['PATCH', `/api/v1/app/${app.id}`, extra as object],
        ['POST', `/api/v1/app/${app.id}/endpoint`, { url: 'https://example.com/y', ...(extra as object) }],
        ['PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}`, { url: 'https://example.com/y', ...(extra as object) }],
        ['PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}`, extra as object],
      ];
      for (const [method, path, body] of writes) {
        const r = await h.inject(method as 'POST', path, { body });
        expect(r.status, `${method} ${path} ${JSON.stringify(extra)}`).toBe(422);
        expect(
          r.json.detail.map((d: any) => d.loc.join('.')),
          `${method} ${path} ${JSON.stringify(extra)}`,
        ).toContain(loc);
      }
    }
    // Nothing was changed by the refused writes.
    expect(await h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}`, 200)).toMatchObject({ retrySchedule: null, timeout: null });
  });
});

describe('retry policy end to end, with an injected clock', () => {
  const clock = new Clock('2026-04-01T00:00:00Z');
  const s = deliverySuite({ now: clock.now, env: { HERALD_RETRY_SCHEDULE: '5s,5m,30m' } });
  beforeAll(async () => {
    s.rx.on('/fail', { status: 500, body: 'nope' });
  });
  beforeEach(() => {
    clock.advance(H);
  });

  /** Walk a failing delivery to its end; returns the delays the store scheduled before each retry. */
  async function walk(msgId: string, epId: string): Promise<number[]> {
    const delays: number[] = [];
    for (let n = 1; ; n++) {
      const t = await attemptRecorded(s.h, msgId, epId, n);
      if (t.next_attempt_at === null) {
        expect(t.status).toBe(2);
        return delays;
      }
      delays.push(t.next_attempt_at - clock.t);
      clock.t = t.next_attempt_at;
      s.h.wake();
    }
  }

  /** Each delay is its base ±20% (the jitter). */
  const near = (delays: number[], bases: number[]) => {
    expect(delays).toHaveLength(bases.length);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(Math.floor(bases[i]! * 0.8));
      expect(d).toBeLessThanOrEqual(Math.ceil(bases[i]! * 1.2));
    });
  };

  it('uses the endpoint’s schedule, else the application’s, else the server’s', async () => {
    const withPolicy = await createApp(s.h, { retrySchedule: ['1m', '2h'] });
    const own = await createEndpoint(s.h, withPolicy.id, s.rx, '/fail', { retrySchedule: ['10s'] });
    const inherits = await createEndpoint(s.h, withPolicy.id, s.rx, '/fail');
    const plainApp = await createApp(s.h);
    const server = await createEndpoint(s.h, plainApp.id, s.rx, '/fail');

    const m1 = await sendMessage(s.h, withPolicy.id);
    near(await walk(m1.id, own.id), [10 * S]);
    const m2 = await sendMessage(s.h, withPolicy.id);
    near(await walk(m2.id, inherits.id), [M, 2 * H]);
    const m3 = await sendMessage(s.h, plainApp.id);
    near(await walk(m3.id, server.id), [5 * S, 5 * M, 30 * M]);
    expect(await attemptsOf(s.h, plainApp.id, m3.id)).toHaveLength(4);
  });

  it('makes a single attempt for an endpoint with an empty schedule, whatever its application says', async () => {
    const app = await createApp(s.h, { retrySchedule: ['1m', '1m', '1m'] });
    const ep = await createEndpoint(s.h, app.id, s.rx, '/fail', { retrySchedule: [] });
    const msg = await sendMessage(s.h, app.id);
    const t = await settled(s.h, msg.id, ep.id);
    expect(t).toMatchObject({ status: 2, attempt_count: 1 });
    expect(await attemptsOf(s.h, app.id, msg.id)).toHaveLength(1);
  });

  it('follows a change of the application’s schedule for the next retry', async () => {
    const app = await createApp(s.h, { retrySchedule: ['1m', '1m'] });
    const ep = await createEndpoint(s.h, app.id, s.rx, '/fail');
    const msg = await sendMessage(s.h, app.id);
    const first = await attemptRecorded(s.h, msg.id, ep.id, 1);
    await s.h.call('PATCH', `/api/v1/app/${app.id}`, 200, { retrySchedule: ['1m', '3h'] });
    clock.t = first.next_attempt_at!;
    s.h.wake();
    const second = await attemptRecorded(s.h, msg.id, ep.id, 2);
    near([second.next_attempt_at! - clock.t], [3 * H]);
  });
});

describe('timeout per endpoint and per application', () => {
  // The server would wait 20 s; the tenant's 1 s is what cuts the hanging receiver off.
  const s = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: 'none', HERALD_DELIVERY_TIMEOUT: '20s' } });
  beforeAll(async () => {
    s.rx.on('/hang', { hang: true });
    s.rx.on('/ok', { status: 200 });
  });

  it('cuts a hanging receiver off after the endpoint’s timeout, and after its application’s when it has none', async () => {
    const app = await createApp(s.h, { timeout: 2 });
    const own = await createEndpoint(s.h, app.id, s.rx, '/hang', { timeout: 1 });
    const inherits = await createEndpoint(s.h, app.id, s.rx, '/hang');
    const msg = await sendMessage(s.h, app.id);
    await settled(s.h, msg.id, own.id);
    await settled(s.h, msg.id, inherits.id);
    const [a] = await attemptsOf(s.h, app.id, msg.id, own.id);
    expect(a).toMatchObject({ responseStatusCode: 0, response: 'Timed out after 1000 ms', status: 2 });
    const [b] = await attemptsOf(s.h, app.id, msg.id, inherits.id);
    expect(b).toMatchObject({ responseStatusCode: 0, response: 'Timed out after 2000 ms', status: 2 });
  });
});
