// `herald simulate` drives the producer routes of a real Herald (a child process) and every kind
// of Engage event comes out as a message, at the chosen rate; the CLI does the same from the
// command line.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../src/simulate/simulate.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';

const ALL_EVENTS = [
  'contact.created',
  'contact.updated',
  'contact.acceptsEmail.changed',
  'contact.acceptsSms.changed',
  'contact.acceptsPostal.changed',
  'contact.consent.changed',
  'loyalty.addPoints',
  'point.balance.updated',
  'reward.voucher.created',
  'promotion.multichannel.assigned',
  'contact.deleted',
];

describe('herald simulate', () => {
  let herald: HeraldProcess;
  beforeAll(async () => {
    herald = await startHerald({ env: { HERALD_LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await herald?.stop();
  });

  it('produces every Engage event type through the producer routes, with no errors, repeatably', async () => {
    const report = await simulate({ url: herald.url, token: herald.token, tenant: 'sim', rate: 400, count: 600, seed: 7 });
    expect(report.errors).toEqual([]);
    expect(Object.values(report.actions).reduce((a, b) => a + b, 0)).toBe(600);
    for (const t of ALL_EVENTS) expect(report.events[t], t).toBeGreaterThan(0);
    expect(report.messages).toBe(Object.values(report.events).reduce((a, b) => a + b, 0));
    // Every toggle really toggles (the simulator tracks what it sent), so each fires its event.
    const n = (k: string) => report.events[k] ?? 0;
    expect(n('contact.created')).toBe(report.actions['contact.create']);
    expect(n('contact.acceptsEmail.changed') + n('contact.acceptsSms.changed') + n('contact.acceptsPostal.changed')).toBe(report.actions['contact.preference']);
    expect(n('contact.consent.changed')).toBe(report.actions['contact.consent']);
    expect(n('contact.deleted')).toBe(report.actions['contact.delete']);
    expect(n('reward.voucher.created')).toBe(report.actions['voucher.create']);
    // What the routes reported is what Herald stored.
    const list = await fetch(`${herald.url}/api/v1/app/sim/msg?limit=250&event_types=reward.voucher.created`, {
      headers: { authorization: `Bearer ${herald.token}` },
    }).then((r) => r.json() as Promise<{ data: { eventType: string; payload: { eventType: string; tenant: string } }[] }>);
    expect(list.data.length).toBe(Math.min(250, report.events['reward.voucher.created']!));
    expect(list.data[0]!.payload).toMatchObject({ eventType: 'reward.voucher.created', tenant: 'sim' });
    // The same seed makes the same mix of actions.
    const again = await simulate({ url: herald.url, token: herald.token, tenant: 'sim2', rate: 400, count: 600, seed: 7 });
    expect(again.actions).toEqual(report.actions);
  });

  it('paces actions at the chosen rate: action i is due at i / rate (on a virtual clock, so no timing in the test)', async () => {
    const run = async (rate: number, tenant: string) => {
      let t = 1_000;
      const sleeps: number[] = [];
      const clock = {
        now: () => t,
        sleep: async (ms: number) => {
          sleeps.push(ms);
          t += ms;
          await new Promise((r) => setImmediate(r));
        },
      };
      const report = await simulate({ url: herald.url, token: herald.token, tenant, rate, durationMs: 2_000, seed: 3, clock });
      expect(report.errors).toEqual([]);
      return { actions: Object.values(report.actions).reduce((a, b) => a + b, 0), elapsedMs: report.elapsedMs, sleeps };
    };
    // 2 s at 40/s: actions at 0, 25, ..., 2000 ms; the clock only moves by the simulator's own waits.
    const fast = await run(40, 'paced-40');
    expect(fast.actions).toBe(81);
    expect(fast.elapsedMs).toBe(2_000);
    expect(fast.sleeps.every((ms) => ms > 0 && ms <= 25)).toBe(true);
    const slow = await run(5, 'paced-5');
    expect(slow.actions).toBe(11);
    expect(slow.elapsedMs).toBe(2_000);
    expect(slow.sleeps).toEqual(Array(10).fill(200));
  });

  it('runs from the CLI, and refuses bad flags with a clear message', () => {
    const cli = ['packages/server/dist/cli/main.js', 'simulate'];
    const env = { ...process.env, HERALD_API_TOKEN: herald.token, HERALD_DATA_DIR: herald.dataDir };
    const ok = spawnSync(process.execPath, [...cli, '--url', herald.url, '--tenant', 'cli-sim', '--rate', '200', '--count', '50'], { env, encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout.slice(ok.stdout.indexOf('{')));
    expect(report.errors).toEqual([]);
    expect(report.messages).toBeGreaterThan(0);
    const bad = spawnSync(process.execPath, [...cli, '--url', herald.url, '--rate', 'fast'], { env, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--rate must be a positive number/);
  });
});
