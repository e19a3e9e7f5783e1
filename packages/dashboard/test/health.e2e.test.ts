// The endpoint's health chart in Chromium: real deliveries to a loopback receiver, then the
// chart's summary and table show the server's numbers, by the hour and by the day, with axe
// clean at desktop and phone width. Needs `npm run build` first, like dashboard.e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { axeViolations, DESKTOP, open, overflowX, PHONE, shot, dashboardSuite } from './harness.js';

const s = dashboardSuite({ HERALD_RETRY_SCHEDULE: '1h' });

type Bucket = { start: string; succeeded: number; failed: number; p50Ms: number | null; p95Ms: number | null };

describe('endpoint health', () => {
  it('charts real attempts: counts and p50/p95 as the server aggregates them, by the hour and by the day', async () => {
    const app = await s.herald.tenant('health');
    // "slow" is answered after 300 ms, "fail" with a 500 (its retry is an hour away), the rest at once.
    s.receiver.on('/health', (r) =>
      r.text.includes('"fail"')
        ? { status: 500, body: 'no' }
        : r.text.includes('"slow"')
          ? { status: 200, body: '{}', delayMs: 300 }
          : { status: 200, body: '{}' },
    );
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/health') });
    for (const kind of ['fast', 'slow', 'fail']) await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { kind } });
    await s.receiver.waitForCount(3, { path: '/health' });
    const series = (bucket: string) =>
      s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/stats/timeseries?bucket=${bucket}`).then((r) => r.buckets as Bucket[]);
    const nonEmpty = (b: Bucket[]) => b.filter((x) => x.succeeded + x.failed > 0);
    await expect.poll(async () => nonEmpty(await series('hour')).reduce((n, x) => n + x.succeeded + x.failed, 0)).toBe(3);
    const hourly = nonEmpty(await series('hour'));
    // The slow answer is the largest duration, so the p95 of three attempts is at least 300 ms.
    expect(Math.max(...hourly.map((x) => x.p95Ms!))).toBeGreaterThanOrEqual(300);

    const rows = async (page: import('playwright-core').Page) =>
      page.locator('[data-testid=health-table] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const expected = (b: Bucket[]) => b.map((x) => [String(x.succeeded), String(x.failed), String(x.p50Ms), String(x.p95Ms)]);

    for (const viewport of [DESKTOP, PHONE]) {
      const page = await open(s.ctx, (await s.herald.portal(app)).url, viewport);
      await page.goto(`${s.herald.url}/portal/#/endpoints/${ep.id}/overview`);
      const summary = page.getByTestId('health-summary');
      await expect.poll(() => summary.textContent()).toContain('2 succeeded and 1 failed');
      expect(await page.getByRole('button', { name: 'Last 24 h' }).getAttribute('aria-pressed')).toBe('true');
      // The one failed attempt is one red bar.
      expect(await page.locator('[data-testid=attempts-chart] rect.bad').count()).toBe(1);
      expect(await page.locator('[data-testid=latency-chart] path.p95').getAttribute('d')).toMatch(/^M/);
      await page.getByText('Show the numbers as a table').click();
      expect(await rows(page)).toEqual(expected(hourly));
      if (viewport === DESKTOP) await shot(page, 'endpoint-health');
      expect(await axeViolations(page, `${viewport.width}px health, hourly`)).toEqual([]);
      expect(await overflowX(page)).toBeLessThanOrEqual(0);

      await page.getByRole('button', { name: 'Last 14 days' }).click();
      const daily = nonEmpty(await series('day'));
      await expect.poll(() => rows(page)).toEqual(expected(daily));
      expect(await page.getByRole('button', { name: 'Last 14 days' }).getAttribute('aria-pressed')).toBe('true');
      await expect.poll(() => summary.textContent()).toContain('2 succeeded and 1 failed');
      expect(await axeViolations(page, `${viewport.width}px health, daily`)).toEqual([]);
      await page.close();
    }
  }, 90_000);
});
