// Retention as an operator meets it: HERALD_ATTEMPT_RETENTION and the purge settings are validated
// with clear errors; a dispatching Herald purges in the background, so the API then shows an
// expired message with `payload: {"expired": true}` (Svix's shape) and still lists it; and
// `herald purge` runs one full pass on SQLite and on PostgreSQL and prints what it removed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { MessageStatus } from '../src/domain/types.js';
import { Sealer } from '../src/security/sealer.js';
import { PgStore } from '../src/store/postgres/pg-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { runCli } from './helpers/cli.js';
import { Clock, DAY, startInProcess } from './helpers/inproc.js';
import { createTestDatabase } from './helpers/pg.js';
import { until } from './helpers/wait.js';
import { app, attemptFor, endpoint, LEASE, message, resetIds } from './store/records.js';

const load = (env: Record<string, string>) => loadConfig({ HERALD_DATA_DIR: '/tmp/herald-retention-test', ...env });
function refuses(env: Record<string, string>, variable: string, hint: RegExp): void {
  let err: unknown;
  try {
    load(env);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).variable).toBe(variable);
  expect((err as Error).message).toMatch(hint);
}

describe('retention: configuration', () => {
  it('defaults: attempts kept 90 days, a pass every 10 minutes in batches of 500', () => {
    expect(load({}).retention).toEqual({ attemptMs: 90 * DAY, intervalMs: 600_000, batchSize: 500 });
  });

  it('takes a duration or forever', () => {
    expect(load({ HERALD_ATTEMPT_RETENTION: '30d' }).retention.attemptMs).toBe(30 * DAY);
    expect(load({ HERALD_ATTEMPT_RETENTION: '12h' }).retention.attemptMs).toBe(12 * 3600_000);
    expect(load({ HERALD_ATTEMPT_RETENTION: 'forever' }).retention.attemptMs).toBeNull();
    expect(load({ HERALD_PURGE_INTERVAL: '1m', HERALD_PURGE_BATCH: '50' }).retention).toMatchObject({ intervalMs: 60_000, batchSize: 50 });
  });

  it('refuses bad values, naming the variable and what is allowed', () => {
    refuses({ HERALD_ATTEMPT_RETENTION: 'three months' }, 'HERALD_ATTEMPT_RETENTION', /not a duration.*30d.*forever/);
    refuses({ HERALD_ATTEMPT_RETENTION: '1d,2d' }, 'HERALD_ATTEMPT_RETENTION', /not a duration/);
    refuses({ HERALD_ATTEMPT_RETENTION: '10m' }, 'HERALD_ATTEMPT_RETENTION', /between 1h and 3650d/);
    refuses({ HERALD_ATTEMPT_RETENTION: '4000d' }, 'HERALD_ATTEMPT_RETENTION', /between 1h and 3650d/);
    refuses({ HERALD_PURGE_BATCH: '0' }, 'HERALD_PURGE_BATCH', /whole number from 1 to 10000/);
    refuses({ HERALD_PURGE_INTERVAL: 'often' }, 'HERALD_PURGE_INTERVAL', /not a duration/);
  });
});

describe('retention: a dispatching Herald purges in the background', () => {
  it('an expired payload reads as {"expired": true}; the message is still listed', async () => {
    const clock = new Clock();
    const h = await startInProcess({ now: clock.now, dispatch: true, env: { HERALD_PURGE_INTERVAL: '1s' } });
    try {
      const a = await h.inject('POST', '/api/v1/app', { body: { name: 'a' } });
      const appId = a.json.id;
      const short = await h.inject('POST', `/api/v1/app/${appId}/msg`, { body: { eventType: 'x', payload: { n: 1 }, payloadRetentionPeriod: 5 } });
      const long = await h.inject('POST', `/api/v1/app/${appId}/msg`, { body: { eventType: 'x', payload: { n: 2 } } });
      expect(short.status).toBe(202);
      clock.advance(6 * DAY);
      // The background pass comes within a second or two (HERALD_PURGE_INTERVAL=1s); poll for it.
      const got = await until(
        'the background purge to expire the payload',
        async () => {
          const r = await h.inject('GET', `/api/v1/app/${appId}/msg/${short.json.id}`);
          return r.json.payload?.expired === true ? r : null;
        },
        15_000,
      );
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ id: short.json.id, eventType: 'x', payload: { expired: true } });
      expect((await h.inject('GET', `/api/v1/app/${appId}/msg/${long.json.id}`)).json.payload).toEqual({ n: 2 });
      const list = await h.inject('GET', `/api/v1/app/${appId}/msg`);
      expect(list.json.data.map((m: { id: string }) => m.id).sort()).toEqual([short.json.id, long.json.id].sort());
    } finally {
      await h.close();
    }
  });
});

/** Back-dated history: an old delivered message (payload expired, attempt past 90 days) and a current one. */
async function seedHistory(store: Store): Promise<void> {
  resetIds(); // ids are minted in time order from here on, as a running Herald mints them
  const T = Date.now() - 200 * DAY;
  const a = await store.createApplication(app({ createdAt: T, updatedAt: T }));
  await store.createEndpoint(endpoint(a.id, { createdAt: T, updatedAt: T }));
  await store.createMessage(message(a.id, { createdAt: T, expiresAt: T + 90 * DAY }), {});
  for (const c of await store.claimDueTasks('seed', T + 1, LEASE, 10)) {
    await store.completeAttempt(c, { attempt: attemptFor(c, T + 1, true), task: { status: MessageStatus.success, nextAttemptAt: null } }, T + 1);
  }
  const now = Date.now();
  await store.createMessage(message(a.id, { createdAt: now, expiresAt: now + 90 * DAY }), {});
  for (const c of await store.claimDueTasks('seed', now, LEASE, 10)) {
    await store.completeAttempt(c, { attempt: attemptFor(c, now, true), task: { status: MessageStatus.success, nextAttemptAt: null } }, now);
  }
}

describe('retention: herald purge', () => {
  const key = randomBytes(32);
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('on SQLite: one full pass, counts printed, exit 0; a second pass finds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-purge-'));
    dirs.push(dir);
    const store = new SqliteStore({ file: join(dir, 'herald.db'), sealer: new Sealer(key) });
    await seedHistory(store);
    await store.close();
    const env = { HERALD_DATA_DIR: dir, HERALD_MASTER_KEY: key.toString('hex') };
    const r = await runCli(['purge'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 expired payloads cleared, 1 attempts deleted, 0 idempotency answers deleted/);
    const again = await runCli(['purge'], env);
    expect(again.stdout).toMatch(/0 expired payloads cleared, 0 attempts deleted/);
    const forever = await runCli(['purge'], { ...env, HERALD_ATTEMPT_RETENTION: 'forever' });
    expect(forever.stdout).toMatch(/attempts kept forever/);
  });

  it('on PostgreSQL: the same', async () => {
    const db = await createTestDatabase();
    try {
      const store = await PgStore.open({ url: db.url, sealer: new Sealer(key) });
      await seedHistory(store);
      await store.close();
      const dir = mkdtempSync(join(tmpdir(), 'herald-purge-'));
      dirs.push(dir);
      const env = { HERALD_DATA_DIR: dir, HERALD_MASTER_KEY: key.toString('hex'), HERALD_DATABASE_URL: db.url };
      const r = await runCli(['purge'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Purged PostgreSQL at .*: 1 expired payloads cleared, 1 attempts deleted, 0 idempotency answers deleted/);
      const check = await PgStore.open({ url: db.url, sealer: new Sealer(key) });
      const { rows } = await check.pool.query('SELECT COUNT(*)::int AS n FROM attempt');
      await check.close();
      expect(rows[0].n).toBe(1);
    } finally {
      await db.drop();
    }
  });

  it('a bad HERALD_ATTEMPT_RETENTION stops it with exit code 2 and names the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-purge-'));
    dirs.push(dir);
    const r = await runCli(['purge'], { HERALD_DATA_DIR: dir, HERALD_ATTEMPT_RETENTION: '5 minutes' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HERALD_ATTEMPT_RETENTION/);
  });
});
