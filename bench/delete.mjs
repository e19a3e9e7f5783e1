// What deleting an endpoint with a large backlog costs everyone else, on both stores. Tenant A's
// endpoint has --n pending deliveries (seeded by SQL: one message accepted through the store,
// copied with its task); tenant B has a fast endpoint. While A's endpoint is deleted:
// - PostgreSQL: another process's store (its own pool, as a worker's) claims B's deliveries in a
//   loop, each claim with places for A's endpoint, so it looks at A's due tasks. Printed: the
//   deletion's time and the claims' median and max, beside the same claims with no deletion.
// - SQLite: B's messages are accepted in a loop in the same process, and a 1 ms timer measures the
//   longest the event loop was held. Printed: the deletion's time, the longest hold and the
//   acceptances' median and max.
// Usage: npm run build && node bench/delete.mjs [--n 100000] [--only sqlite,pg]
//   [--pg-url postgres://postgres@127.0.0.1:5432/postgres]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ROOT, median, records } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    only: { type: 'string', default: 'sqlite,pg' },
    'pg-url': { type: 'string', default: process.env.HERALD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const N = Number(opt.n);
const only = new Set(opt.only.split(','));
const dist = (p) => import(join(ROOT, 'packages/server/dist', p));
const { PgStore } = await dist('store/postgres/pg-store.js');
const { SqliteStore } = await dist('store/sqlite/sqlite-store.js');
const { Sealer } = await dist('security/sealer.js');
const { IdGenerator } = await dist('domain/ids.js');

const ids = new IdGenerator((k) => randomBytes(k));
const rec = records(ids);
const T = () => Date.now();
const message = (appId, createdAt = T()) => ({
  id: ids.next('message', createdAt),
  appId,
  eventId: null,
  eventType: 'bench.event',
  channels: null,
  payload: '{"bench":true}',
  expiresAt: createdAt + 86_400_000,
  schemaViolations: null,
  createdAt,
  orderingKey: null,
  traceparent: null,
});

/** Tenants A (an endpoint with N pending deliveries, due now) and B (one fast endpoint). */
async function tenants(store, copy) {
  const a = await store.createApplication(rec.application(T(), 'a'));
  const epA = await store.createEndpoint(rec.endpoint(a.id, T()));
  const b = await store.createApplication(rec.application(T(), 'b'));
  await store.createEndpoint(rec.endpoint(b.id, T()));
  const first = (await store.createMessage(message(a.id, T() - 10_000), {})).message;
  await copy(first.id);
  return { a, epA, b };
}

const fmt = (xs) => `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length})`;

if (only.has('pg')) {
  const admin = new pg.Client({ connectionString: opt['pg-url'] });
  await admin.connect();
  const db = `herald_bench_delete_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${db}`);
  const url = new URL(opt['pg-url']);
  url.pathname = `/${db}`;
  const key = randomBytes(32);
  try {
    const api = await PgStore.open({ url: url.toString(), sealer: new Sealer(key), poolSize: 4 });
    const worker = await PgStore.open({ url: url.toString(), sealer: new Sealer(key), poolSize: 4 });
    const { a, epA, b } = await tenants(api, async (id) => {
      for (const [table, k] of [
        ['message', 'id'],
        ['delivery_task', 'msg_id'],
      ]) {
        await api.pool.query(
          `INSERT INTO ${table} SELECT (jsonb_populate_record(NULL::${table}, to_jsonb(t) || jsonb_build_object('${k}', t.${k} || '_' || lpad(g::text, 7, '0')))).*
           FROM ${table} t, generate_series(1, $2::int) g WHERE t.${k} = $1`,
          [id, N - 1],
        );
      }
      await api.pool.query('ANALYZE');
    });
    let n = 0;
    /** One claim of B's new delivery, with places for A's endpoint (the cap), timed. */
    const claimB = async () => {
      await api.createMessage(message(b.id), {});
      const s = performance.now();
      const c = await worker.claim(`w${n++}`, T(), 60_000, 10, { cap: 64, below: new Map() });
      if (!c.tasks.some((t) => t.appId === b.id)) throw new Error("B's delivery was not claimed");
      return performance.now() - s;
    };
    const quiet = [];
    for (let i = 0; i < 20; i++) quiet.push(await claimB());
    const s0 = performance.now();
    let done = false;
    const deletion = api.deleteEndpoint(a.id, epA.id, T()).then(() => (done = true));
    const during = [];
    while (!done) during.push(await claimB());
    await deletion;
    const took = performance.now() - s0;
    console.log(`postgres: ${N.toLocaleString('en')} pending deliveries, deleting the endpoint took ${took.toFixed(0)} ms`);
    console.log(`  another tenant's claims, no deletion:     ${fmt(quiet)}`);
    console.log(`  another tenant's claims, during deletion: ${fmt(during)}`);
    await worker.close();
    await api.close();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}

if (only.has('sqlite')) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-delete-'));
  try {
    const store = new SqliteStore({ file: join(dir, 'h.db'), sealer: new Sealer(randomBytes(32)) });
    const { a, epA, b } = await tenants(store, async (id) => {
      const cols = (t) =>
        store.db
          .prepare(`PRAGMA table_info(${t})`)
          .all()
          .map((c) => c.name);
      for (const [table, k] of [
        ['message', 'id'],
        ['delivery_task', 'msg_id'],
      ]) {
        const c = cols(table);
        store.db
          .prepare(
            `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) INSERT INTO ${table} (${c.join(', ')})
             SELECT ${c.map((x) => (x === k ? `${x} || '_' || printf('%07d', g.n)` : x)).join(', ')} FROM ${table}, g WHERE ${k} = ?`,
          )
          .run(N - 1, id);
      }
    });
    const acceptB = async () => {
      const s = performance.now();
      await store.createMessage(message(b.id), {});
      return performance.now() - s;
    };
    const quiet = [];
    for (let i = 0; i < 20; i++) quiet.push(await acceptB());
    let last = performance.now();
    let held = 0;
    const tick = setInterval(() => {
      const t = performance.now();
      held = Math.max(held, t - last);
      last = t;
    }, 1);
    await new Promise((r) => setTimeout(r, 20));
    held = 0;
    const s0 = performance.now();
    let done = false;
    const deletion = store.deleteEndpoint(a.id, epA.id, T()).then(() => (done = true));
    const during = [];
    await new Promise((r) => setImmediate(r));
    while (!done) during.push(await acceptB());
    await deletion;
    const took = performance.now() - s0;
    clearInterval(tick);
    console.log(`sqlite: ${N.toLocaleString('en')} pending deliveries, deleting the endpoint took ${took.toFixed(0)} ms`);
    console.log(`  the longest the event loop (and the writer) was held meanwhile: ${held.toFixed(0)} ms`);
    console.log(`  another tenant's acceptances, no deletion:     ${fmt(quiet)}`);
    console.log(`  another tenant's acceptances, during deletion: ${during.length ? fmt(during) : 'none (the deletion held the event loop throughout)'}`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
