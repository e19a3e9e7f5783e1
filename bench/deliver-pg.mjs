// Scale-out benchmark: delivery throughput with 1, 2 and 4 `herald worker` processes sharing one
// PostgreSQL database, beside the SQLite single-process figure and the raw HTTP limit (undici
// straight to the same receiver), all measured in one run on one machine.
//
// Each round pre-seeds a backlog of N messages, each with one delivery task due now, spread over
// the endpoints of one application (all pointing at the receiver), directly in the database; then
// the workers, already running and idle, drain it. The rate is counted at the receiver between
// 10% and 90% of N arrivals, so process start-up and the tail do not count. Ingest is not part of
// this figure (bench/ingest.mjs and bench/deliver.mjs measure it); what scales out here is claim,
// sign, send and record. The app and endpoints are created through the API of a `herald serve
// --no-dispatch` on the same database, which then stops.
//
// PostgreSQL: a fresh database herald_bench_<random> per run on the local server, dropped at the
// end. Per round it also reads, from PostgreSQL's own statistics, the rows inserted/updated per
// delivery in each table, the WAL bytes per delivery, the tables' size per 100k deliveries, and
// the CPU time of the PostgreSQL server processes per delivery (from /proc; same machine).
//
// Usage: node bench/deliver-pg.mjs [--quick] [--rounds 3] [--n 30000] [--workers 1,2,4]
//   [--endpoints 10] [--only raw,sqlite,pg] [--json] [--profile] [--pg-url postgres://...]
//   --quick: 1 round, N = 3,000 (a smoke run of about a minute).
//   --profile: node --cpu-prof on the workers (folder printed; read with bench/cpuprofile-top.mjs).
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ROOT, cpuMs, forkHelper, freePort, killAll, machineBusyMs, median, postgresCpuMs, stopChild, track, waitFor } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    n: { type: 'string' },
    workers: { type: 'string', default: '1,2,4' },
    endpoints: { type: 'string', default: '10' },
    only: { type: 'string', default: 'raw,sqlite,pg' },
    'raw-s': { type: 'string' },
    json: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.HERALD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const quick = opt.quick;
const cfg = {
  rounds: Number(opt.rounds ?? (quick ? 1 : 3)),
  n: Number(opt.n ?? (quick ? 3_000 : 30_000)),
  workers: opt.workers.split(',').map(Number),
  endpoints: Number(opt.endpoints),
  rawS: Number(opt['raw-s'] ?? (quick ? 2 : 5)),
};
const only = new Set(opt.only.split(',').map((s) => s.trim()));
const extraEnv = Object.fromEntries(opt.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

// ---- processes -------------------------------------------------------------------------------

const cleanups = [];
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    killAll();
    for (const f of cleanups) await f().catch(() => {});
    process.exit(130);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const token = 'bench_operator_token_0123456789';
const masterKey = randomBytes(32).toString('hex');
const profDir = opt.profile ? mkdtempSync(join(os.tmpdir(), 'herald-pgbench-prof-')) : null;

function heraldEnv(dataDir, dbUrl) {
  return {
    ...process.env,
    HERALD_DATA_DIR: dataDir,
    HERALD_API_TOKEN: token,
    HERALD_MASTER_KEY: masterKey,
    HERALD_LOG_LEVEL: 'warn',
    HERALD_SSRF_ALLOWLIST: '127.0.0.0/8',
    ...(dbUrl ? { HERALD_DATABASE_URL: dbUrl } : {}),
    ...extraEnv,
  };
}

/** `herald serve --no-dispatch` until the app and endpoints exist; returns their ids. */
async function createEndpoints(dataDir, dbUrl, recvUrl) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = track(
    spawn(process.execPath, ['packages/server/dist/cli/main.js', 'serve', '--no-dispatch'], {
      cwd: ROOT,
      env: { ...heraldEnv(dataDir, dbUrl), HERALD_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    await waitFor(`${url}/api/v1/health/ping`, { timeoutMs: 60_000 });
  } catch (e) {
    throw new Error(`${e.message}\n${err}`);
  }
  const call = async (path, body) => {
    const r = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const app = await call('/api/v1/app', { name: 'bench', uid: 'bench' });
  const endpoints = [];
  for (let i = 0; i < cfg.endpoints; i++) endpoints.push((await call('/api/v1/app/bench/endpoint', { url: `${recvUrl}/e/${i}` })).id);
  await stopChild(child);
  return { appId: app.id, endpoints };
}

/** Start `k` workers; resolves once each has said it is dispatching. */
async function startWorkers(k, dataDir, dbUrl, tag) {
  const ws = [];
  for (let i = 0; i < k; i++) {
    const args = [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, `${tag}-w${i}`)}`] : []), 'packages/server/dist/cli/main.js', 'worker'];
    const c = track(spawn(process.execPath, args, { cwd: ROOT, env: heraldEnv(dataDir, dbUrl), stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    ws.push({ c, out: () => out });
  }
  const deadline = Date.now() + 60_000;
  while (!ws.every((w) => /dispatching/.test(w.out()))) {
    if (ws.some((w) => w.c.exitCode !== null)) throw new Error(`a worker exited:\n${ws.map((w) => w.out()).join('\n')}`);
    if (Date.now() > deadline) throw new Error('workers did not start');
    await sleep(20);
  }
  return ws;
}

// ---- measurement -----------------------------------------------------------------------------

const safeCpu = (pid) => {
  try {
    return cpuMs(pid);
  } catch {
    return 0;
  }
};

/**
 * Watch the receiver's count until `n` more deliveries arrived; the rate between 10% and 90% of
 * them (interpolated between 20 ms samples), plus CPU over that same window.
 */
async function measureDrain(receiver, base, n, pids, timeoutMs, db) {
  const samples = [];
  // The backends serving this benchmark's database (the workers' pools), apart from every other
  // postgres process on the machine (WAL writer, checkpointer, and other users' databases).
  let own = [];
  const ownCpu = () => own.reduce((s, p) => s + safeCpu(p), 0);
  const deadline = Date.now() + timeoutMs;
  let a = null;
  let b = null;
  const cpuNow = () => ({
    workers: pids.reduce((s, p) => s + safeCpu(p), 0),
    postgres: db ? postgresCpuMs() : 0,
    own: ownCpu(),
    machine: machineBusyMs(),
    receiver: safeCpu(receiver.pid),
  });
  for (;;) {
    const s = await receiver.ask('stats');
    const t = performance.now();
    const got = s.count - base;
    samples.push([t, got]);
    if (!a && got >= 0.1 * n) {
      if (db) own = (await db.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => r.pid);
      a = { t: performance.now(), got, cpu: cpuNow() };
    }
    if (!b && got >= 0.9 * n) b = { t, got, cpu: cpuNow() };
    if (got >= n) break;
    if (Date.now() > deadline) throw new Error(`only ${got} of ${n} deliveries arrived in ${timeoutMs} ms`);
    await sleep(20);
  }
  const secs = (b.t - a.t) / 1000;
  const per = (k) => ((b.cpu[k] - a.cpu[k]) / (secs * 1000)) * 100;
  const delivered = b.got - a.got;
  return {
    perSec: delivered / secs,
    secs,
    cpuPct: { workers: per('workers'), postgres: per('postgres'), ownBackends: per('own'), receiver: per('receiver'), machine: per('machine') },
    ownBackendCpuUsPerDelivery: ((b.cpu.own - a.cpu.own) * 1000) / delivered,
    workerCpuUsPerDelivery: ((b.cpu.workers - a.cpu.workers) * 1000) / delivered,
    pgCpuUsPerDelivery: ((b.cpu.postgres - a.cpu.postgres) * 1000) / delivered,
    totalSecs: (samples.at(-1)[0] - samples[0][0]) / 1000,
  };
}

// ---- raw limit -------------------------------------------------------------------------------

const payload = JSON.stringify({
  contactId: '4f6a1c9e-3f0b-4a51-9d0e-8f5c2a7b1e20',
  changes: { email: 'anna@example.com', firstName: 'Anna', acceptsEmail: true },
  tenant: 'acme',
});
const nowS = String(Math.floor(Date.now() / 1000));
const fakeSig = `v1,${randomBytes(32).toString('base64')}`;
const rawHeaders = {
  'content-type': 'application/json',
  'user-agent': 'Herald-Webhooks/bench',
  'svix-timestamp': nowS,
  'svix-signature': fakeSig,
  'webhook-timestamp': nowS,
  'webhook-signature': fakeSig,
};

async function rawRound(receiver, client) {
  const done = client.next((m) => m.type === 'done' || m.type === 'error');
  client.send({
    cmd: 'raw',
    origin: `http://127.0.0.1:${receiver.ready.port}`,
    path: '/raw',
    connections: 64,
    inflight: 128,
    headers: rawHeaders,
    body: payload,
  });
  await sleep(1000);
  const a = { c: (await receiver.ask('stats')).count, t: performance.now() };
  await sleep(cfg.rawS * 1000);
  const b = { c: (await receiver.ask('stats')).count, t: performance.now() };
  client.send({ cmd: 'stop' });
  const r = await done;
  if (r.type === 'error') throw new Error(r.error);
  return { perSec: (b.c - a.c) / ((b.t - a.t) / 1000) };
}

// ---- seeding ---------------------------------------------------------------------------------

/** Message ids shaped like Herald's (msg_ + 27 base62 characters), in order. */
const msgId = (round, i) => `msg_${String(round).padStart(3, '0')}${String(i).padStart(24, '0')}`;

async function seedPg(db, round, { appId, endpoints }) {
  const now = Date.now();
  await db.query('TRUNCATE message, delivery_task, attempt');
  await db.query(
    `WITH s AS (SELECT i, 'msg_' || lpad($1::text, 3, '0') || lpad(i::text, 24, '0') AS id FROM generate_series(0, $2 - 1) AS i),
          m AS (INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at)
                SELECT id, $3, NULL, 'contact.updated', NULL, $4, $5::bigint + 7776000000::bigint, $5 FROM s)
     INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, attempt_count, next_attempt_at, trigger_type, fence, created_at, updated_at)
     SELECT id, ($6::text[])[1 + i % cardinality($6::text[])], $3, 1, 0, $5, 0, 0, $5, $5 FROM s`,
    [round, cfg.n, appId, payload, now, endpoints],
  );
  await db.query('ANALYZE message, delivery_task, attempt');
}

function seedSqlite(file, round, { appId, endpoints }) {
  const db = new Database(file);
  const now = Date.now();
  db.exec('DELETE FROM attempt; DELETE FROM delivery_task; DELETE FROM message;');
  const insMsg = db.prepare(
    'INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at) VALUES (?, ?, NULL, ?, NULL, ?, ?, ?)',
  );
  const insTask = db.prepare(
    `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, attempt_count, next_attempt_at, trigger_type, fence, created_at, updated_at)
     VALUES (?, ?, ?, 1, 0, ?, 0, 0, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < cfg.n; i++) {
      const id = msgId(round, i);
      insMsg.run(id, appId, 'contact.updated', payload, now + 90 * 86400_000, now);
      insTask.run(id, endpoints[i % endpoints.length], appId, now, now, now);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Rows written per table and WAL bytes, from PostgreSQL's statistics (cumulative). */
async function pgCounters(db) {
  const { rows } = await db.query(
    `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del
     FROM pg_stat_user_tables WHERE relname IN ('message', 'delivery_task', 'attempt', 'endpoint', 'endpoint_throttle')`,
  );
  const wal = (await db.query('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
  // Every autocommit statement is a transaction of its own, so commits ≈ statements sent.
  const x = (await db.query('SELECT xact_commit + xact_rollback AS xacts FROM pg_stat_database WHERE datname = current_database()')).rows[0];
  return { tables: Object.fromEntries(rows.map((r) => [r.relname, { ins: +r.ins, upd: +r.upd, hot: +r.hot, del: +r.del }])), wal, xacts: +x.xacts };
}
const lsnBytes = (lsn) => {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16);
};

async function sizes(db) {
  const { rows } = await db.query(
    `SELECT relname, pg_relation_size(relid) AS heap, pg_indexes_size(relid) AS idx, pg_total_relation_size(relid) AS total
     FROM pg_stat_user_tables WHERE relname IN ('message', 'delivery_task', 'attempt')`,
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { heap: +r.heap, indexes: +r.idx, total: +r.total }]));
}

// ---- main ------------------------------------------------------------------------------------

const cpus = os.cpus();
const git = (...a) => {
  try {
    return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
const meta = {
  machine: { cpus: cpus.length, model: cpus[0]?.model, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version },
  commit: git('rev-parse', '--short', 'HEAD'),
  dirty: git('status', '--porcelain', '--', 'packages') !== '',
  loadStart: os.loadavg(),
  cfg,
};
const t0 = Date.now();
const log = (s) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const R = { raw: [], sqlite: [], pg: Object.fromEntries(cfg.workers.map((k) => [k, []])) };
const tmp = mkdtempSync(join(os.tmpdir(), 'herald-pgbench-'));
cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));
let admin = null;
let dbName = null;
let db = null;

try {
  const receiver = await forkHelper('receiver-server.mjs');
  const client = await forkHelper('deliver-client.mjs');
  const recvUrl = `http://127.0.0.1:${receiver.ready.port}`;
  log(`receiver on ${recvUrl}; ${JSON.stringify(cfg)}`);

  // PostgreSQL: a fresh database for this run.
  let pgSetup = null;
  const pgDataDir = join(tmp, 'pg-data');
  let dbUrl = null;
  if (only.has('pg')) {
    admin = new pg.Client({ connectionString: opt['pg-url'] });
    await admin.connect();
    admin.on('error', () => {});
    dbName = `herald_bench_${randomBytes(5).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    const u = new URL(opt['pg-url']);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    cleanups.push(async () => {
      await db?.end().catch(() => {});
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    });
    mkdirSync(pgDataDir);
    pgSetup = await createEndpoints(pgDataDir, dbUrl, recvUrl);
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    db.on('error', () => {});
    meta.postgres = (await db.query('SHOW server_version')).rows[0].server_version;
    meta.pgSettings = Object.fromEntries(
      (
        await db.query("SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'max_connections', 'wal_level', 'fsync')")
      ).rows.map((r) => [r.name, r.setting]),
    );
  }
  let sqliteSetup = null;
  const sqDataDir = join(tmp, 'sqlite-data');
  if (only.has('sqlite')) {
    mkdirSync(sqDataDir);
    sqliteSetup = await createEndpoints(sqDataDir, null, recvUrl);
  }

  let round = 0;
  for (let r = 0; r < cfg.rounds; r++) {
    // Interleave the configurations within each repeat, so a noisy stretch hits all of them.
    if (only.has('raw')) {
      R.raw.push(await rawRound(receiver, client));
      log(`raw: ${R.raw.at(-1).perSec.toFixed(0)} req/s`);
    }
    if (only.has('sqlite')) {
      round++;
      seedSqlite(join(sqDataDir, 'herald.db'), round, sqliteSetup);
      const base = (await receiver.ask('stats')).count;
      const ws = await startWorkers(1, sqDataDir, null, `sqlite-r${r}`);
      const m = await measureDrain(
        receiver,
        base,
        cfg.n,
        ws.map((w) => w.c.pid),
        600_000,
        null,
      );
      await Promise.all(ws.map((w) => stopChild(w.c)));
      R.sqlite.push(m);
      log(
        `sqlite, 1 process: ${m.perSec.toFixed(0)} deliveries/s, worker ${m.cpuPct.workers.toFixed(0)}% cpu, ${m.workerCpuUsPerDelivery.toFixed(0)} µs/delivery`,
      );
    }
    if (only.has('pg')) {
      for (const k of cfg.workers) {
        round++;
        // Workers start idle on an empty queue, then the whole backlog commits at once.
        await db.query('TRUNCATE message, delivery_task, attempt');
        const ws = await startWorkers(k, pgDataDir, dbUrl, `pg${k}-r${r}`);
        const before = await pgCounters(db);
        const base = (await receiver.ask('stats')).count;
        await seedPg(db, round, pgSetup);
        const seeded = await pgCounters(db);
        const m = await measureDrain(
          receiver,
          base,
          cfg.n,
          ws.map((w) => w.c.pid),
          600_000,
          db,
        );
        await Promise.all(ws.map((w) => stopChild(w.c)));
        // Backends flush their statistics when their session ends; give them a moment.
        await sleep(1500);
        const after = await pgCounters(db);
        const size = await sizes(db);
        // Table statistics reach the shared counters up to a second late, so the seeding's own
        // inserts (exactly one message and one task per delivery) are taken off by count, not by
        // a snapshot taken right after it.
        const rows = {};
        for (const [t, v] of Object.entries(after.tables)) {
          const s = before.tables[t] ?? { ins: 0, upd: 0, hot: 0, del: 0 };
          const seededRows = t === 'message' || t === 'delivery_task' ? 1 : 0;
          rows[t] = { ins: (v.ins - s.ins) / cfg.n - seededRows, upd: (v.upd - s.upd) / cfg.n, hotUpd: (v.hot - s.hot) / cfg.n };
        }
        m.rowsPerDelivery = rows;
        m.walBytesPerDelivery = (lsnBytes(after.wal) - lsnBytes(seeded.wal)) / cfg.n;
        m.xactsPerDelivery = (after.xacts - seeded.xacts) / cfg.n;
        m.seedWalBytesPerMessage = (lsnBytes(seeded.wal) - lsnBytes(before.wal)) / cfg.n;
        m.bytesPer100k = Object.fromEntries(Object.entries(size).map(([t, s]) => [t, Math.round((s.total / cfg.n) * 100_000)]));
        R.pg[k].push(m);
        log(
          `postgres, ${k} worker${k > 1 ? 's' : ''}: ${m.perSec.toFixed(0)} deliveries/s; cpu: workers ${m.cpuPct.workers.toFixed(0)}%, postgres ${m.cpuPct.postgres.toFixed(0)}%, ` +
            `receiver ${m.cpuPct.receiver.toFixed(0)}%, machine ${m.cpuPct.machine.toFixed(0)}% (of one core); ${m.workerCpuUsPerDelivery.toFixed(0)} + ${m.pgCpuUsPerDelivery.toFixed(0)} µs/delivery (workers + postgres), of which ${m.ownBackendCpuUsPerDelivery.toFixed(0)} in this database's backends; ` +
            `WAL ${m.walBytesPerDelivery.toFixed(0)} B/delivery`,
        );
      }
    }
  }
  client.send({ cmd: 'exit' });
  receiver.send({ cmd: 'exit' });
  await db?.end();
  db = null;
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  killAll();
  await db?.end().catch(() => {});
  if (dbName) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((e) => console.error(`could not drop ${dbName}: ${e.message}`));
  await admin?.end().catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
}
meta.loadEnd = os.loadavg();

// ---- report ----------------------------------------------------------------------------------

const med = (xs, f) => (xs.length ? median(xs.map(f)) : NaN);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
const raw = med(R.raw, (x) => x.perSec);
const one = med(R.pg[cfg.workers[0]] ?? [], (x) => x.perSec);
const lines = [];
lines.push(`Delivery scale-out, ${cfg.rounds} round(s) of ${cfg.n.toLocaleString('en-US')} deliveries over ${cfg.endpoints} endpoints; medians.`);
lines.push(
  `Machine: ${meta.machine.cpus} × ${meta.machine.model}, ${meta.machine.memoryGiB} GiB, Node ${meta.machine.node}, PostgreSQL ${meta.postgres ?? '—'}; commit ${meta.commit}${meta.dirty ? ' (+ uncommitted changes)' : ''}`,
);
lines.push(`Load average (1/5/15 min): start ${meta.loadStart.map((x) => x.toFixed(2)).join(' / ')}, end ${meta.loadEnd.map((x) => x.toFixed(2)).join(' / ')}`);
lines.push('');
lines.push(
  '| configuration | deliveries/s (median) | rounds | × 1 PG worker | of raw | CPU % of one core (workers / postgres / receiver / machine) | µs CPU per delivery: workers + postgres (own backends) |',
);
lines.push('| --- | ---: | --- | ---: | ---: | --- | --- |');
if (R.raw.length) lines.push(`| raw: undici → receiver | ${fmt(raw)} req/s | ${R.raw.map((x) => fmt(x.perSec)).join(' / ')} | | 1 | | |`);
const row = (name, xs) => {
  const v = med(xs, (x) => x.perSec);
  lines.push(
    `| ${name} | ${fmt(v)} | ${xs.map((x) => fmt(x.perSec)).join(' / ')} | ${fmt(v / one, 2)} | ${fmt(v / raw, 2)} | ` +
      `${fmt(med(xs, (x) => x.cpuPct.workers))} / ${fmt(med(xs, (x) => x.cpuPct.postgres))} / ${fmt(med(xs, (x) => x.cpuPct.receiver))} / ${fmt(med(xs, (x) => x.cpuPct.machine))} | ` +
      `${fmt(med(xs, (x) => x.workerCpuUsPerDelivery))} + ${fmt(med(xs, (x) => x.pgCpuUsPerDelivery))} (${fmt(med(xs, (x) => x.ownBackendCpuUsPerDelivery ?? NaN))}) |`,
  );
};
if (R.sqlite.length) row('SQLite, 1 process (`herald worker`)', R.sqlite);
for (const k of cfg.workers) if (R.pg[k].length) row(`PostgreSQL, ${k} × \`herald worker\``, R.pg[k]);
const all = cfg.workers.flatMap((k) => R.pg[k]);
if (all.length) {
  lines.push('');
  lines.push('Per delivery on PostgreSQL (medians over every PostgreSQL round):');
  for (const t of ['message', 'delivery_task', 'attempt', 'endpoint', 'endpoint_throttle']) {
    if (!all[0].rowsPerDelivery[t]) continue;
    lines.push(
      `- ${t}: ${fmt(
        med(all, (x) => x.rowsPerDelivery[t].ins),
        2,
      )} rows inserted, ${fmt(
        med(all, (x) => x.rowsPerDelivery[t].upd),
        2,
      )} updated ` +
        `(${fmt(
          med(all, (x) => x.rowsPerDelivery[t].hotUpd),
          2,
        )} of them HOT)` +
        (all[0].bytesPer100k[t] !== undefined
          ? `; ${fmt(med(all, (x) => x.bytesPer100k[t]) / 2 ** 20, 1)} MiB per 100k deliveries (table + indexes + TOAST)`
          : ''),
    );
  }
  lines.push(
    `- transactions (autocommit statements and explicit transactions): ${fmt(
      med(all, (x) => x.xactsPerDelivery),
      2,
    )} per delivery`,
  );
  lines.push(
    `- WAL: ${fmt(med(all, (x) => x.walBytesPerDelivery))} bytes per delivery (claim, attempt, completion); the seeding wrote ${fmt(med(all, (x) => x.seedWalBytesPerMessage))} bytes per message + task`,
  );
}
console.log(lines.join('\n'));
if (opt.json) console.log(JSON.stringify({ meta, R }));
if (profDir) console.log(`CPU profiles: ${profDir}`);
process.exit(process.exitCode ?? 0);
