// Retries and outcomes: the pure retry policy (schedule, jitter, Retry-After bounds, manual
// attempts), classification of answers, and end to end against a loopback receiver: exact attempt
// counts, recorded attempts (status, code, first 20 kB of the body), redirects not followed,
// timeouts, success after failures, `webhook-delivery: abort-message` / `disable`, HTTP 410, and
// the default schedule walked through with an injected clock (never by waiting minutes).

import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { classify } from '../../src/delivery/send.js';
import { DEFAULT_RETRY_SCHEDULE_MS, nextStep, parseRetryAfter, parseSchedule, type Outcome } from '../../src/domain/retry.js';
import { Clock } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import {
  attemptRecorded as attemptRecordedIn,
  attemptsOf,
  createApp,
  createEndpoint,
  deliverySuite,
  destination,
  sendMessage,
  settled,
  taskRow,
  until,
} from './harness.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const SVIX_SCHEDULE = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H];

// ---------------------------------------------------------------------------------------------
describe('the retry policy (pure)', () => {
  const retry: Outcome = { kind: 'retry' };
  const T = 1_700_000_000_000;

  it('defaults to Svix’s schedule 5s, 5m, 30m, 2h, 5h, 10h, 10h (8 attempts), in the module and the config', () => {
    expect([...DEFAULT_RETRY_SCHEDULE_MS]).toEqual(SVIX_SCHEDULE);
    expect(loadConfig({}).delivery.retryScheduleMs).toEqual(SVIX_SCHEDULE);
    expect(loadConfig({ HERALD_RETRY_SCHEDULE: '1s,2s' }).delivery.retryScheduleMs).toEqual([1000, 2000]);
    expect(loadConfig({ HERALD_RETRY_SCHEDULE: '200ms,5m,1h' }).delivery.retryScheduleMs).toEqual([200, 5 * M, H]);
    expect(loadConfig({ HERALD_DELIVERY_TIMEOUT: '500ms' }).delivery.timeoutMs).toBe(500);
    expect(loadConfig({}).delivery.timeoutMs).toBe(15_000);
    expect(() => loadConfig({ HERALD_RETRY_SCHEDULE: '5 parsecs' })).toThrow(/HERALD_RETRY_SCHEDULE/);
    expect(parseSchedule('5s,5m,30m,2h,5h,10h,10h')).toEqual(SVIX_SCHEDULE);
  });

  it('retries after schedule[n-1] with ±20% jitter, and is exhausted after the schedule’s length', () => {
    for (let n = 1; n <= SVIX_SCHEDULE.length; n++) {
      const base = SVIX_SCHEDULE[n - 1]!;
      const lo = nextStep(retry, n, T, SVIX_SCHEDULE, 0);
      const mid = nextStep(retry, n, T, SVIX_SCHEDULE, 0.5);
      const hi = nextStep(retry, n, T, SVIX_SCHEDULE, 0.999999);
      expect(lo).toEqual({ kind: 'retry', atMs: T + Math.round(base * 0.8) });
      expect(mid).toEqual({ kind: 'retry', atMs: T + base });
      expect(hi.kind).toBe('retry');
      const hiDelay = (hi as { atMs: number }).atMs - T;
      expect(hiDelay).toBeGreaterThan(base * 1.19);
      expect(hiDelay).toBeLessThanOrEqual(base * 1.2);
    }
    expect(nextStep(retry, SVIX_SCHEDULE.length + 1, T, SVIX_SCHEDULE, 0.5)).toEqual({ kind: 'exhausted' });
    expect(nextStep(retry, 1, T, [], 0.5)).toEqual({ kind: 'exhausted' });
    expect(nextStep(retry, 2, T, [1000], 0.5)).toEqual({ kind: 'exhausted' });
  });

  it('honours Retry-After within [base, 2 × base]: it can slow retries down, never speed them up or stall them', () => {
    const sched = [10 * S, 60 * S];
    for (const random of [0, 0.5, 0.999]) {
      // Shorter than the base: the base wins.
      expect(nextStep({ kind: 'retry', retryAfterMs: 1 * S }, 1, T, sched, random)).toEqual({ kind: 'retry', atMs: T + 10 * S });
      expect(nextStep({ kind: 'retry', retryAfterMs: 0 }, 1, T, sched, random)).toEqual({ kind: 'retry', atMs: T + 10 * S });
      // Within the bounds: as asked.
      expect(nextStep({ kind: 'retry', retryAfterMs: 15 * S }, 1, T, sched, random)).toEqual({ kind: 'retry', atMs: T + 15 * S });
      // Longer than twice the base: capped.
      expect(nextStep({ kind: 'retry', retryAfterMs: 3600 * S }, 1, T, sched, random)).toEqual({ kind: 'retry', atMs: T + 20 * S });
      expect(nextStep({ kind: 'retry', retryAfterMs: 100 * S }, 2, T, sched, random)).toEqual({ kind: 'retry', atMs: T + 100 * S });
    }
    // Retry-After does not extend the schedule.
    expect(nextStep({ kind: 'retry', retryAfterMs: 5 * S }, 3, T, sched, 0.5)).toEqual({ kind: 'exhausted' });
  });

  it('never retries a manual attempt, and passes success, abort and disable through', () => {
    expect(nextStep(retry, 1, T, SVIX_SCHEDULE, 0.5, true)).toEqual({ kind: 'exhausted' });
    expect(nextStep({ kind: 'retry', retryAfterMs: 1000 }, 1, T, SVIX_SCHEDULE, 0.5, true)).toEqual({ kind: 'exhausted' });
    expect(nextStep({ kind: 'success' }, 1, T, SVIX_SCHEDULE, 0.5, true)).toEqual({ kind: 'done' });
    expect(nextStep({ kind: 'success' }, 3, T, SVIX_SCHEDULE, 0.5)).toEqual({ kind: 'done' });
    expect(nextStep({ kind: 'abort' }, 1, T, SVIX_SCHEDULE, 0.5)).toEqual({ kind: 'abort' });
    expect(nextStep({ kind: 'disable', reason: 'gone' }, 1, T, SVIX_SCHEDULE, 0.5)).toEqual({ kind: 'disable', reason: 'gone' });
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7', T)).toBe(7000);
    expect(parseRetryAfter(' 120 ', T)).toBe(120_000);
    expect(parseRetryAfter(new Date(T + 30_000).toUTCString(), T)).toBe(30_000);
    expect(parseRetryAfter(new Date(T - 30_000).toUTCString(), T)).toBe(0);
    expect(parseRetryAfter(undefined, T)).toBeUndefined();
    expect(parseRetryAfter('soon', T)).toBeUndefined();
  });

  it('reads decimal Retry-After seconds as seconds (svix.md §1.6: "integer or decimal seconds, rounded up")', () => {
    const v = parseRetryAfter('1.5', T);
    expect(v).toBeGreaterThanOrEqual(1500);
    expect(v).toBeLessThanOrEqual(2000);
  });

  it('classifies answers: only 2xx succeeds; 3xx fails; 410 and webhook-delivery: disable disable; abort-message aborts; 429/503 carry Retry-After', () => {
    const none = () => undefined;
    const hdr = (h: Record<string, string>) => (n: string) => h[n];
    for (const code of [200, 201, 204, 299]) expect(classify(code, none, T)).toEqual({ kind: 'success' });
    for (const code of [100, 199, 300, 301, 302, 304, 307, 308, 400, 404, 500, 502]) expect(classify(code, none, T).kind).toBe('retry');
    expect(classify(410, none, T).kind).toBe('disable');
    expect(classify(500, hdr({ 'webhook-delivery': 'disable' }), T).kind).toBe('disable');
    expect(classify(400, hdr({ 'webhook-delivery': 'abort-message' }), T)).toEqual({ kind: 'abort' });
    expect(classify(429, hdr({ 'retry-after': '9' }), T)).toEqual({ kind: 'retry', retryAfterMs: 9000 });
    expect(classify(503, hdr({ 'retry-after': '4' }), T)).toEqual({ kind: 'retry', retryAfterMs: 4000 });
  });
});

// ---------------------------------------------------------------------------------------------
describe('retries end to end (short schedule 150ms × 3, timeout 300ms)', () => {
  let appId: string;
  const s = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: '150ms,150ms,150ms', HERALD_DELIVERY_TIMEOUT: '300ms' } });
  // A fresh application per test, so each message goes only to that test's endpoints.
  beforeEach(async () => {
    appId = (await createApp(s.h)).id;
  });

  it('a failing endpoint gets exactly schedule + 1 attempts, each recorded with its status code and body; then the delivery is fail', async () => {
    let i = 0;
    s.rx.on('/fail', () => {
      i += 1;
      return { status: [500, 502, 503, 400][i - 1] ?? 500, body: `boom-${i}` };
    });
    const ep = await createEndpoint(s.h, appId, s.rx, '/fail');
    const msg = await sendMessage(s.h, appId);
    const t = await settled(s.h, msg.id, ep.id);
    expect(t.status).toBe(2);
    expect(t.attempt_count).toBe(4);
    expect(s.rx.received('/fail')).toHaveLength(4);

    const attempts = await attemptsOf(s.h, appId, msg.id);
    expect(attempts.map((a) => a.responseStatusCode)).toEqual([500, 502, 503, 400]);
    expect(attempts.map((a) => a.response)).toEqual(['boom-1', 'boom-2', 'boom-3', 'boom-4']);
    for (const a of attempts) {
      expect(a).toMatchObject({ msgId: msg.id, endpointId: ep.id, url: s.rx.url('/fail'), status: 2, statusText: 'fail', triggerType: 0 });
      expect(typeof a.responseDurationMs).toBe('number');
      expect(Number.isNaN(Date.parse(a.timestamp))).toBe(false);
    }
    const d = await destination(s.h, appId, msg.id, ep.id);
    expect(d).toMatchObject({ status: 2, statusText: 'fail', nextAttempt: null });
    const listed = await s.h.call('GET', `/api/v1/app/${appId}/endpoint/${ep.id}/msg`, 200);
    expect(listed.data.find((m: any) => m.id === msg.id)).toMatchObject({ status: 2, statusText: 'fail' });
  });

  it('keeps only the first 20 kB (20480 bytes) of a response body', async () => {
    const big = Array.from({ length: 50 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    s.rx.on('/big-ok', { status: 200, body: big });
    s.rx.on('/big-fail', { status: 500, body: big });
    const ok = await createEndpoint(s.h, appId, s.rx, '/big-ok');
    const bad = await createEndpoint(s.h, appId, s.rx, '/big-fail');
    const msg = await sendMessage(s.h, appId);
    await settled(s.h, msg.id, ok.id);
    await settled(s.h, msg.id, bad.id);
    const [okAttempt] = await attemptsOf(s.h, appId, msg.id, ok.id);
    expect(okAttempt!.status).toBe(0);
    expect(Buffer.byteLength(okAttempt!.response)).toBe(20480);
    expect(okAttempt!.response).toBe(big.slice(0, 20480));
    const badAttempts = await attemptsOf(s.h, appId, msg.id, bad.id);
    expect(badAttempts).toHaveLength(4);
    for (const a of badAttempts) expect(a.response).toBe(big.slice(0, 20480));
  });

  it('records how long the endpoint took to answer', async () => {
    s.rx.on('/slowish', { status: 200, delayMs: 200 });
    const ep = await createEndpoint(s.h, appId, s.rx, '/slowish');
    const msg = await sendMessage(s.h, appId);
    await settled(s.h, msg.id, ep.id);
    const [a] = await attemptsOf(s.h, appId, msg.id, ep.id);
    expect(a!.responseDurationMs).toBeGreaterThanOrEqual(150);
  });

  it('treats a redirect as a failure and never follows it', async () => {
    s.rx.on('/redirect', { status: 302, headers: { location: s.rx.url('/landed') }, body: 'moved' });
    s.rx.on('/landed', { status: 200 });
    const ep = await createEndpoint(s.h, appId, s.rx, '/redirect');
    const msg = await sendMessage(s.h, appId);
    const t = await settled(s.h, msg.id, ep.id);
    expect(t.status).toBe(2);
    const attempts = await attemptsOf(s.h, appId, msg.id);
    expect(attempts).toHaveLength(4);
    for (const a of attempts) expect(a).toMatchObject({ responseStatusCode: 302, status: 2 });
    expect(s.rx.received('/redirect')).toHaveLength(4);
    expect(s.rx.received('/landed')).toHaveLength(0);
  });

  it('a timeout is a failed attempt with status code 0 and a reason', async () => {
    s.rx.on('/hang', { hang: true });
    const ep = await createEndpoint(s.h, appId, s.rx, '/hang');
    const msg = await sendMessage(s.h, appId);
    const t = await settled(s.h, msg.id, ep.id);
    expect(t.status).toBe(2);
    const attempts = await attemptsOf(s.h, appId, msg.id);
    expect(attempts).toHaveLength(4);
    for (const a of attempts) {
      expect(a).toMatchObject({ responseStatusCode: 0, status: 2, statusText: 'fail' });
      expect(a.response).toMatch(/time/i);
    }
  });

  it('a refused connection is a failed attempt with status code 0 and a reason', async () => {
    const dead = await Receiver.start();
    const url = dead.url('/nobody');
    await dead.close();
    const ep = await s.h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url });
    const msg = await sendMessage(s.h, appId);
    await settled(s.h, msg.id, ep.id);
    const attempts = await attemptsOf(s.h, appId, msg.id);
    expect(attempts).toHaveLength(4);
    for (const a of attempts) {
      expect(a.responseStatusCode).toBe(0);
      expect(a.response.length).toBeGreaterThan(0);
    }
  });

  it('a 2xx after failures ends the retries with success', async () => {
    s.rx.on('/recovers', Receiver.sequence({ status: 500 }, { status: 500 }, { status: 204 }));
    const ep = await createEndpoint(s.h, appId, s.rx, '/recovers');
    const msg = await sendMessage(s.h, appId);
    const t = await settled(s.h, msg.id, ep.id);
    expect(t.status).toBe(0);
    expect((await attemptsOf(s.h, appId, msg.id)).map((a) => [a.responseStatusCode, a.statusText])).toEqual([
      [500, 'fail'],
      [500, 'fail'],
      [204, 'success'],
    ]);
    expect(s.rx.received('/recovers')).toHaveLength(3);
    expect(await destination(s.h, appId, msg.id, ep.id)).toMatchObject({ status: 0, statusText: 'success', nextAttempt: null });
  });

  it('`webhook-delivery: abort-message` stops retries for that message only', async () => {
    s.rx.on('/abort', (r) => (JSON.parse(r.text).abort ? { status: 500, headers: { 'webhook-delivery': 'abort-message' } } : { status: 200 }));
    const ep = await createEndpoint(s.h, appId, s.rx, '/abort');
    const m1 = await sendMessage(s.h, appId, { payload: { abort: true } });
    const t = await settled(s.h, m1.id, ep.id);
    expect(t.status).toBe(2);
    expect(await attemptsOf(s.h, appId, m1.id)).toHaveLength(1);
    expect(s.rx.forMessage('/abort', m1.id)).toHaveLength(1);
    const after = await s.h.call('GET', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200);
    expect(after.disabled).toBe(false);
    // The endpoint keeps receiving other messages.
    const m2 = await sendMessage(s.h, appId, { payload: { abort: false } });
    expect((await settled(s.h, m2.id, ep.id)).status).toBe(0);
  });

  for (const [label, reply, reasonRe] of [
    ['HTTP 410', { status: 410, body: 'gone' }, /410/],
    ['`webhook-delivery: disable`', { status: 500, headers: { 'webhook-delivery': 'disable' } }, /disable/i],
  ] as const) {
    it(`${label} disables the endpoint, with the reason on GET endpoint; later messages skip it until re-enabled`, async () => {
      const path = `/disable-${label.length}`;
      s.rx.on(path, reply);
      const ep = await createEndpoint(s.h, appId, s.rx, path);
      const m1 = await sendMessage(s.h, appId);
      const t = await settled(s.h, m1.id, ep.id);
      expect(t.status).toBe(2);
      expect(await attemptsOf(s.h, appId, m1.id)).toHaveLength(1);

      const got = await s.h.call('GET', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200);
      expect(got.disabled).toBe(true);
      expect(typeof got.disabledReason).toBe('string');
      expect(got.disabledReason).toMatch(reasonRe);

      const m2 = await sendMessage(s.h, appId);
      expect(await taskRow(s.h, m2.id, ep.id)).toBeUndefined();

      // Re-enabled by the tenant: the reason goes, deliveries resume.
      s.rx.on(path, { status: 200 });
      const patched = await s.h.call('PATCH', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200, { disabled: false });
      expect(patched.disabled).toBe(false);
      expect(patched.disabledReason ?? null).toBeNull();
      const m3 = await sendMessage(s.h, appId);
      expect((await settled(s.h, m3.id, ep.id)).status).toBe(0);
      expect(s.rx.forMessage(path, m2.id)).toHaveLength(0);
    });
  }

  it('a disabled endpoint’s pending retries are not sent', async () => {
    s.rx.on('/disable-later', (r) => (JSON.parse(r.text).gone ? { status: 410 } : { status: 500 }));
    const ep = await createEndpoint(s.h, appId, s.rx, '/disable-later');
    // A long first retry keeps m1 pending while m2 disables the endpoint.
    const m1 = await sendMessage(s.h, appId, { payload: { gone: false } });
    await until('m1 to fail once', async () => (await attemptsOf(s.h, appId, m1.id)).length >= 1);
    const m2 = await sendMessage(s.h, appId, { payload: { gone: true } });
    await settled(s.h, m2.id, ep.id);
    await settled(s.h, m1.id, ep.id);
    // m1's first retry was due 150 ms after its first try; by then the endpoint was disabled.
    expect(s.rx.forMessage('/disable-later', m1.id)).toHaveLength(1);
    expect(await attemptsOf(s.h, appId, m1.id)).toHaveLength(1);
    expect((await taskRow(s.h, m1.id, ep.id))!.status).not.toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
describe('the default schedule and Retry-After, end to end with an injected clock', () => {
  const clock = new Clock('2026-03-01T00:00:00Z');
  let appId: string;
  const s = deliverySuite({ now: clock.now });
  beforeEach(async () => {
    appId = (await createApp(s.h)).id;
  });

  /** Wait for the n-th attempt of msg at ep to be recorded and its task to be released. */
  const attemptRecorded = (msgId: string, epId: string, n: number) => attemptRecordedIn(s.h, msgId, epId, n);

  it('makes 8 attempts at 5s, 5m, 30m, 2h, 5h, 10h, 10h (±20%) and then fails the delivery', async () => {
    s.rx.on('/always-500', { status: 500, body: 'nope' });
    const ep = await createEndpoint(s.h, appId, s.rx, '/always-500');
    const msg = await sendMessage(s.h, appId);
    for (let n = 1; n <= 7; n++) {
      const t = await attemptRecorded(msg.id, ep.id, n);
      expect(t.status).toBe(1);
      const delay = t.next_attempt_at! - clock.t;
      const base = SVIX_SCHEDULE[n - 1]!;
      expect(delay, `delay before attempt ${n + 1}`).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
      expect(delay, `delay before attempt ${n + 1}`).toBeLessThanOrEqual(Math.ceil(base * 1.2));
      const d = await destination(s.h, appId, msg.id, ep.id);
      expect(d.statusText).toBe('pending');
      expect(Date.parse(d.nextAttempt)).toBe(t.next_attempt_at);
      if (n === 1) {
        // Not a moment early: 1 ms before it is due the store hands nothing out, and the
        // dispatcher, woken then, has not sent it.
        clock.t = t.next_attempt_at! - 1;
        s.h.wake();
        expect(await s.h.herald.store.claimDueTasks('early-probe', clock.t, 60_000, 10)).toEqual([]);
        expect(await taskRow(s.h, msg.id, ep.id)).toMatchObject({ attempt_count: 1, lease_owner: null });
        expect(s.rx.received('/always-500')).toHaveLength(1);
      }
      clock.t = t.next_attempt_at!;
      s.h.wake();
    }
    const last = await attemptRecorded(msg.id, ep.id, 8);
    expect(last.status).toBe(2);
    expect(last.next_attempt_at).toBeNull();
    expect(s.rx.received('/always-500')).toHaveLength(8);
    const attempts = await attemptsOf(s.h, appId, msg.id);
    expect(attempts).toHaveLength(8);
    // 1 + 7 retries spread over roughly 27.6 h (±20%).
    const span = Date.parse(attempts[7].timestamp) - Date.parse(attempts[0].timestamp);
    const nominal = SVIX_SCHEDULE.reduce((a, b) => a + b, 0);
    expect(span).toBeGreaterThanOrEqual(nominal * 0.8);
    expect(span).toBeLessThanOrEqual(nominal * 1.2);
  });

  for (const [label, status, retryAfter, expected] of [
    ['429, Retry-After shorter than the base: the base', 429, () => '1', 5 * S],
    ['429, Retry-After within bounds: as asked', 429, () => '8', 8 * S],
    ['503, Retry-After far beyond: twice the base', 503, () => '3600', 10 * S],
    ['503, Retry-After as an HTTP date', 503, () => new Date(clock.t + 7 * S).toUTCString(), 7 * S],
  ] as const) {
    it(`honours Retry-After within [base, 2 × base] (${label})`, async () => {
      clock.t = Math.ceil(clock.t / 1000) * 1000 + 1000; // whole seconds, so an HTTP date is exact
      const path = `/ra-${status}-${expected}`;
      s.rx.on(path, Receiver.sequence({ status, headers: { 'retry-after': retryAfter() } }, { status: 200 }));
      const ep = await createEndpoint(s.h, appId, s.rx, path);
      const msg = await sendMessage(s.h, appId);
      const t = await attemptRecorded(msg.id, ep.id, 1);
      expect(t.status).toBe(1);
      expect(t.next_attempt_at! - clock.t).toBe(expected);
      clock.t = t.next_attempt_at!;
      s.h.wake();
      expect((await settled(s.h, msg.id, ep.id)).status).toBe(0);
    });
  }
});
