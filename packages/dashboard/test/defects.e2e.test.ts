// The dashboard as a tenant met it in Chromium: each test here pins one thing that went wrong
// (and failed before its fix). Needs `npm run build` first, like dashboard.e2e.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, dashboardSuite, Herald, open, PHONE } from './harness.js';

// Failed attempts are retried an hour later, so a failing message stays Pending (retrying).
const s = dashboardSuite({ HERALD_RETRY_SCHEDULE: '1h' });

const endpointOf = (app: string, url: string, extra: Record<string, unknown> = {}) =>
  s.herald.ok('POST', `/api/v1/app/${app}/endpoint`, { url: s.receiver.url(url), ...extra });

async function openAt(app: string, route: string, viewport = DESKTOP, body: Record<string, unknown> = {}): Promise<Page> {
  const page = await open(s.ctx, (await s.herald.portal(app, body)).url, viewport);
  await page.goto(`${s.herald.url}/portal/#${route}`);
  return page;
}

/** A fetch from inside the page with the given token; the status it got. */
const statusFromPage = (page: Page, token: string, method: string, path: string, body?: unknown) =>
  page.evaluate(
    async ({ token, method, path, body }) =>
      (
        await fetch(path, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
      ).status,
    { token, method, path, body },
  );

describe('defects a tenant ran into', () => {
  it('1: event checkboxes keep their size beside a wrapping description, at phone width', async () => {
    const app = await s.herald.tenant('checkboxes');
    const page = await openAt(app, '/endpoints/new', PHONE);
    await page.getByRole('checkbox', { name: /^contact\.created/ }).waitFor();
    const sizes = await page.getByRole('checkbox').evaluateAll((els) => els.map((el) => el.getBoundingClientRect()).map((r) => [r.width, r.height]));
    expect(sizes.length).toBeGreaterThan(5);
    for (const [w, h] of sizes) {
      expect(w).toBeGreaterThanOrEqual(16);
      expect(h).toBeGreaterThanOrEqual(16);
    }
    await page.close();
  });

  it('2: the log pages back through every message, not only the newest 50', async () => {
    const app = await s.herald.tenant('paging');
    const ep = await endpointOf(app, '/paging');
    const ids: string[] = [];
    for (let i = 0; i < 60; i++)
      ids.push((await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: `p${i}` } })).id);
    const page = await openAt(app, `/endpoints/${ep.id}/log`);
    await page.getByText('50 messages shown, older ones to load.').waitFor();
    expect(await page.locator(`li[data-msg="${ids[0]}"]`).count()).toBe(0);
    await page.getByRole('button', { name: 'Load older messages' }).click();
    await page.getByText('60 messages shown.').waitFor();
    const shown = await page.locator('li[data-msg]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-msg')));
    expect(new Set(shown)).toEqual(new Set(ids));
    expect(await page.getByRole('button', { name: 'Load older messages' }).count()).toBe(0);
    await page.close();
  });

  it('3: the endpoint page notices a 410 disabling the endpoint, and Testing says why it cannot send', async () => {
    const app = await s.herald.tenant('gone');
    s.receiver.on('/gone', { status: 410, body: 'gone' });
    const ep = await endpointOf(app, '/gone');
    const page = await openAt(app, `/endpoints/${ep.id}`);
    await page.getByTestId('state').filter({ hasText: 'Enabled' }).waitFor();
    await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'g1' } });
    await s.receiver.waitForCount(1, { path: '/gone' });
    // No navigation: the open page shows the new state, in the header and the State card.
    await page.getByTestId('state').filter({ hasText: 'Disabled' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('.head').textContent()).toContain('Disabled');
    await page.getByRole('link', { name: 'Testing', exact: true }).click();
    await page.getByTestId('why-no-send').waitFor();
    expect(await page.getByRole('button', { name: 'Send example' }).count()).toBe(0);
    await page.close();
  });

  it('4: URL and description are edited in place, keeping the secret', async () => {
    const app = await s.herald.tenant('moving');
    const ep = await endpointOf(app, '/old-home', { description: 'Old' });
    const secret = (await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).key;
    const page = await openAt(app, `/endpoints/${ep.id}`);
    const form = page.locator('form').filter({ has: page.getByRole('heading', { name: 'URL and description' }) });
    await form.getByLabel('Endpoint URL').fill(s.receiver.url('/new-home'));
    await form.getByLabel('Description').fill('Moved');
    await form.getByRole('button', { name: 'Save URL and description' }).click();
    await page.getByRole('heading', { level: 1, name: s.receiver.url('/new-home') }).waitFor();
    const now = await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}`);
    expect(now).toMatchObject({ url: s.receiver.url('/new-home'), description: 'Moved' });
    expect((await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).key).toBe(secret);
    await page.close();
  });

  it('5: a manage session without secrets cannot choose the signing secret at creation', async () => {
    const app = await s.herald.tenant('chooser');
    const manageOnly = await s.herald.portal(app, { permissions: ['view', 'manage'] });
    const full = await s.herald.portal(app);
    const page = await open(s.ctx, manageOnly.url);
    const path = `/api/v1/app/${app}/endpoint`;
    const chosen = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(await statusFromPage(page, manageOnly.token, 'POST', path, { url: s.receiver.url('/chooser'), secret: chosen })).toBe(403);
    expect((await s.herald.ok('GET', path)).data).toHaveLength(0);
    expect(await statusFromPage(page, manageOnly.token, 'POST', path, { url: s.receiver.url('/chooser') })).toBe(201);
    expect(await statusFromPage(page, full.token, 'POST', path, { url: s.receiver.url('/chooser2'), secret: chosen })).toBe(201);
    await page.close();
  });

  it('6: a retrying message shows its next attempt; a recover that finds none failed says why', async () => {
    const app = await s.herald.tenant('retrying');
    s.receiver.on('/retrying', { status: 500, body: 'down' });
    const ep = await endpointOf(app, '/retrying');
    const msg = await s.herald.ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'r1' } });
    await s.receiver.waitForCount(1, { path: '/retrying' });
    const page = await openAt(app, `/endpoints/${ep.id}/log`);
    const entry = page.locator(`li[data-msg="${msg.id}"]`);
    await entry.filter({ hasText: 'Pending' }).getByTestId('next-attempt').waitFor();
    expect(await entry.getByTestId('next-attempt').textContent()).toMatch(/^Next attempt in \d+ (min|h)$/);
    // The time shown is the API's nextAttempt for this message at this endpoint.
    const listed = (await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/msg`)).data[0];
    expect(listed.nextAttempt).toBeTruthy();
    expect(await entry.getByTestId('next-attempt').locator('time').getAttribute('datetime')).toBe(listed.nextAttempt);
    await page.getByRole('button', { name: 'Recover', exact: true }).click();
    const result = page.getByTestId('recover-result');
    await result.and(page.locator('[data-state="finished"]')).waitFor();
    expect(await result.textContent()).toContain('messages still being retried (Pending) are not failed yet');
    await page.close();
  });

  it('7: an open dashboard notices the module being turned off', async () => {
    const app = await s.herald.tenant('switched');
    const page = await open(s.ctx, (await s.herald.portal(app)).url);
    expect(await page.getByText('The webhooks module is turned off').count()).toBe(0);
    await s.herald.ok('PUT', `/api/v1/app/${app}/engage/module`, { enabled: false });
    await page.getByText('The webhooks module is turned off').waitFor({ timeout: 20_000 });
    await page.close();
  });

  it("8: a tenant's SSRF refusal speaks to the tenant; the operator still gets the setting's name", async () => {
    const app = await s.herald.tenant('private');
    const page = await openAt(app, '/endpoints/new');
    const url = page.getByLabel('Endpoint URL');
    await url.fill('http://10.1.2.3/hook');
    await page.getByRole('button', { name: 'Create' }).click();
    const inline = page.locator('.field').filter({ has: url }).getByRole('alert');
    await inline.waitFor();
    const text = (await inline.textContent())!;
    expect(text).toContain('private or internal');
    expect(text).not.toContain('HERALD_');
    const operator = await s.herald.api('POST', `/api/v1/app/${app}/endpoint`, { url: 'http://10.1.2.3/hook' });
    expect(operator.status).toBe(422);
    expect(JSON.stringify(operator.body)).toContain('HERALD_SSRF_ALLOWLIST');
    await page.close();
  });

  it('9: rotating the signing secret or the encryption key asks first, saying what breaks', async () => {
    const app = await s.herald.tenant('careful');
    const ep = await endpointOf(app, '/careful');
    const secretNow = async () => (await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).key as string;
    const before = await secretNow();
    const page = await openAt(app, `/endpoints/${ep.id}`);
    await page.getByLabel('Grace period').selectOption('0');
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('stops signing at once');
    expect(await secretNow()).toBe(before);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText('Rotated. The old secret no longer signs.').waitFor();
    expect(await secretNow()).not.toBe(before);

    await s.herald.ok('PUT', `/api/v1/app/${app}/engage/encryption-key`, {});
    const keySetAt = (await s.herald.ok('GET', `/api/v1/app/${app}/engage`)).keySetAt;
    await page.getByRole('link', { name: 'Settings' }).click();
    const rotate = page.getByRole('button', { name: 'Rotate: generate a new key' });
    await rotate.waitFor();
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await rotate.click();
    await expect.poll(() => asked.length).toBe(2);
    expect(asked[1]).toContain('cannot read them');
    expect((await s.herald.ok('GET', `/api/v1/app/${app}/engage`)).keySetAt).toBe(keySetAt);
    page.once('dialog', (d) => void d.accept());
    await rotate.click();
    await page.getByTestId('encryption-key').waitFor();
    expect((await s.herald.ok('GET', `/api/v1/app/${app}/engage`)).keySetAt).not.toBe(keySetAt);
    await page.close();
  });

  it('10: unsaved edits survive another action on the page and the page refreshing', async () => {
    const app = await s.herald.tenant('drafts');
    const ep = await endpointOf(app, '/drafts', { description: 'Saved text' });
    const page = await openAt(app, `/endpoints/${ep.id}`);
    const box = page.getByRole('checkbox', { name: /^contact\.deleted/ });
    await box.check();
    const description = page
      .locator('form')
      .filter({ has: page.getByRole('heading', { name: 'URL and description' }) })
      .getByLabel('Description');
    await description.fill('Typed, not saved');
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await page.getByRole('button', { name: 'Enable endpoint' }).waitFor();
    // And through the next refresh of the endpoint (polled every 5 s).
    await page.waitForResponse((r) => r.url().endsWith(`/endpoint/${ep.id}`) && r.request().method() === 'GET');
    expect(await box.isChecked()).toBe(true);
    expect(await description.inputValue()).toBe('Typed, not saved');
    await page.getByRole('button', { name: 'Save events and rate limit' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await s.herald.ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).eventTypes).toEqual(['contact.deleted']);
    await page.close();
  });

  it('11: after navigation focus lands on the new page and the change is announced', async () => {
    const app = await s.herald.tenant('focus');
    await endpointOf(app, '/focus');
    const page = await open(s.ctx, (await s.herald.portal(app)).url);
    await page.locator('tbody tr a').first().click();
    await page.getByText('Stats (28 days)').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(await page.getByTestId('announcer').textContent()).toBe('Endpoint: Overview');
    expect(await page.title()).toBe('Endpoint: Overview · Webhooks');
    // The next Tab continues inside the page, at its first link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('← Endpoints');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Endpoints' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(await page.getByTestId('announcer').textContent()).toBe('Endpoints');
    await page.close();
  });

  it("12: the Testing example is this tenant's, encrypted when the tenant has a key", async () => {
    const app = await s.herald.tenant('northwind');
    await s.herald.ok('PUT', `/api/v1/app/${app}/engage/encryption-key`, {});
    const ep = await endpointOf(app, '/northwind');
    const page = await openAt(app, `/endpoints/${ep.id}/testing`);
    await page.getByLabel('Event type').selectOption('contact.created');
    await page.getByTestId('encrypted-note').waitFor();
    const shown = JSON.parse((await page.getByTestId('example').textContent())!);
    expect(shown).toMatchObject({ tenant: 'northwind', isEncrypted: true, eventType: 'contact.created' });
    expect(typeof shown.payload).toBe('string');
    await page.getByRole('button', { name: 'Send example' }).click();
    const [got] = await s.receiver.waitForCount(1, { path: '/northwind' });
    const sent = JSON.parse(got!.text);
    expect(sent).toMatchObject({ tenant: 'northwind', isEncrypted: true, eventType: 'contact.created' });
    expect(typeof sent.payload).toBe('string');
    await page.close();
  });

  it('13: HEAD /portal/ and /favicon.ico answer; catalog cards do not touch', async () => {
    expect((await fetch(`${s.herald.url}/portal/`, { method: 'HEAD' })).status).toBe(200);
    const app = await s.herald.tenant('icons');
    const page = await open(s.ctx, (await s.herald.portal(app)).url);
    const icon = await page.goto(`${s.herald.url}/favicon.ico`);
    expect(icon!.status()).toBe(200);
    expect(icon!.headers()['content-type']).toContain('image/svg+xml');
    await page.goto(`${s.herald.url}/portal/#/catalog`);
    await page.locator('#et-contact\\.created').waitFor();
    const gaps = await page
      .locator('section section')
      .first()
      .locator('article.card')
      .evaluateAll((cards) => cards.slice(1).map((c, i) => c.getBoundingClientRect().top - cards[i]!.getBoundingClientRect().bottom));
    expect(gaps.length).toBeGreaterThan(0);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(8);
    await page.close();
  });

  it('the endpoint list polls its first page only, not every page loaded', async () => {
    const app = await s.herald.tenant('polled');
    for (let i = 0; i < 55; i++) await endpointOf(app, `/polled/${i}`);
    const page = await open(s.ctx, (await s.herald.portal(app)).url);
    await page.getByRole('button', { name: 'Load more endpoints' }).click();
    await page.getByText('55 endpoints shown.').waitFor();
    const reads: string[] = [];
    page.on('request', (r) => {
      if (/\/endpoint\?limit=/.test(r.url())) reads.push(r.url());
    });
    // Two polls later, every list read asked for the first page.
    await expect.poll(() => reads.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    expect(reads.filter((u) => u.includes('iterator='))).toEqual([]);
    // A new endpoint still shows up at the top.
    await endpointOf(app, '/polled/new');
    await page
      .locator('tbody tr')
      .filter({ hasText: s.receiver.url('/polled/new') })
      .waitFor({ timeout: 10_000 });
    await page.close();
  });
});

describe('a portal embedded in the host product (HERALD_PORTAL_FRAME_ANCESTORS)', () => {
  let host: Server;
  let hostOrigin: string;
  let embedding: Herald;
  beforeAll(async () => {
    // The host product's admin: a page on another origin that frames the portal link it is given.
    host = createServer((req, res) => {
      const src = new URL(req.url!, 'http://x').searchParams.get('src') ?? '';
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>Host admin</title><iframe title="Webhooks" src="${src.replace(/"/g, '&quot;')}" width="1000" height="700"></iframe>`);
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    hostOrigin = `http://localhost:${(host.address() as AddressInfo).port}`;
    embedding = await Herald.start({ HERALD_PORTAL_FRAME_ANCESTORS: hostOrigin });
  }, 60_000);
  afterAll(async () => {
    await embedding?.stop();
    host?.closeAllConnections();
    await new Promise((r) => host?.close(r));
  });

  it('14: frames the portal for the origins the operator names, and still refuses others', async () => {
    const named = await embedding.api('GET', '/portal/');
    expect(named.headers.get('content-security-policy')).toContain(`frame-ancestors ${hostOrigin};`);
    expect(named.headers.get('x-frame-options')).toBeNull();
    const closed = await s.herald.api('GET', '/portal/');
    expect(closed.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(closed.headers.get('x-frame-options')).toBe('DENY');

    await embedding.tenant('embedded');
    const page = await s.ctx.newPage();
    await page.goto(`${hostOrigin}/?src=${encodeURIComponent((await embedding.portal('embedded')).url)}`);
    // (In a frame the browser may deny storage to the portal: it then keeps the token in memory.)
    await page.frameLocator('iframe').getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();

    // The default Herald's portal in the same frame is refused: Chromium shows its error page there.
    await s.herald.tenant('not-embedded');
    await page.goto(`${hostOrigin}/?src=${encodeURIComponent((await s.herald.portal('not-embedded')).url)}`);
    await expect.poll(() => page.frames().some((f) => f !== page.mainFrame() && f.url().startsWith('chrome-error://'))).toBe(true);
    await page.close();
  });
});
