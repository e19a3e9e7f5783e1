// What the dashboard's browser tests share: a real `herald serve` (built dist, SQLite), a real
// receiver on loopback, Debian's Chromium through playwright-core, and small API helpers.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startHerald, type HeraldProcess } from '../../server/test/helpers/herald-process.js';
import { Receiver } from '../../server/test/helpers/receiver.js';

export const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = process.env.HERALD_SCREENSHOTS;
export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export async function launchChromium(): Promise<{ ctx: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'herald-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    ctx,
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** One Herald and the calls the tests make to it as the operator (or with a portal token). */
export class Herald {
  private constructor(readonly p: HeraldProcess) {}

  static async start(env: Record<string, string> = {}): Promise<Herald> {
    return new Herald(await startHerald({ env }));
  }

  get url(): string {
    return this.p.url;
  }

  async api(method: string, path: string, body?: unknown, token = this.p.token): Promise<{ status: number; body: any; headers: Headers }> {
    const res = await fetch(`${this.p.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (the portal's HTML)
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  async ok(method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.api(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** A tenant with its webhooks module on (or off). */
  async tenant(uid: string, opts: { module?: boolean } = {}): Promise<string> {
    await this.ok('POST', '/api/v1/app', { name: `${uid[0]!.toUpperCase()}${uid.slice(1)} Retail`, uid });
    if (opts.module !== false) await this.ok('PUT', `/api/v1/app/${uid}/engage/module`, { enabled: true });
    return uid;
  }

  async portal(app: string, body: Record<string, unknown> = {}): Promise<{ url: string; token: string }> {
    return this.ok('POST', `/api/v1/auth/app-portal-access/${app}`, body);
  }

  stop(): Promise<void> {
    return this.p.stop();
  }
}

/** A new tab at `url`, once the endpoint list has shown. */
export async function open(ctx: BrowserContext, url: string, viewport = DESKTOP): Promise<Page> {
  const page = await ctx.newPage();
  await page.setViewportSize(viewport);
  await page.goto(url);
  await page.getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();
  return page;
}

export async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's serious and critical violations (evaluated through DevTools: the CSP forbids inline scripts). */
export async function axeViolations(page: Page, what: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE, 'utf8'));
  const found = await page.evaluate(async () => {
    const r = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return (r.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found.map((f) => `${what}: ${f}`);
}

/** Content wider than the viewport means sideways scrolling on a phone. */
export const overflowX = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** What a browser test file works with; filled in before its first test. */
export interface DashboardSuite {
  herald: Herald;
  receiver: Receiver;
  ctx: BrowserContext;
}

/**
 * Starts a Herald (with `env`), a receiver and Chromium before the file's tests and stops them
 * after; the Engage event catalog is installed unless `catalog: false`.
 */
export function dashboardSuite(env: Record<string, string> = {}, { catalog = true }: { catalog?: boolean } = {}): DashboardSuite {
  const suite = {} as DashboardSuite;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  beforeAll(async () => {
    suite.herald = await Herald.start(env);
    suite.receiver = await Receiver.start();
    if (catalog) await suite.herald.ok('POST', '/api/v1/engage/catalog/install');
    browser = await launchChromium();
    suite.ctx = browser.ctx;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await suite.receiver?.close();
    await suite.herald?.stop();
  });
  return suite;
}
