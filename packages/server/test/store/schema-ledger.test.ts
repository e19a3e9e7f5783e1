// Rolling upgrades through the migration ledger, on both stores: a migration a newer Herald marks
// breaking records that version as the oldest that may run; a process older than that refuses to
// open the schema, and one already running stops claiming with one log line (and starts again
// when the schema allows it). An additive migration from a newer Herald changes nothing for it.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { Sender } from '../../src/delivery/send.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { MessageStatus } from '../../src/domain/types.js';
import { SsrfGuard } from '../../src/security/ssrf.js';
import { Sealer } from '../../src/security/sealer.js';
import { ANY_HERALD, SchemaTooNewError } from '../../src/store/migrate.js';
import type { PgStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { VERSION } from '../../src/version.js';
import { Receiver } from '../helpers/receiver.js';
import { eachStore, type StoreUnderTest } from './backends.js';
import { app, endpoint, ids, message, taskOf } from './records.js';

type Line = { level: 'warn' | 'error'; msg: string };

/** Undone at the end of each test, last first, while its store is still open. */
let cleanups: (() => Promise<void>)[] = [];
async function cleanUp(): Promise<void> {
  const cs = cleanups.reverse();
  cleanups = [];
  for (const c of cs) await c();
}

/** Write to the ledger as another Herald's migration would. */
async function ledger(t: StoreUnderTest, kind: 'sqlite' | 'postgres', sql: string): Promise<void> {
  if (kind === 'sqlite') (t.store as SqliteStore).db.prepare(sql).run();
  else await (t.store as PgStore).pool.query(sql);
}

async function running(store: Store) {
  const rx = await Receiver.start();
  const lines: Line[] = [];
  const d = new Dispatcher({
    store,
    ids,
    now: Date.now,
    retryScheduleMs: [60_000],
    concurrency: 4,
    perEndpointConcurrency: 4,
    leaseMs: 30_000,
    attemptTimeoutMs: 5_000,
    pollMs: 20,
    schemaCheckMs: 0,
    sender: new Sender({ timeoutMs: 5_000, headerPrefixes: ['webhook'], userAgent: 'test', guard: new SsrfGuard(['127.0.0.0/8']) }),
    log: { warn: (_o, msg) => void lines.push({ level: 'warn', msg }), error: (_o, msg) => void lines.push({ level: 'error', msg }) },
  });
  d.start();
  cleanups.push(async () => {
    await d.stop(1_000);
    await rx.close();
  });
  const a = await store.createApplication(app());
  const ep = await store.createEndpoint(endpoint(a.id, { url: rx.url('/hook') }));
  const send = async () => (await store.createMessage(message(a.id, { createdAt: Date.now() }), {})).message.id;
  return { d, rx, lines, appId: a.id, endpointId: ep.id, send };
}

eachStore('store: the migration ledger and rolling upgrades', (t, kind) => {
  it('a breaking migration needing a newer Herald stops the running dispatcher claiming, with one log line, until the schema allows it', async () => {
    const { d, rx, lines, appId, endpointId, send } = await running(t().store);
    try {
      const first = await send();
      await rx.waitUntil(() => rx.forMessage('/hook', first).length === 1);

      await ledger(t(), kind, "INSERT INTO schema_migrations (version, name, applied_at, min_herald_version) VALUES (900, 'future_breaking', 0, '999.0.0')");
      cleanups.push(() => ledger(t(), kind, 'DELETE FROM schema_migrations WHERE version = 900'));
      await expect.poll(() => d.stoppedBySchema).toBe(true);
      const held = await send();
      // The loop has turned since the message committed (and was woken by it), yet claimed nothing.
      const turned = d.turns;
      d.wake();
      await expect.poll(() => d.turns).toBeGreaterThan(turned + 2);
      const task = await taskOf(t().store, appId, endpointId, held);
      expect(task).toMatchObject({ status: MessageStatus.pending, attemptCount: 0 });
      expect(rx.forMessage('/hook', held)).toHaveLength(0);
      expect(lines.filter((l) => l.level === 'error')).toEqual([
        {
          level: 'error',
          msg: `the database schema (migration 900) needs Herald 999.0.0 or newer; this is Herald ${VERSION}, so it stops claiming deliveries until it is upgraded`,
        },
      ]);

      // The schema is restored (the breaking migration rolled back): claiming resumes, said once.
      await ledger(t(), kind, 'DELETE FROM schema_migrations WHERE version = 900');
      await rx.waitUntil(() => rx.forMessage('/hook', held).length === 1);
      expect(d.stoppedBySchema).toBe(false);
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
      expect(lines.filter((l) => l.msg.startsWith('the database schema allows this Herald again'))).toHaveLength(1);
    } finally {
      await cleanUp();
    }
  });

  it('an additive migration from a newer Herald keeps this one delivering and opening the schema; a breaking one refuses to open', async () => {
    const { rx, send } = await running(t().store);
    try {
      await ledger(t(), kind, "INSERT INTO schema_migrations (version, name, applied_at, min_herald_version) VALUES (901, 'future_additive', 0, '0.0.1')");
      cleanups.push(() => ledger(t(), kind, 'DELETE FROM schema_migrations WHERE version IN (901, 902)'));
      const id = await send();
      await rx.waitUntil(() => rx.forMessage('/hook', id).length === 1);
      const open = async () => {
        if (kind === 'postgres') return t().sibling();
        const s = new SqliteStore({ file: t().store.location, sealer: new Sealer(randomBytes(32)) });
        await s.close();
        return s;
      };
      await expect(open()).resolves.toBeDefined();
      await ledger(t(), kind, "INSERT INTO schema_migrations (version, name, applied_at, min_herald_version) VALUES (902, 'future_breaking', 0, '999.0.0')");
      await expect(open()).rejects.toBeInstanceOf(SchemaTooNewError);
      await expect(open()).rejects.toThrow(/needs Herald 999\.0\.0 or newer/);
    } finally {
      await cleanUp();
    }
  });

  it('every migration this Herald applied is in the ledger with the oldest version that may run on it', async () => {
    const rows = await t().raw('SELECT version, min_herald_version FROM schema_migrations ORDER BY version');
    expect(rows.length).toBeGreaterThan(0);
    // None of the shipped migrations is breaking, so none raises the requirement; each records
    // the floor, so an older Herald sees a requirement it meets rather than an unknown.
    expect(rows.every((r) => r.min_herald_version === ANY_HERALD)).toBe(true);
  });
});
