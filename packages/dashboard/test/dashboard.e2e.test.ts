// The dashboard in a real browser: Debian's Chromium driven by playwright-core, against a real
// `herald serve` (built dist, SQLite) and a real HTTP receiver on loopback. Needs `npm run build`
// first (npm test does it). Set HERALD_SCREENSHOTS=<dir> to also write the README's screenshots.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald, type HeraldProcess } from '../../server/test/helpers/herald-process.js';
import { Receiver } from '../../server/test/helpers/receiver.js';
import { axeViolations, DESKTOP, launchChromium, open as openTab, overflowX, PHONE, shot } from './harness.js';

let herald: HeraldProcess;
let receiver: Receiver;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let ctx: BrowserContext;

async function api(method: string, path: string, body?: unknown, token = herald.token): Promise<{ status: number; body: any }> {
  const res = await fetch(`${herald.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const r = await api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A tenant with the Engage catalog, its webhooks module on (or off), and a portal session. */
async function tenant(uid: string, opts: { module?: boolean } = {}): Promise<string> {
  await ok('POST', '/api/v1/app', { name: `${uid[0]!.toUpperCase()}${uid.slice(1)} Retail`, uid });
  if (opts.module !== false) await ok('PUT', `/api/v1/app/${uid}/engage/module`, { enabled: true });
  return uid;
}

async function portalUrl(app: string, permissions?: string[]): Promise<{ url: string; token: string }> {
  return ok('POST', `/api/v1/auth/app-portal-access/${app}`, permissions ? { permissions } : {});
}

const open = (url: string, viewport = DESKTOP): Promise<Page> => openTab(ctx, url, viewport);

/** Every form control has an accessible name (a <label>, aria-label or aria-labelledby). */
async function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => {
        const e = el as HTMLInputElement;
        return !(e.labels && e.labels.length > 0) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby');
      })
      .map((el) => el.outerHTML),
  );
}

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_RETRY_SCHEDULE: 'none', HERALD_PUBLISHED_SOURCE_IPS: '203.0.113.10,198.51.100.0/28' } });
  receiver = await Receiver.start();
  await ok('POST', '/api/v1/engage/catalog/install');
  browser = await launchChromium();
  ctx = browser.ctx;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await herald?.stop();
});

describe('the dashboard', () => {
  it('walks through: add an endpoint with two events, send a test, see the attempt in the log, rotate the secret', async () => {
    const app = await tenant('acme');
    const { url } = await portalUrl(app);
    expect(url).toMatch(new RegExp(`^${herald.url}/portal/#key=appsk_`));
    const page = await open(url);
    // The token leaves the address bar once it is read.
    expect(page.url()).not.toContain('key=');
    await page.getByText('No endpoints yet.').waitFor();

    await page.getByRole('link', { name: '+ Add Endpoint' }).click();
    await page.getByRole('heading', { name: 'Add Endpoint' }).waitFor();
    await page.getByRole('checkbox', { name: /^contact\.created/ }).waitFor();
    await shot(page, 'add-endpoint');

    // A URL the server refuses (the SSRF guard) shows its reason next to the field.
    const urlField = page.getByLabel('Endpoint URL');
    await urlField.fill('http://10.1.2.3/hook');
    await page.getByRole('button', { name: 'Create' }).click();
    const inline = page.locator('.field').filter({ has: urlField }).getByRole('alert');
    await inline.waitFor();
    expect(await urlField.getAttribute('aria-invalid')).toBe('true');

    await urlField.fill(receiver.url('/acme'));
    await page.getByLabel('Description').fill('Order system');
    await page.getByRole('checkbox', { name: /^contact\.created/ }).check();
    await page.getByRole('checkbox', { name: /^contact\.deleted/ }).check();
    await page.getByLabel('Rate limit (messages per second)').fill('10');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: 'Overview' }).waitFor();

    const eps = await ok('GET', `/api/v1/app/${app}/endpoint`);
    expect(eps.data).toHaveLength(1);
    const ep = eps.data[0];
    expect(ep.url).toBe(receiver.url('/acme'));
    expect(ep.description).toBe('Order system');
    expect([...ep.eventTypes].sort()).toEqual(['contact.created', 'contact.deleted']);
    expect(ep.throttleRate).toBe(10);
    await page.getByText('Stats (28 days)').waitFor();

    // Testing: pick an event type, see its example, send it, watch the attempt appear.
    await page.getByRole('link', { name: 'Testing', exact: true }).click();
    await page.getByLabel('Event type').selectOption('contact.created');
    await page.locator('pre.code').filter({ hasText: '"eventType": "contact.created"' }).waitFor();
    await page.getByRole('button', { name: 'Send example' }).click();
    const [delivered] = await receiver.waitForCount(1, { path: '/acme' });
    expect(JSON.parse(delivered!.text).eventType).toBe('contact.created');
    const testedRow = page.locator('table.attempts tbody tr').first();
    await testedRow.filter({ hasText: 'Succeeded' }).waitFor();
    expect(await testedRow.textContent()).toContain('200');
    await shot(page, 'testing');

    // The log shows the message and, opened, its attempt with status, code, duration and body.
    await page.getByRole('link', { name: 'Log', exact: true }).click();
    const msgId = delivered!.headers['webhook-id'] as string;
    const entry = page.locator(`li[data-msg="${msgId}"]`);
    await entry.waitFor();
    await entry.getByRole('button', { expanded: false }).first().click();
    const attempt = entry.locator('table.attempts tbody tr').first();
    await attempt.filter({ hasText: 'Succeeded' }).waitFor();
    const text = (await attempt.textContent())!;
    expect(text).toContain('200');
    expect(text).toMatch(/\d+ ms/);
    await attempt.getByText('Show', { exact: true }).last().click();
    await attempt.getByText('{"ok":true}').waitFor();
    // Beside it, the request: the headers sent and the payload.
    await attempt.getByTestId('request').locator('summary').click();
    await attempt.getByTestId('request').getByText('svix-signature: v1,').waitFor();

    // A message accepted while the log is open appears without a reload (the log polls).
    const later = await ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.deleted', payload: { contactId: 'c-9' } });
    await page.locator(`li[data-msg="${later.id}"]`).filter({ hasText: 'Succeeded' }).waitFor();
    await shot(page, 'log');

    // Resend from the log makes one more (manual) attempt.
    await page.getByRole('button', { name: `Resend ${msgId}` }).click();
    await receiver.waitForCount(3, { path: '/acme' });
    // A test send is itself a manual attempt, so count rows rather than look for "manual".
    const rows = entry.locator('table.attempts tbody tr');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
    expect(await rows.first().textContent()).toContain('manual');

    // The secret stays hidden until revealed; rotating changes it.
    await page.getByRole('link', { name: 'Overview' }).click();
    const secret = page.getByTestId('secret');
    await secret.waitFor();
    expect(await secret.textContent()).not.toContain('whsec_');
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    await secret.filter({ hasText: 'whsec_' }).waitFor();
    const before = (await secret.textContent())!;
    const stored = await ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`);
    expect(before).toBe(stored.key);
    await page.getByLabel('Grace period').selectOption('3600');
    // Rotating asks first (saying what breaks); accept.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText(/^Rotated\./).waitFor();
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    await secret.filter({ hasText: 'whsec_' }).waitFor();
    const after = (await secret.textContent())!;
    expect(after).not.toBe(before);
    expect(after).toBe((await ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`)).key);

    // Disable and enable.
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await page.getByRole('button', { name: 'Enable endpoint' }).waitFor();
    expect((await ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).disabled).toBe(true);
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await page.getByRole('button', { name: 'Disable endpoint' }).waitFor();
    expect((await ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}`)).disabled).toBe(false);

    // Custom headers.
    await page.getByLabel('Header name').fill('X-Shop');
    await page.getByLabel('Value').fill('north');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByRole('button', { name: 'Remove header X-Shop' }).waitFor();
    expect((await ok('GET', `/api/v1/app/${app}/endpoint/${ep.id}/headers`)).headers).toEqual({ 'X-Shop': 'north' });

    // The list shows state (a disabled endpoint with its reason), success rate and the last attempt.
    await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url('/crm'), description: 'CRM sync (paused)', disabled: true });
    await page.getByRole('link', { name: 'Endpoints' }).first().click();
    const row = page.locator('tbody tr').filter({ hasText: receiver.url('/acme') });
    await row.filter({ hasText: '100%' }).waitFor();
    expect(await row.textContent()).toContain('Enabled');
    await page
      .locator('tbody tr')
      .filter({ hasText: receiver.url('/crm') })
      .filter({ hasText: 'Disabled' })
      .waitFor();
    await shot(page, 'endpoints');

    // Catalog and settings.
    await page.getByRole('link', { name: 'Event catalog' }).click();
    const card = page.locator('#et-contact\\.created');
    await card.getByText('Example', { exact: true }).click();
    await card.locator('details').last().locator('pre.code').filter({ hasText: 'contact.created' }).waitFor();
    await shot(page, 'catalog');

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Generate a key' }).click();
    const key = page.getByTestId('encryption-key');
    await key.waitFor();
    expect(await key.textContent()).toMatch(/^[a-zA-Z0-9]{32}$/);
    const settings = await ok('GET', `/api/v1/app/${app}/engage`);
    expect(settings.encryptionEnabled).toBe(true);
    await page.getByText('Herald sends webhooks from these addresses').waitFor();
    expect(await page.locator('ul.ips li').allTextContents()).toEqual(['203.0.113.10', '198.51.100.0/28']);
    await shot(page, 'settings');

    expect(await unlabelled(page)).toEqual([]);
    await page.close();
  });

  it('recovers failed messages from the log and shows the outcome once the task is done', async () => {
    const app = await tenant('recovery');
    receiver.on('/recovery', Receiver.sequence({ status: 500, body: 'down' }, { status: 200, body: '{"ok":true}' }));
    const ep = await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url('/recovery') });
    const msg = await ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'r1' } });
    await receiver.waitForCount(1, { path: '/recovery' });
    const page = await open((await portalUrl(app)).url);
    await page.goto(`${herald.url}/portal/#/endpoints/${ep.id}/log`);
    await page.locator(`li[data-msg="${msg.id}"]`).filter({ hasText: 'Failed' }).waitFor();
    await page.getByRole('button', { name: 'Recover', exact: true }).click();
    // The dashboard polls the recover's background task (a portal token may read its own).
    const result = page.getByTestId('recover-result');
    await result.and(page.locator('[data-state="finished"]')).waitFor();
    expect(await result.textContent()).toBe('Recovered: 1 message sent again.');
    await receiver.waitForCount(2, { path: '/recovery' });
    await page.locator(`li[data-msg="${msg.id}"]`).filter({ hasText: 'Succeeded' }).waitFor();
    await page.close();
  });

  it('has no serious or critical accessibility violations (axe-core) on any main page', async () => {
    const app = await tenant('axe');
    const ep = await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url('/axe'), description: 'Checked by axe', eventTypes: ['contact.created'] });
    await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url('/axe-off'), disabled: true });
    const msg = await ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'a1' } });
    await receiver.waitForCount(1, { path: '/axe' });
    const found: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      const page = await open((await portalUrl(app)).url, viewport);
      const at = `${viewport.width}px`;
      await page.locator('tbody tr').filter({ hasText: 'Disabled' }).waitFor();
      found.push(...(await axeViolations(page, `${at} endpoints`)));
      await page.goto(`${herald.url}/portal/#/endpoints/new`);
      await page.getByRole('checkbox', { name: /^contact\.created/ }).waitFor();
      found.push(...(await axeViolations(page, `${at} add endpoint`)));
      await page.goto(`${herald.url}/portal/#/endpoints/${ep.id}`);
      await page.getByText('Stats (28 days)').waitFor();
      found.push(...(await axeViolations(page, `${at} endpoint overview`)));
      await page.getByRole('link', { name: 'Testing', exact: true }).click();
      await page.getByLabel('Event type').selectOption('contact.created');
      await page.locator('pre.code').first().waitFor();
      found.push(...(await axeViolations(page, `${at} testing`)));
      await page.getByRole('link', { name: 'Log', exact: true }).click();
      const entry = page.locator(`li[data-msg="${msg.id}"]`);
      await entry.waitFor();
      await entry.getByRole('button', { expanded: false }).first().click();
      await entry.locator('table.attempts tbody tr').first().waitFor();
      found.push(...(await axeViolations(page, `${at} log`)));
      await page.getByRole('link', { name: 'Event catalog' }).click();
      await page.getByRole('heading', { level: 1, name: 'Event catalog' }).waitFor();
      await page.locator('#et-contact\\.created').waitFor();
      found.push(...(await axeViolations(page, `${at} catalog`)));
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByText('Herald sends webhooks from these addresses').waitFor();
      found.push(...(await axeViolations(page, `${at} settings`)));
      await page.close();
    }
    expect(found).toEqual([]);
  });

  it('lists many endpoints a page at a time, reading stats only for rows on screen, a few requests at once', async () => {
    const app = await tenant('many');
    for (let i = 0; i < 60; i++) await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url(`/many/${i}`), description: `Shop ${i}` });
    const page = await ctx.newPage();
    await page.setViewportSize(DESKTOP);
    // Count, inside the page, the per-row requests (stats, last attempt): which endpoints, and how many at once.
    await page.addInitScript(() => {
      const w = window as any;
      w.__rows = { now: 0, max: 0, stats: [] as string[] };
      const orig = window.fetch.bind(window);
      window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = String(input);
        const perRow = /\/stats$|\/attempt\/endpoint\//.test(url);
        if (!perRow) return orig(input, init);
        const m = /\/endpoint\/([^/]+)\/stats$/.exec(url);
        if (m) w.__rows.stats.push(decodeURIComponent(m[1]));
        w.__rows.now++;
        w.__rows.max = Math.max(w.__rows.max, w.__rows.now);
        try {
          const res = await orig(input, init);
          await res.clone().text();
          return res;
        } finally {
          w.__rows.now--;
        }
      };
    });
    await page.goto((await portalUrl(app)).url);
    await page.getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();
    const rows = page.locator('tbody tr');
    await rows.first().and(page.locator('[data-loaded="true"]')).waitFor();
    expect(await rows.count()).toBe(50);
    await page.getByText('50 endpoints shown, more to load.').waitFor();
    // Rows far below the fold have read nothing yet.
    const lastOfPage = rows.nth(49);
    expect(await lastOfPage.getAttribute('data-loaded')).toBe('false');
    const seen = async () => page.evaluate(() => (window as any).__rows as { now: number; max: number; stats: string[] });
    const firstId = (await rows.first().getAttribute('data-endpoint'))!;
    expect((await seen()).stats).toContain(firstId);
    expect(new Set((await seen()).stats).size).toBeLessThan(50);

    await page.getByRole('button', { name: 'Load more endpoints' }).click();
    await page.getByText('60 endpoints shown.').waitFor();
    expect(await rows.count()).toBe(60);
    expect(await page.getByRole('button', { name: 'Load more endpoints' }).count()).toBe(0);
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-endpoint')));
    expect(new Set(ids).size).toBe(60);
    // Scrolled to, the last row reads its stats and last attempt.
    await rows.nth(59).scrollIntoViewIfNeeded();
    await rows.nth(59).and(page.locator('[data-loaded="true"]')).waitFor();
    expect(await rows.nth(59).textContent()).toContain('never');
    expect((await seen()).stats).toContain(ids[59]);
    expect((await seen()).max).toBeLessThanOrEqual(4);
    await page.close();
  });

  it('stops polling while the tab is hidden and catches up when it is shown', async () => {
    const app = await tenant('hidden-tab');
    await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url('/hidden/0'), description: 'Polled' });
    // The page's timers run on Playwright's clock, which moves only when the test moves it.
    const page = await ctx.newPage();
    await page.setViewportSize(DESKTOP);
    await page.clock.install();
    let listReads = 0;
    page.on('request', (r) => {
      if (/\/endpoint\?limit=/.test(r.url())) listReads++;
    });
    await page.goto((await portalUrl(app)).url);
    await page.getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();
    await page.getByText('Polled').waitFor();
    // Shown: one poll interval (5 s) of the clock reads the list again.
    const polled = page.waitForRequest(/\/endpoint\?limit=/);
    await page.clock.runFor(5000);
    await polled;
    await page.getByText('Polled').waitFor();
    // Hidden (as the browser reports a background tab): four intervals go by without a read.
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    const before = listReads;
    await page.clock.runFor(20_000);
    // A marker request made now: a read made while hidden would have been reported before it.
    const marker = page.waitForRequest(/\/api\/v1\/health/);
    await page.evaluate(() => void fetch('/api/v1/health'));
    await marker;
    expect(listReads).toBe(before);
    // Shown again: the owed read goes out at once, with the clock standing still.
    const next = page.waitForRequest(/\/endpoint\?limit=/);
    await setHidden(false);
    await next;
    expect(listReads).toBe(before + 1);
    await page.close();
  });

  it('works with the keyboard alone and has labelled controls', async () => {
    const app = await tenant('keyboard');
    const page = await open((await portalUrl(app)).url);
    // Tab to the add link and follow it; the URL field takes focus; Enter submits.
    let found = false;
    for (let i = 0; i < 15 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await page.evaluate(() => document.activeElement?.textContent)) === '+ Add Endpoint';
    }
    expect(found).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Add Endpoint' }).waitFor();
    await page.getByRole('checkbox', { name: /^contact\.created/ }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('url');
    expect(await unlabelled(page)).toEqual([]);
    await page.keyboard.type(receiver.url('/keyboard'));
    // Tab to the first event checkbox and tick it with the space bar.
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)) === 'checkbox') break;
    }
    await page.keyboard.press('Space');
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Create') break;
    }
    await page.keyboard.press('Enter');
    await page.getByText('Stats (28 days)').waitFor();
    const eps = await ok('GET', `/api/v1/app/${app}/endpoint`);
    expect(eps.data).toHaveLength(1);
    expect(eps.data[0].eventTypes).toHaveLength(1);
    expect(await unlabelled(page)).toEqual([]);
    await page.close();
  });

  it('is usable at phone width: no page scrolls sideways', async () => {
    const app = await tenant('phone');
    await ok('POST', `/api/v1/app/${app}/endpoint`, {
      url: receiver.url('/a-rather-long-path/that-goes-on/and-on/for-a-while?with=query&strings=too'),
      description: 'Long URL',
    });
    const page = await open((await portalUrl(app)).url, PHONE);
    await page.locator('tbody tr').first().waitFor();
    expect(await overflowX(page)).toBeLessThanOrEqual(0);
    await shot(page, 'phone-endpoints');
    await page.locator('tbody tr a').first().click();
    await page.getByText('Stats (28 days)').waitFor();
    expect(await overflowX(page)).toBeLessThanOrEqual(0);
    for (const tab of ['Testing', 'Log']) {
      await page.getByRole('link', { name: tab, exact: true }).click();
      await page.getByRole('link', { name: tab, exact: true }).and(page.locator('[aria-current="page"]')).waitFor();
      expect(await overflowX(page)).toBeLessThanOrEqual(0);
    }
    for (const nav of ['Event catalog', 'Settings', 'Endpoints']) {
      await page.getByRole('link', { name: nav }).first().click();
      await page.getByRole('heading', { level: 1, name: nav }).waitFor();
      expect(await overflowX(page)).toBeLessThanOrEqual(0);
    }
    await page.close();
  });

  it('a view session can change nothing, through the UI or the API', async () => {
    const app = await tenant('viewer');
    const ep = await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url('/viewer'), eventTypes: ['contact.created'] });
    const msg = await ok('POST', `/api/v1/app/${app}/msg`, { eventType: 'contact.created', payload: { contactId: 'v1' } });
    await receiver.waitForCount(1, { path: '/viewer' });
    const { url, token } = await portalUrl(app, ['view']);
    const page = await open(url);
    await page.getByText('Read only').waitFor();
    await page.locator('tbody tr').first().waitFor();
    expect(await page.getByRole('link', { name: '+ Add Endpoint' }).count()).toBe(0);

    await page.locator('tbody tr a').first().click();
    await page.getByText('Stats (28 days)').waitFor();
    await page.getByText('This session cannot see or rotate the signing secret.').waitFor();
    for (const name of ['Disable endpoint', 'Delete endpoint', 'Reveal secret', 'Rotate secret', 'Add header', 'Save events and rate limit']) {
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    }
    await page.getByRole('checkbox').first().waitFor();
    expect(await page.getByRole('checkbox').first().isDisabled()).toBe(true);
    await page.getByRole('link', { name: 'Testing', exact: true }).click();
    await page.getByText('This session cannot send test events.').waitFor();
    expect(await page.getByRole('button', { name: 'Send example' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Log', exact: true }).click();
    await page.locator(`li[data-msg="${msg.id}"]`).waitFor();
    expect(await page.getByRole('button', { name: /^Resend/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Recover' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText('This session cannot set the encryption key.').waitFor();
    expect(await page.getByRole('button', { name: /Generate/ }).count()).toBe(0);

    // The same token, straight at the API from the page: every change is refused with 403.
    const base = `/api/v1/app/${app}`;
    const attempts: [string, string, unknown?][] = [
      ['POST', `${base}/endpoint`, { url: receiver.url('/evil') }],
      ['PATCH', `${base}/endpoint/${ep.id}`, { disabled: true }],
      ['PUT', `${base}/endpoint/${ep.id}`, { url: receiver.url('/evil') }],
      ['DELETE', `${base}/endpoint/${ep.id}`],
      ['GET', `${base}/endpoint/${ep.id}/secret`],
      ['POST', `${base}/endpoint/${ep.id}/secret/rotate`, {}],
      ['PATCH', `${base}/endpoint/${ep.id}/headers`, { headers: { 'X-Evil': '1' } }],
      ['POST', `${base}/endpoint/${ep.id}/send-example`, { eventType: 'contact.created' }],
      ['POST', `${base}/msg/${msg.id}/endpoint/${ep.id}/resend`],
      ['POST', `${base}/endpoint/${ep.id}/recover`, { since: new Date(Date.now() - 3600_000).toISOString() }],
      ['PUT', `${base}/engage/encryption-key`, {}],
      ['DELETE', `${base}/engage/encryption-key`],
      ['POST', `${base}/msg`, { eventType: 'contact.created', payload: {} }],
    ];
    const statuses = await page.evaluate(
      async ({ token, attempts }) => {
        const out: number[] = [];
        for (const [method, path, body] of attempts) {
          const res = await fetch(path, {
            method,
            headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          out.push(res.status);
        }
        return out;
      },
      { token, attempts },
    );
    expect(statuses).toEqual(attempts.map(() => 403));
    // Nothing changed.
    const now = await ok('GET', `${base}/endpoint/${ep.id}`);
    expect(now).toMatchObject({ url: receiver.url('/viewer'), disabled: false, updatedAt: ep.updatedAt });
    expect((await ok('GET', `${base}/endpoint`)).data).toHaveLength(1);
    expect((await ok('GET', `${base}/engage`)).encryptionEnabled).toBe(false);
    expect(receiver.received('/viewer')).toHaveLength(1);
    await page.close();
  });

  it('says when the webhooks module is off and offers nothing that sends', async () => {
    const app = await tenant('dormant', { module: false });
    const ep = await ok('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url('/dormant') });
    const { url, token } = await portalUrl(app);
    const page = await open(url);
    await page.getByText('The webhooks module is turned off').waitFor();
    // The API agrees: the same session cannot send a test straight through it either.
    const status = await page.evaluate(
      async ({ token, path }) =>
        (
          await fetch(path, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{"eventType":"svix.ping"}',
          })
        ).status,
      { token, path: `/api/v1/app/${app}/endpoint/${ep.id}/send-example` },
    );
    expect(status).toBe(409);
    expect(receiver.received('/dormant')).toHaveLength(0);
    await page.goto(`${herald.url}/portal/#/endpoints/${ep.id}/testing`);
    await page.getByText('Testing is unavailable while the webhooks module is off.').waitFor();
    expect(await page.getByRole('button', { name: 'Send example' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Log', exact: true }).click();
    await page.getByText('No message has been sent to this endpoint yet.').waitFor();
    expect(await page.getByRole('button', { name: 'Recover' }).count()).toBe(0);
    await page.close();
  });

  it('a link that is expired, revoked or forged says so', async () => {
    const app = await tenant('revoked');
    const { url, token } = await portalUrl(app);
    expect((await api('POST', '/api/v1/auth/logout', undefined, token)).status).toBe(204);
    const page = await ctx.newPage();
    await page.goto(url);
    await page.getByRole('alert').filter({ hasText: 'expired or was revoked' }).waitFor();
    await page.goto(`${herald.url}/portal/#key=appsk_forged.token`);
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'expired or was revoked' }).waitFor();
    await page.close();
  });
});

describe('the Settings page of a Herald with no fixed source addresses', () => {
  let bare: HeraldProcess;
  beforeAll(async () => {
    bare = await startHerald({ env: { HERALD_EGRESS_ADDRESSES: '', HERALD_PUBLISHED_SOURCE_IPS: '' } });
  }, 60_000);
  afterAll(async () => {
    await bare?.stop();
  });

  it('says none are configured (the API answers 404 then)', async () => {
    const call = async (method: string, path: string, body?: unknown, token = bare.token) => {
      const res = await fetch(`${bare.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json().catch(() => undefined) };
    };
    await call('POST', '/api/v1/app', { name: 'Bare Retail', uid: 'bare' });
    const portal = await call('POST', '/api/v1/auth/app-portal-access/bare', {});
    expect(portal.status).toBe(200);
    const answered = await call('GET', '/api/v1/source-ips', undefined, portal.body.token);
    expect(answered.status).toBe(404);
    const page = await open(portal.body.url);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('no-source-ips').waitFor();
    expect(await page.getByTestId('no-source-ips').textContent()).toBe('No fixed source addresses configured.');
    expect(await page.locator('ul.ips li').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await axeViolations(page, 'settings without source IPs')).toEqual([]);

    // Should the API answer an empty list instead, the page says the same.
    await page.route('**/api/v1/source-ips', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"addresses":[]}' }));
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await page.getByTestId('no-source-ips').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.close();
  });
});
