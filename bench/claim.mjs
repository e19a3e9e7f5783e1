// The claim alone, on both stores: how long one claim takes with a large backlog of due tasks for
// one tenant, and with many endpoints that have waiting (not yet due) tasks, for the fair claim
// (the store's claimDueTasks) against the claim before it (oldest due first, one index range scan),
// which this file keeps for comparison only, and for the fair claim with its walk unbounded (every
// endpoint with waiting tasks visited by every claim; the store's claimWalk set past any count).
//
// Each case seeds delivery_task rows directly (tenant A: --due tasks due now to one endpoint;
// tenant W: --waiting endpoints with one task due in an hour each; tenant B: 1,000 due tasks to one
// endpoint), then times --claims claims of 10 (each leases what it takes, so the next one takes the
// next tasks) and prints the median and p99 per claim.
// Usage: npm run build && node bench/claim.mjs [--due 1000000] [--waiting 0,1000] [--claims 300]
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Sealer } from '../packages/server/dist/security/sealer.js';
import { PgStore } from '../packages/server/dist/store/postgres/pg-store.js';
import { SqliteStore } from '../packages/server/dist/store/sqlite/sqlite-store.js';

const { values: opt } = parseArgs({
  options: {
    due: { type: 'string', default: '1000000' },
    waiting: { type: 'string', default: '0,1000' },
    claims: { type: 'string', default: '300' },
    pg: { type: 'string', default: process.env.HERALD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const DUE = Number(opt.due);
const WAITING = opt.waiting.split(',').map(Number);
const CLAIMS = Number(opt.claims);
const LEASE = 60_000;
const room = { cap: 64, below: new Map() };
/** A walk bound no installation reaches: the fair claim as it was before its walk was bounded. */
const UNBOUNDED = 2 ** 31 - 1;

// The claim before the fair one, kept here only to compare.
const OLD_SQLITE_DUE = 'SELECT msg_id, endpoint_id FROM delivery_task WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?';
const OLD_SQLITE = `UPDATE delivery_task SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, fence = fence + 1, status = 3, updated_at = ?
  WHERE (msg_id, endpoint_id) IN (${OLD_SQLITE_DUE}) RETURNING msg_id`;
const OLD_PG = `WITH next AS MATERIALIZED (
    SELECT msg_id, endpoint_id, throttle_slot FROM delivery_task WHERE next_attempt_at <= $4 ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED)
  UPDATE delivery_task t SET lease_owner = $1, lease_expires_at = $2, next_attempt_at = $2, fence = t.fence + 1, status = $3, updated_at = $4
  FROM next WHERE t.msg_id = next.msg_id AND t.endpoint_id = next.endpoint_id RETURNING t.msg_id`;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};

async function time(label, claim) {
  const ms = [];
  let got = 0;
  for (let i = 0; i < CLAIMS; i++) {
    const t = performance.now();
    got += await claim(i);
    ms.push(performance.now() - t);
  }
  console.log(`  ${label.padEnd(34)} median ${pct(ms, 0.5).toFixed(3)} ms  p99 ${pct(ms, 0.99).toFixed(3)} ms  (${got} tasks in ${CLAIMS} claims)`);
}

/** Rows for tenant A (due now), W (waiting, one per endpoint) and B (due now), as [msg, endpoint, app, next]. */
function* rows(now, waiting) {
  for (let i = 0; i < DUE; i++) yield [`msg_a${String(i).padStart(8, '0')}`, 'ep_a', 'app_a', now - 60_000 + (i % 60_000)];
  for (let i = 0; i < waiting; i++) yield [`msg_w${String(i).padStart(8, '0')}`, `ep_w${String(i).padStart(6, '0')}`, 'app_w', now + 3_600_000];
  for (let i = 0; i < 1000; i++) yield [`msg_b${String(i).padStart(8, '0')}`, 'ep_b', 'app_b', now - 1000 + i];
}

console.log(`claim of 10: ${DUE.toLocaleString('en')} due tasks of one tenant; node ${process.version}, ${os.cpus().length} CPUs`);
for (const waiting of WAITING) {
  const now = Date.now();
  // SQLite
  const dir = mkdtempSync(join(os.tmpdir(), 'herald-bench-claim-'));
  const file = join(dir, 'h.db');
  await new SqliteStore({ file, sealer: new Sealer(randomBytes(32)) }).close();
  const db = new Database(file);
  const ins = db.prepare(
    'INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 1, ?, 0, 0)',
  );
  db.transaction(() => {
    for (const r of rows(now, waiting)) ins.run(...r);
  })();
  db.exec('ANALYZE');
  db.close();
  console.log(`sqlite, ${waiting} endpoints with waiting tasks:`);
  {
    const store = new SqliteStore({ file, sealer: new Sealer(randomBytes(32)) });
    await time('fair claim', async (i) => (await store.claimDueTasks(`w${i}`, now, LEASE, 10, room)).length);
    store.claimWalk = UNBOUNDED;
    await time('fair claim, walk unbounded', async (i) => (await store.claimDueTasks(`u${i}`, now, LEASE, 10, room)).length);
    await store.close();
    const raw = new Database(file);
    const old = raw.prepare(OLD_SQLITE);
    await time('claim before', async (i) => old.all(`o${i}`, now + LEASE, now + LEASE, now, now, 10).length);
    raw.close();
  }
  rmSync(dir, { recursive: true, force: true });

  // PostgreSQL
  const admin = new pg.Client({ connectionString: opt.pg });
  await admin.connect();
  const name = `herald_bench_claim_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(opt.pg);
  url.pathname = `/${name}`;
  try {
    const store = await PgStore.open({ url: url.toString(), sealer: new Sealer(randomBytes(32)) });
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    await c.query(
      `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, created_at, updated_at)
       SELECT 'msg_a' || lpad(g::text, 8, '0'), 'ep_a', 'app_a', 1, $1::bigint - 60000 + (g % 60000), 0, 0 FROM generate_series(0, $2::int - 1) g`,
      [now, DUE],
    );
    await c.query(
      `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, created_at, updated_at)
       SELECT 'msg_w' || lpad(g::text, 8, '0'), 'ep_w' || lpad(g::text, 6, '0'), 'app_w', 1, $1::bigint + 3600000, 0, 0 FROM generate_series(0, $2::int - 1) g`,
      [now, waiting],
    );
    await c.query(
      `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, created_at, updated_at)
       SELECT 'msg_b' || lpad(g::text, 8, '0'), 'ep_b', 'app_b', 1, $1::bigint - 1000 + g, 0, 0 FROM generate_series(0, 999) g`,
      [now],
    );
    await c.query('VACUUM ANALYZE delivery_task');
    console.log(`postgres, ${waiting} endpoints with waiting tasks:`);
    await time('fair claim', async (i) => (await store.claimDueTasks(`w${i}`, now, LEASE, 10, room)).length);
    store.claimWalk = UNBOUNDED;
    await time('fair claim, walk unbounded', async (i) => (await store.claimDueTasks(`u${i}`, now, LEASE, 10, room)).length);
    await time('claim before', async (i) => (await c.query({ name: 'old', text: OLD_PG, values: [`o${i}`, now + LEASE, 3, now, 10] })).rowCount);
    await c.end();
    await store.close();
  } finally {
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
}
