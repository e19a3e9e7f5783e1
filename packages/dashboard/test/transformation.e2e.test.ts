// An endpoint's transformation in the dashboard, in Chromium: a syntax error is shown on the code
// field and nothing is saved; "Try it" runs the code being edited on a sample payload; saved and
// switched on, the next delivery arrives transformed; a canceled one shows as canceled in the log;
// axe stays clean. Needs `npm run build` first, like dashboard.e2e.test.ts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { axeViolations, DESKTOP, open, SHOTS, dashboardSuite } from './harness.js';

const s = dashboardSuite({}, { catalog: false });

const CODE = `function handler(webhook) {
  if (webhook.payload.skip) webhook.cancel = true;
  webhook.payload = { text: 'Contact ' + webhook.payload.id, kind: webhook.eventType };
  return webhook;
}`;

describe("an endpoint's transformation in the dashboard", () => {
  it('refuses a syntax error, tries code on a sample, saves it, and deliveries go out transformed or canceled', async () => {
    const app = await s.herald.tenant('transforming');
    s.receiver.on('/tx', { status: 200 });
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/tx') });

    const page = await open(s.ctx, (await s.herald.portal(app)).url, DESKTOP);
    await page.goto(`${s.herald.url}/portal/#/endpoints/${ep.id}/overview`);
    const card = page.locator('form[aria-labelledby="transformation-h"]');
    await card.waitFor();
    const code = card.getByLabel(en.transformationCode);

    await code.fill('function handler(webhook { return webhook }');
    await card.getByLabel(en.transformationOn).check();
    await card.getByRole('button', { name: en.saveTransformation }).click();
    await card.getByText(/SyntaxError/).waitFor();
    expect(await code.getAttribute('aria-invalid')).toBe('true');
    expect(await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/transformation`)).toMatchObject({ code: null, enabled: false });

    await code.fill(CODE);
    await card.getByLabel(en.samplePayload).fill('{"id": "c-7"}');
    await card.getByRole('button', { name: en.tryTransformation }).click();
    const result = card.getByTestId('transformation-result');
    await result.getByText('"text":"Contact c-7"').waitFor();
    expect(await result.textContent()).toContain(`POST ${s.receiver.url('/tx')}`);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await card.screenshot({ path: join(SHOTS, 'transformation.png') });
    }
    await card.getByLabel(en.samplePayload).fill('{"id": "c-8", "skip": true}');
    await card.getByRole('button', { name: en.tryTransformation }).click();
    await result.getByText(en.transformationCanceled).waitFor();
    expect(await axeViolations(page, 'endpoint page with a transformation tried')).toEqual([]);

    await card.getByRole('button', { name: en.saveTransformation }).click();
    await card.getByRole('status').filter({ hasText: en.saved }).waitFor();
    expect(await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/transformation`)).toMatchObject({ code: CODE, enabled: true });

    const sent = await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.updated', payload: { id: 'c-9' } });
    const [r] = await s.receiver.waitForCount(1, { path: '/tx' });
    expect(JSON.parse(r!.text)).toEqual({ text: 'Contact c-9', kind: 'contact.updated' });
    expect(r!.headers['webhook-id']).toBe(sent.id);

    const skipped = await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.updated', payload: { id: 'c-10', skip: true } });
    await page.goto(`${s.herald.url}/portal/#/endpoints/${ep.id}/log`);
    const entry = page.locator(`li[data-msg="${skipped.id}"]`);
    await entry.locator('.status.s4').filter({ hasText: en.status4 }).waitFor();
  });
});
