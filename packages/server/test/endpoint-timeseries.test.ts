// GET …/endpoint/{id}/stats/timeseries: an endpoint's attempts per hour or day, aggregated on the
// server; its defaults, its validation (422 naming the field) and a portal token's reach.
import { describe, expect, it } from 'vitest';
import { createApp, createEndpoint, insertAttempt, portalToken, sendMessage } from './helpers/fixtures.js';
import { Clock, DAY, HOUR, MINUTE, useInProcess } from './helpers/inproc.js';

describe('endpoint timeseries', () => {
  // 05:30 on the 1st: the default 24 hourly buckets run from 06:00 the day before to 05:00.
  const clock = new Clock('2026-01-01T05:30:00Z');
  const h = useInProcess({ now: clock.now });
  let app: string;
  let ep: string;
  const url = (q = '') => `/api/v1/app/${app}/endpoint/${ep}/stats/timeseries${q}`;

  it('defaults to the last 24 hours by the hour, counting attempts and their p50/p95 per bucket', async () => {
    app = (await createApp(h())).id;
    ep = (await createEndpoint(h(), app, { url: 'https://example.com/a' })).id;
    const msg = (await sendMessage(h(), app)).id;
    const t = clock.t;
    // Back-dated attempts, oldest first (ids follow the times they are minted at).
    clock.advance(MINUTE);
    await insertAttempt(h(), { msgId: msg, endpointId: ep, appId: app, at: clock.t, durationMs: 100 });
    await insertAttempt(h(), { msgId: msg, endpointId: ep, appId: app, at: clock.t + 1, durationMs: 300, status: 2, responseStatusCode: 500 });
    await insertAttempt(h(), { msgId: msg, endpointId: ep, appId: app, at: clock.t + 2, durationMs: 200 });
    await insertAttempt(h(), { msgId: msg, endpointId: ep, appId: app, at: clock.t + HOUR, durationMs: 50 });
    clock.advance(2 * HOUR);
    const r = await h().inject('GET', url());
    expect(r.status).toBe(200);
    const b = r.json.buckets as { start: string; succeeded: number; failed: number; p50Ms: number | null; p95Ms: number | null }[];
    expect(b).toHaveLength(24);
    expect(b[0]!.start).toBe('2025-12-31T08:00:00.000Z');
    expect(b.at(-1)!.start).toBe('2026-01-01T07:00:00.000Z');
    const at = (iso: string) => b.find((x) => x.start === iso);
    expect(t).toBe(Date.parse('2026-01-01T05:30:00Z'));
    expect(at('2026-01-01T05:00:00.000Z')).toEqual({
      start: '2026-01-01T05:00:00.000Z',
      succeeded: 2,
      failed: 1,
      p50Ms: 200,
      p95Ms: 300,
    });
    expect(at('2026-01-01T06:00:00.000Z')).toEqual({ start: '2026-01-01T06:00:00.000Z', succeeded: 1, failed: 0, p50Ms: 50, p95Ms: 50 });
    expect(at('2026-01-01T07:00:00.000Z')).toEqual({ start: '2026-01-01T07:00:00.000Z', succeeded: 0, failed: 0, p50Ms: null, p95Ms: null });
  });

  it('by the day: 14 buckets by default, and a given window in whole UTC days', async () => {
    const r = await h().inject('GET', url('?bucket=day'));
    expect(r.status).toBe(200);
    expect(r.json.buckets).toHaveLength(14);
    expect(r.json.buckets.at(-1)).toEqual({ start: '2026-01-01T00:00:00.000Z', succeeded: 3, failed: 1, p50Ms: 100, p95Ms: 300 });
    const w = await h().inject('GET', url('?bucket=day&since=2025-12-30T12:00:00Z&until=2026-01-01T01:00:00Z'));
    expect(w.json.buckets.map((x: { start: string }) => x.start)).toEqual(['2025-12-30T00:00:00.000Z', '2025-12-31T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    // Until 01:00 leaves every attempt (05:31 on) out of the window.
    expect(w.json.buckets.every((x: { succeeded: number; failed: number }) => x.succeeded + x.failed === 0)).toBe(true);
  });

  it('refuses a bad bucket, a bad time, since after until and too many buckets with a 422 naming the field', async () => {
    const cases: [string, string][] = [
      ['?bucket=week', 'bucket'],
      ['?since=yesterday', 'since'],
      ['?until=2026-13-01T00:00:00Z', 'until'],
      ['?since=2026-01-01T06:00:00Z&until=2026-01-01T05:00:00Z', 'since'],
      [`?since=${new Date(clock.t - 401 * HOUR).toISOString()}`, 'since'],
      [`?bucket=day&since=${new Date(clock.t - 401 * DAY).toISOString()}`, 'since'],
    ];
    for (const [q, field] of cases) {
      const r = await h().inject('GET', url(q));
      expect(r.status, q).toBe(422);
      expect(r.json.detail[0].loc, q).toEqual(['query', field]);
    }
    // 400 hourly buckets are allowed.
    expect((await h().inject('GET', url(`?since=${new Date(Math.floor(clock.t / HOUR) * HOUR - 399 * HOUR).toISOString()}`))).json.buckets).toHaveLength(400);
  });

  it("a portal token reads its own application's endpoints only", async () => {
    const mine = await portalToken(h(), app, { permissions: ['view'] });
    expect((await h().inject('GET', url(), { token: mine })).status).toBe(200);
    const other = (await createApp(h())).id;
    const theirs = await portalToken(h(), other);
    expect((await h().inject('GET', url(), { token: theirs })).status).toBe(403);
    // Their endpoint id under their own application: not found there.
    expect((await h().inject('GET', `/api/v1/app/${other}/endpoint/${ep}/stats/timeseries`, { token: theirs })).status).toBe(404);
  });

  it('is documented in the served contract as a Herald addition', async () => {
    const r = await h().inject('GET', '/api/v1/openapi.json', { token: null });
    const op = r.json.paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats/timeseries'].get;
    expect(op.description).toMatch(/^Herald:/);
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(['app_id', 'endpoint_id', 'since', 'until', 'bucket']);
  });
});
