// What tenants expect from a webhooks portal (Svix's App Portal, Stripe's webhooks page), in
// Chromium: the log filtered and searched, events chosen a group at a time, ids copied.
// Needs `npm run build` first, like dashboard.e2e.test.ts.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { axeViolations, DESKTOP, open, overflowX, PHONE, shot, dashboardSuite } from './harness.js';

const s = dashboardSuite({ HERALD_RETRY_SCHEDULE: '1h' });

async function openAt(app: string, route: string, viewport = DESKTOP): Promise<Page> {
  const page = await open(s.ctx, (await s.herald.portal(app)).url, viewport);
  await page.goto(`${s.herald.url}/portal/#${route}`);
  return page;
}

const shownIds = (page: Page) => page.locator('li[data-msg]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-msg')).sort());

describe('the log', () => {
  it('filters by status, event type and date range, and finds a message by id or Engage eventId', async () => {
    const app = await s.herald.tenant('filters');
    // Payloads that say "fail" are answered 500 (and so wait for a retry an hour later).
    s.receiver.on('/filters', (r) => (r.text.includes('"fail"') ? { status: 500, body: 'no' } : { status: 200, body: '{}' }));
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/filters') });
    const send = (eventType: string, payload: unknown, eventId?: string) =>
      s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType, payload, ...(eventId ? { eventId } : {}) }).then((m) => m.id as string);
    const created = await send('contact.created', { contactId: 'ok' });
    const deleted = await send('contact.deleted', { contactId: 'ok' });
    const failing = await send('contact.created', { contactId: 'fail' });
    const engage = await send('contact.created', { contactId: 'ok2' }, 'evt-4711');
    await s.receiver.waitForCount(4, { path: '/filters' });

    const page = await openAt(app, `/endpoints/${ep.id}/log`);
    await page.getByText('4 messages shown.').waitFor();
    await page.getByLabel('Status').selectOption({ label: 'Pending' });
    await page.getByText('1 message shown.').waitFor();
    expect(await shownIds(page)).toEqual([failing]);
    await page.getByLabel('Status').selectOption({ label: 'Any' });
    await page.getByLabel('Event type').selectOption('contact.deleted');
    await page.getByText('1 message shown.').waitFor();
    expect(await shownIds(page)).toEqual([deleted]);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByText('4 messages shown.').waitFor();
    // A range that ends before the first message holds none of them.
    await page.getByLabel('To').fill('2020-01-01T00:00');
    await page.getByText('No message matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByText('4 messages shown.').waitFor();
    expect(await shownIds(page)).toEqual([created, deleted, failing, engage].sort());

    const search = page.getByLabel('Message id or event id');
    await search.fill('evt-4711');
    await page.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => shownIds(page)).toEqual([engage]);
    await search.fill(created);
    await page.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => shownIds(page)).toEqual([created]);
    await search.fill('msg_nothing_like_it');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByText('No message msg_nothing_like_it was sent to this endpoint.').waitFor();
    await page.getByRole('button', { name: 'Show all' }).click();
    await page.getByText('4 messages shown.').waitFor();
    expect(await axeViolations(page, 'log with filters')).toEqual([]);
    await page.close();
  });
});

describe('the endpoint', () => {
  it('chooses a group of events at once, and copies its id and secret', async () => {
    const app = await s.herald.tenant('groups');
    const page = await openAt(app, '/endpoints/new');
    const contacts = page
      .locator('fieldset.group')
      .filter({ has: page.getByRole('checkbox', { name: /^contact\.created/ }) })
      .getByRole('checkbox');
    await contacts.first().waitFor();
    await page.getByRole('button', { name: 'Select all contact events' }).click();
    expect(await contacts.evaluateAll((els) => els.every((e) => (e as HTMLInputElement).checked))).toBe(true);
    const n = await contacts.count();
    expect(n).toBeGreaterThan(1);
    await page.getByText(`${n} chosen.`).waitFor();
    await page.getByRole('button', { name: 'Clear all contact events' }).click();
    await page.getByText('No event chosen: this endpoint receives every event.').waitFor();
    await page.getByRole('button', { name: 'Select all contact events' }).click();
    await page.getByLabel('Endpoint URL').fill(s.receiver.url('/groups'));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Stats (28 days)').waitFor();
    const [ep] = (await s.herald.ok('GET', `/api/v1/app/${app}/endpoint`)).data;
    expect(ep.eventTypes).toHaveLength(n);

    await s.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.herald.url });
    await page.getByRole('button', { name: 'Copy endpoint id' }).click();
    await page.getByText('Copied.').first().waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ep.id);
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    await page.getByRole('button', { name: 'Copy secret' }).click();
    const secret = (await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).key;
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Generate a key' }).click();
    await page.getByRole('button', { name: 'Copy key' }).click();
    const key = (await page.getByTestId('encryption-key').textContent())!;
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await page.getByRole('link', { name: 'Endpoints' }).first().click();
    await page.locator('tbody tr a').first().click();
    await page.getByText('Stats (28 days)').waitFor();
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      expect(await axeViolations(page, `${viewport.width}px overview`)).toEqual([]);
      expect(await overflowX(page)).toBeLessThanOrEqual(0);
    }
    await page.close();
  });
});

describe('delivery rules on the endpoint page', () => {
  it("sets retry delays, a timeout and a content filter; shows the server's refusal by the field; empty inherits again", async () => {
    const app = await s.herald.tenant('rules');
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/rules') });
    const page = await openAt(app, `/endpoints/${ep.id}`);
    await page.getByRole('heading', { name: en.deliveryRules }).waitFor();
    await page.getByLabel(en.retrySchedule).fill('30s, 5m, 1h');
    await page.getByLabel(en.timeoutSeconds).fill('10');
    await page.getByLabel(en.contentFilter).fill('{"country": {"$eq": "SE"}}');
    await page.getByRole('button', { name: en.saveDeliveryRules }).click();
    await expect
      .poll(async () => s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}`))
      .toMatchObject({ retrySchedule: ['30s', '5m', '1h'], timeout: 10, filter: { country: { $eq: 'SE' } } });

    // A delay the server refuses is shown at its field, and nothing changes.
    await page.getByLabel(en.retrySchedule).fill('30s, 2 days');
    await page.getByRole('button', { name: en.saveDeliveryRules }).click();
    await page
      .getByText(/'2 days' is not a duration/)
      .first()
      .waitFor();
    expect((await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).retrySchedule).toEqual(['30s', '5m', '1h']);

    // One attempt only, and the rest back to inherited.
    await page.getByLabel(en.noRetries).check();
    await page.getByLabel(en.timeoutSeconds).fill('');
    await page.getByLabel(en.contentFilter).fill('');
    await page.getByRole('button', { name: en.saveDeliveryRules }).click();
    await expect.poll(async () => s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).toMatchObject({ retrySchedule: [], timeout: null, filter: null });
    expect(await axeViolations(page, 'delivery rules')).toEqual([]);
    await page.close();
  });
});

describe('branding for the host product', () => {
  it("shows the operator's name, logo (its origin allowed by the CSP) and accent colour; refuses altered links", async () => {
    const app = await s.herald.tenant('branded');
    s.receiver.on('/brand/logo.svg', {
      status: 200,
      headers: { 'content-type': 'image/svg+xml' },
      body: '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="28"><rect width="120" height="28" fill="#7a1f5c"/></svg>',
    });
    const branding = { displayName: 'Northwind Admin', logoUrl: s.receiver.url('/brand/logo.svg'), accentColor: '#7A1F5C' };
    for (const bad of [
      { ...branding, accentColor: 'purple' },
      { ...branding, logoUrl: 'javascript:alert(1)' },
      { ...branding, logo: 'x' },
    ]) {
      expect((await s.herald.api('POST', `/api/v1/auth/app-portal-access/${app}`, { branding: bad })).status).toBe(422);
    }
    expect((await s.herald.api('POST', `/api/v1/auth/app-portal-access/${app}`, { locale: 'de' })).status).toBe(422);
    const { url } = await s.herald.portal(app, { branding });
    const page = await open(s.ctx, url);
    await page.getByText('Northwind Admin → Webhooks').waitFor();
    expect(await page.title()).toBe('Endpoints · Northwind Admin');
    // The logo loaded: the page's CSP allows its origin (and the default CSP would not).
    await expect.poll(() => page.getByTestId('logo').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(120);
    const csp = (await s.herald.api('GET', new URL(url).pathname + new URL(url).search)).headers.get('content-security-policy')!;
    expect(csp).toContain(`img-src 'self' data: ${new URL(s.receiver.url('/')).origin};`);
    const add = page.getByRole('link', { name: '+ Add Endpoint' });
    expect(await add.evaluate((a) => getComputedStyle(a).backgroundColor)).toBe('rgb(122, 31, 92)');
    expect(await axeViolations(page, 'branded endpoints')).toEqual([]);
    // A reload keeps the look.
    await page.reload();
    await page.getByText('Northwind Admin → Webhooks').waitFor();

    // A look changed after signing gets no page.
    const u = new URL(url);
    const [data, sig] = u.searchParams.get('look')!.split('.');
    const forged = Buffer.from(JSON.stringify({ ...branding, displayName: 'Evil Corp' })).toString('base64url');
    for (const look of [`${forged}.${sig}`, `${data}.${sig!.slice(0, -2)}xx`]) {
      const r = await page.goto(`${s.herald.url}/portal/?look=${look}${u.hash}`);
      expect(r!.status()).toBe(400);
    }
    await page.close();
  });
});

describe('languages', () => {
  /** English sentences from the catalogue found on the page (none may show in Swedish). */
  const english = (page: Page) =>
    page.evaluate(
      (sentences) => {
        // biome-ignore lint/performance/useDomNodeTextContent: the text a reader sees; textContent would count hidden nodes too
        const seen = document.body.innerText;
        return sentences.filter((e) => seen.includes(e));
      },
      Object.values(en).filter((v) => v.length > 15 && !v.includes('{')),
    );

  it('speaks Swedish when the link says so, or else when the browser does', async () => {
    const app = await s.herald.tenant('svenska');
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/svenska'), description: 'Kassa' });
    // A few attempts, so the endpoint page's health chart has something to show in Swedish too.
    for (const contactId of ['c1', 'c2', 'c3']) await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId } });
    await s.receiver.waitForCount(3, { path: '/svenska' });
    const page = await s.ctx.newPage();
    await page.goto((await s.herald.portal(app, { locale: 'sv' })).url);
    await page.getByRole('heading', { level: 1, name: 'Slutpunkter' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('sv');
    await page.locator('tbody tr').filter({ hasText: 'Aktiverad' }).waitFor();
    expect(await english(page)).toEqual([]);
    for (const [route, ready] of [
      [`/endpoints/${ep.id}`, 'Statistik (28 dagar)'],
      [`/endpoints/${ep.id}/testing`, 'Skicka en testhändelse'],
      [`/endpoints/${ep.id}/log`, 'Återställ misslyckade meddelanden'],
      ['/endpoints/new', 'Lägg till slutpunkt'],
      ['/catalog', 'Exempel'],
      ['/settings', 'Krypteringsnyckel för innehållet'],
    ] as const) {
      await page.goto(`${s.herald.url}/portal/${new URL(page.url()).search}#${route}`);
      await page.getByText(ready, { exact: true }).first().waitFor();
      expect(await english(page), route).toEqual([]);
      expect(await axeViolations(page, `sv ${route}`)).toEqual([]);
      if (route === `/endpoints/${ep.id}`) {
        await page.getByTestId('attempts-chart').locator('rect').first().waitFor();
        await shot(page, 'endpoint-sv');
      }
    }
    await page.close();

    // No locale in the link: the browser's languages decide.
    const swedish = await s.ctx.newPage();
    await swedish.addInitScript(() => Object.defineProperty(navigator, 'languages', { get: () => ['sv-SE', 'en-US'] }));
    await swedish.goto((await s.herald.portal(app)).url);
    await swedish.getByRole('heading', { level: 1, name: 'Slutpunkter' }).waitFor();
    // The link's choice wins over the browser's.
    await swedish.goto((await s.herald.portal(app, { locale: 'en' })).url);
    await swedish.reload();
    await swedish.getByRole('heading', { level: 1, name: 'Endpoints' }).waitFor();
    expect(await swedish.evaluate(() => document.documentElement.lang)).toBe('en');
    // (The check above does find English where there is some.)
    expect((await english(swedish)).length).toBeGreaterThan(0);
    await swedish.close();
  });
});

describe('authentication to the endpoint', () => {
  it('sets a bearer token, then Basic auth, under the secrets permission; never shows the credential back', async () => {
    const app = await s.herald.tenant('authn');
    const ep = await s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url('/authn') });
    const page = await openAt(app, `/endpoints/${ep.id}`);
    await page.getByRole('heading', { name: en.authentication }).waitFor();
    await page.getByLabel(en.authKind).selectOption('bearer');
    await page.getByLabel(en.bearerToken).fill('tok-from-the-dashboard');
    await page.getByRole('button', { name: en.saveAuthentication }).click();
    await page.getByTestId('auth-state').getByText(en.authBearerSet).waitFor();
    await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.updated', payload: { n: 1 } });
    const [got] = await s.receiver.waitForCount(1, { path: '/authn' });
    expect(got!.headers.authorization).toBe('Bearer tok-from-the-dashboard');

    await page.getByLabel(en.authKind).selectOption('basic');
    await page.getByLabel(en.username).fill('shop');
    await page.getByLabel(en.password).fill('pw-from-the-dashboard');
    await page.getByRole('button', { name: en.saveAuthentication }).click();
    await page.getByTestId('auth-state').getByText(en.authBasicSet.replace('{user}', 'shop')).waitFor();
    expect(await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/auth`)).toEqual({ type: 'basic', username: 'shop', passwordSet: true });
    expect(await page.content()).not.toContain('pw-from-the-dashboard');
    expect(await axeViolations(page, 'endpoint authentication')).toEqual([]);
    await page.close();

    // Without the secrets permission the card says so and offers nothing.
    const viewer = await open(s.ctx, (await s.herald.portal(app, { permissions: ['view', 'manage'] })).url, DESKTOP);
    await viewer.goto(`${s.herald.url}/portal/#/endpoints/${ep.id}`);
    await viewer.getByText(en.cannotAuthentication).waitFor();
    expect(await viewer.getByLabel(en.authKind).count()).toBe(0);
    await viewer.close();
  });
});
