// Per-token API rate limits: each token (the operator's, every portal session) has its own budget;
// over it the API answers 429 with Retry-After and Svix's {code, detail}; waiting that long is
// enough. Time is the test's clock, so nothing sleeps.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { gcra } from '../src/domain/throttle.js';
import { createApp, portalToken } from './helpers/fixtures.js';
import { Clock, isHttpErrorBody, useInProcess } from './helpers/inproc.js';

describe('rate limits: per token', () => {
  const clock = new Clock();
  const h = useInProcess({
    now: clock.now,
    env: { HERALD_API_RATE_LIMIT: '2', HERALD_API_RATE_BURST: '5', HERALD_OPERATOR_RATE_LIMIT: '10', HERALD_OPERATOR_RATE_BURST: '20' },
  });

  it('a burst beyond the limit gets 429 with Retry-After; another token is unaffected; after Retry-After it works again', async () => {
    const app = (await createApp(h())).id;
    const a = await portalToken(h(), app);
    const b = await portalToken(h(), app);
    const url = `/api/v1/app/${app}/endpoint`;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await h().inject('GET', url, { token: a })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);

    const refused = await h().inject('GET', url, { token: a });
    expect(refused.status).toBe(429);
    expect(isHttpErrorBody(refused.json)).toBe(true);
    expect(refused.json.code).toBe('rate_limit_exceeded');
    const retryAfter = String(refused.headers['retry-after']);
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    // 2/s: the next slot frees up 500 ms after the fifth request, rounded up to whole seconds.
    expect(Number(retryAfter)).toBe(1);

    // Another session of the same application has its own budget, and so has the operator.
    expect((await h().inject('GET', url, { token: b })).status).toBe(200);
    expect((await h().inject('GET', url)).status).toBe(200);

    // A refused request costs nothing: waiting Retry-After is enough, however often it was refused.
    clock.advance(Number(retryAfter) * 1000);
    expect((await h().inject('GET', url, { token: a })).status).toBe(200);
    expect((await h().inject('GET', url, { token: a })).status).toBe(200);
    expect((await h().inject('GET', url, { token: a })).status).toBe(429);
  });

  it('writes and refused requests count too, and the 429 comes before anything is written', async () => {
    const app = (await createApp(h())).id;
    const t = await portalToken(h(), app);
    clock.advance(60_000);
    const results: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await h().inject('POST', `/api/v1/app/${app}/endpoint`, { token: t, body: { url: `https://example.com/${i}` } });
      results.push(r.status);
    }
    expect(results).toEqual([201, 201, 201, 201, 201, 429]);
    const list = await h().inject('GET', `/api/v1/app/${app}/endpoint`);
    expect(list.json.data).toHaveLength(5);
    // Forbidden requests spend the budget as well (probing is limited).
    clock.advance(60_000);
    for (let i = 0; i < 5; i++) expect((await h().inject('GET', '/api/v1/app', { token: t })).status).toBe(403);
    expect((await h().inject('GET', '/api/v1/app', { token: t })).status).toBe(429);
  });

  it('the operator token has its own limit', async () => {
    clock.advance(60_000);
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await h().inject('GET', '/api/v1/app')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual([429, 429]);
    // Health checks carry no token and are never limited.
    expect((await h().inject('GET', '/api/v1/health', { token: null })).status).toBeLessThan(300);
    clock.advance(100);
    expect((await h().inject('GET', '/api/v1/app')).status).toBe(200);
  });
});

describe('rate limits: off', () => {
  const h = useInProcess({ now: new Clock().now, env: { HERALD_API_RATE_LIMIT: 'off', HERALD_OPERATOR_RATE_LIMIT: 'off' } });

  it('no request is refused when the limits are off', async () => {
    const app = (await createApp(h())).id;
    const t = await portalToken(h(), app);
    for (let i = 0; i < 600; i++) expect((await h().inject('GET', `/api/v1/app/${app}`, { token: t })).status).toBe(200);
  });
});

describe('rate limits: configuration and math', () => {
  const base = { HERALD_DATA_DIR: '/tmp/herald-config-test' };
  function refuses(env: Record<string, string>, variable: string, hint: RegExp): void {
    let err: unknown;
    try {
      loadConfig({ ...base, ...env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(hint);
  }

  it('defaults: 50/s burst 500 per portal session, 50,000/s for the operator', () => {
    expect(loadConfig(base).apiRateLimit).toEqual({ portal: { perSecond: 50, burst: 500 }, operator: { perSecond: 50_000, burst: 50_000 } });
  });

  it('reads rates, bursts and off; a rate alone keeps the default burst-to-rate ratio', () => {
    const c = loadConfig({ ...base, HERALD_API_RATE_LIMIT: '0.5', HERALD_OPERATOR_RATE_LIMIT: 'off' }).apiRateLimit;
    expect(c).toEqual({ portal: { perSecond: 0.5, burst: 5 }, operator: null });
    expect(loadConfig({ ...base, HERALD_API_RATE_LIMIT: '20', HERALD_API_RATE_BURST: '3' }).apiRateLimit.portal).toEqual({ perSecond: 20, burst: 3 });
  });

  it('refuses bad values, naming the variable', () => {
    refuses({ HERALD_API_RATE_LIMIT: 'fast' }, 'HERALD_API_RATE_LIMIT', /requests per second.*'off'/);
    refuses({ HERALD_API_RATE_LIMIT: '0' }, 'HERALD_API_RATE_LIMIT', /positive number/);
    refuses({ HERALD_API_RATE_LIMIT: '-5' }, 'HERALD_API_RATE_LIMIT', /positive number/);
    refuses({ HERALD_OPERATOR_RATE_LIMIT: '1e9' }, 'HERALD_OPERATOR_RATE_LIMIT', /up to 1000000/);
    refuses({ HERALD_API_RATE_BURST: '0' }, 'HERALD_API_RATE_BURST', /whole number from 1/);
    refuses({ HERALD_OPERATOR_RATE_BURST: '2.5' }, 'HERALD_OPERATOR_RATE_BURST', /whole number/);
    refuses({ HERALD_API_RATE_LIMIT: 'off', HERALD_API_RATE_BURST: '10' }, 'HERALD_API_RATE_BURST', /'off'/);
  });

  it('GCRA: a burst from idle, then one request per interval; the wait is exact', () => {
    let tat: number | undefined;
    for (let i = 0; i < 3; i++) {
      const r = gcra(tat, 0, 10, 3);
      expect(r.allowed).toBe(true);
      if (r.allowed) tat = r.tat;
    }
    expect(gcra(tat, 0, 10, 3)).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(gcra(tat, 99, 10, 3).allowed).toBe(false);
    expect(gcra(tat, 100, 10, 3).allowed).toBe(true);
    // After a long pause the full burst is back, not more.
    expect(gcra(tat, 10_000, 10, 3)).toEqual({ allowed: true, tat: 10_100 });
    // A clock that steps backwards (tat now far ahead of the clock) does not lock the key out.
    expect(gcra(tat, -3_600_000, 10, 3)).toEqual({ allowed: true, tat: -3_600_000 + 100 });
  });
});
