// Why a delivery waits, in Chromium: an endpoint that failed twice in a row (the threshold here)
// shows its open circuit on the endpoint list and its page, and a delivery that fell due meanwhile
// shows as held in the log; a message behind an unfinished one in its ordering key shows what it
// waits for; axe stays clean. Needs `npm run build` first, like
// dashboard.e2e.test.ts.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { axeViolations, DESKTOP, open, dashboardSuite } from './harness.js';

const s = dashboardSuite({ HERALD_RETRY_SCHEDULE: '1h', HERALD_CIRCUIT_FAILURES: '2', HERALD_CIRCUIT_COOLDOWN: '1h' });

async function openAt(app: string, route: string): Promise<Page> {
  const page = await open(s.ctx, (await s.herald.portal(app)).url, DESKTOP);
  await page.goto(`${s.herald.url}/portal/#${route}`);
  return page;
}

describe('an endpoint whose circuit is open', () => {
  it('shows the circuit on the list and the endpoint page, and the held delivery in the log', async () => {
    const app = await s.herald.tenant('breaker');
    s.receiver.on('/down', { status: 503, body: 'down' });
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/down') });
    const send = () =>
      s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'c1' } }).then((m) => m.id as string);
    await send();
    await send();
    await s.receiver.waitForCount(2, { path: '/down' });
    await expect.poll(async () => (await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/health`)).circuit).toBe('open');
    const held = await send();
    await expect.poll(async () => (await s.herald.ok('GET', `/api/v1/app/${app}/msg/${held}/endpoint`)).data[0].heldBy).toBe('circuit');

    const list = await openAt(app, '/endpoints');
    const row = list.locator(`tr[data-endpoint="${ep.id}"]`);
    await row.getByTestId('circuit').waitFor();
    expect(await row.getByTestId('circuit').textContent()).toContain(en.circuitOpen);

    const page = await openAt(app, `/endpoints/${ep.id}/overview`);
    await page.getByTestId('state').getByTestId('circuit').waitFor();
    expect(await page.getByTestId('state').textContent()).toContain('2 failures in a row');
    expect(await axeViolations(page, 'endpoint page with an open circuit')).toEqual([]);

    const log = await openAt(app, `/endpoints/${ep.id}/log`);
    const entry = log.locator(`li[data-msg="${held}"]`);
    await entry.getByTestId('held').waitFor();
    expect(await entry.getByTestId('held').textContent()).toBe(en.heldCircuit);
    expect(await axeViolations(log, 'log with a held delivery')).toEqual([]);
  });
});

describe('a message waiting for its turn in an ordering key', () => {
  it('shows the message ahead of it in the log', async () => {
    const app = await s.herald.tenant('ordered');
    s.receiver.on('/ordered', { status: 503, body: 'not yet' });
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/ordered'), ordering: 'key' });
    const send = () =>
      s.herald
        .ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.updated', payload: { contactId: 'c7' }, orderingKey: 'c7' })
        .then((m) => m.id as string);
    const first = await send();
    await s.receiver.waitForCount(1, { path: '/ordered' });
    const second = await send();
    await expect.poll(async () => (await s.herald.ok('GET', `/api/v1/app/${app}/msg/${second}/endpoint`)).data[0].waitingFor).toBe(first);

    const log = await openAt(app, `/endpoints/${ep.id}/log`);
    const entry = log.locator(`li[data-msg="${second}"]`);
    await entry.getByTestId('waiting').waitFor();
    expect(await entry.getByTestId('waiting').textContent()).toBe(en.waitingFor.replace('{id}', first));
    expect(await log.locator(`li[data-msg="${first}"]`).getByTestId('waiting').count()).toBe(0);
    expect(await axeViolations(log, 'log with a waiting delivery')).toEqual([]);
  });
});
