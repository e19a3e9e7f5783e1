// Herald on PostgreSQL end to end (HERALD_DATABASE_URL=postgres://…): the API creates an
// application, an endpoint and a message, the message's delivery task is there to claim, and an
// idempotent retry answers the same. `herald migrate` migrates the database and a newer schema is
// refused with its own exit code.
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageStatus } from '../src/domain/types.js';
import { assertBuilt, runCli } from './helpers/cli.js';
import { createApp, createEndpoint, sendMessage } from './helpers/fixtures.js';
import { Clock, useInProcess } from './helpers/inproc.js';
import { createTestDatabase } from './helpers/pg.js';

describe('the API on PostgreSQL', () => {
  const clock = new Clock('2026-05-01T00:00:00Z');
  const h = useInProcess({ database: 'postgres', now: clock.now });

  it('runs on the PostgreSQL store', () => {
    expect(h().herald.store.kind).toBe('postgres');
    expect(h().herald.store.location).toMatch(/^postgres:\/\/127\.0\.0\.1:5432\/herald_test_/);
    expect(() => h().store).toThrow(/PostgreSQL/);
  });

  it('app, endpoint and message: the message has its delivery task, due now', async () => {
    const app = await createApp(h(), { uid: 'pg-tenant' });
    const ep = await createEndpoint(h(), app.id);
    const msg = await sendMessage(h(), 'pg-tenant', { eventId: 'evt-pg-1', payload: { x: [1, 2] } });
    expect((await h().inject('GET', `/api/v1/app/pg-tenant/msg/evt-pg-1`)).json).toMatchObject({ id: msg.id, payload: { x: [1, 2] } });
    const dests = await h().inject('GET', `/api/v1/app/${app.id}/msg/${msg.id}/endpoint`);
    expect(dests.status).toBe(200);
    expect(dests.json.data).toHaveLength(1);
    expect(dests.json.data[0]).toMatchObject({ id: ep.id, status: MessageStatus.pending });
    // The delivery is in the queue for a dispatcher.
    const store = h().herald.store;
    expect(await store.nextDueAt()).toBe(clock.t);
    const [task] = await store.claimDueTasks('smoke', clock.t, 60_000, 10);
    expect(task).toMatchObject({ msgId: msg.id, endpointId: ep.id, appId: app.id, attemptCount: 0 });
    // A duplicate eventId is the same 409 as on SQLite.
    const dup = await h().inject('POST', `/api/v1/app/${app.id}/msg`, { body: { eventType: 'test.event', payload: {}, eventId: 'evt-pg-1' } });
    expect(dup.status).toBe(409);
  });

  it('an idempotent POST answers the same on retry', async () => {
    const body = { name: 'idem-app' };
    const headers = { 'idempotency-key': 'pg-key-1' };
    const a = await h().inject('POST', '/api/v1/app', { body, headers });
    const b = await h().inject('POST', '/api/v1/app', { body, headers });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.json.id).toBe(a.json.id);
  });
});

describe('herald migrate on PostgreSQL', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('migrates, is idempotent, and refuses a newer schema (exit code 3)', async () => {
    assertBuilt();
    const db = await createTestDatabase();
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'herald-pg-migrate-'));
      dirs.push(dataDir);
      const env = { HERALD_DATA_DIR: dataDir, HERALD_DATABASE_URL: db.url };
      const first = await runCli(['migrate'], env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/Migrated PostgreSQL at 127\.0\.0\.1:5432\/herald_test_\w+: schema is up to date/);
      expect((await runCli(['migrate'], env)).code).toBe(0);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
      } finally {
        await c.end();
      }
      const refused = await runCli(['migrate'], env);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/schema is at version 999/);
    } finally {
      await db.drop();
    }
  });
});
