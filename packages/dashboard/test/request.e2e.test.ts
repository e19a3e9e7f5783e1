// The request of an attempt beside its response, in Chromium: opened in the log, it shows the
// headers sent (the signature, a custom header by name with its value masked, never the value) and
// the payload; axe stays clean. Needs `npm run build` first, like dashboard.e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { axeViolations, DESKTOP, open, dashboardSuite } from './harness.js';

const CUSTOM_SECRET = 'api-key-SECRET-93ab1e';

const s = dashboardSuite();

describe("an attempt's request in the log", () => {
  it('shows the headers sent, a custom header masked, and the payload', async () => {
    const app = await s.herald.tenant('request');
    s.receiver.on('/rq', { status: 200, body: '{"ok":true}' });
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/rq'), headers: { 'X-Api-Key': CUSTOM_SECRET } });
    const msg = await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'c-request-42' } });
    await s.receiver.waitForCount(1, { path: '/rq' });

    const page = await open(s.ctx, (await s.herald.portal(app)).url, DESKTOP);
    await page.goto(`${s.herald.url}/portal/#/endpoints/${ep.id}/log`);
    const entry = page.locator(`li[data-msg="${msg.id}"]`);
    await entry.waitFor();
    await entry.getByRole('button', { expanded: false }).first().click();
    const attempt = entry.locator('table.attempts tbody tr').first();
    await attempt.filter({ hasText: en.status0 }).waitFor();
    const request = attempt.getByTestId('request');
    await request.locator('summary').click();
    await request.getByText('c-request-42').waitFor();
    const text = (await request.textContent())!;
    expect(text).toContain(`svix-id: ${msg.id}`);
    expect(text).toMatch(/webhook-signature: v1,/);
    expect(text).toContain('X-Api-Key: ••••');
    expect(text).not.toContain(CUSTOM_SECRET);
    expect(await page.content()).not.toContain(CUSTOM_SECRET);
    expect(await axeViolations(page, "log with an attempt's request open")).toEqual([]);
  });
});
