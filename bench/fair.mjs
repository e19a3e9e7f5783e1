// Fairness between tenants on PostgreSQL, with real processes: `herald serve --no-dispatch` and
// two `herald worker`s on a fresh database; B's loopback receiver in this process, A's in a process
// of its own (bench/receiver-server.mjs), as two tenants' servers would be.
//
// Tenant B sends messages open loop (--rate per second for --seconds) to a fast endpoint; the
// figure is each message's time from its 202 to its arrival at the receiver (p50, p99, max per
// round; the verdict takes the p99 over every round's messages together).
// Rounds alternate: B alone, then B while tenant A has a backlog of --backlog due deliveries to an
// endpoint that answers in 50 ms (seeded by SQL: one message accepted through the API, copied with
// its task; enough that A still has work waiting when B's round ends, which is printed). Between
// rounds A's leftover backlog is cancelled and the tables vacuumed. Each round with A's backlog also
// prints how busy it kept the host and the CPU per A delivery beyond what B's round alone cost
// (workers, every PostgreSQL process, the whole host): on a small host B's tail follows the host's
// load more than the claim's order.
//
// Before round 1, a warm-up that is not counted: B sends for --warmup seconds while A has a backlog
// of 10,000, so no round times freshly started processes. Each round also prints where B's
// slowest 1% spent its time: from acceptance to the attempt's start, and from there to arrival.
//
// Usage: npm run build && node bench/fair.mjs [--rounds 2] [--rate 50] [--seconds 10]
//   [--backlog 100000] [--workers 2] [--warmup 3] [--build <checkout>] [--env K=V ...] [--json]
//   --build runs the herald processes from another built checkout (an older claim, say), with
//   this script and receiver unchanged.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ROOT, cpuMs, forkHelper, freePort, machineBusyMs, median as med, postgresCpuMs, waitFor } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    backlog: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    build: { type: 'string' },
    json: { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.HERALD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const cfg = {
  rounds: Number(opt.rounds),
  rate: Number(opt.rate),
  seconds: Number(opt.seconds),
  backlog: Number(opt.backlog),
  workers: Number(opt.workers),
  warmup: Number(opt.warmup),
};
const BUILD = resolve(opt.build ?? ROOT);
const CLI = join(BUILD, 'packages/server/dist/cli/main.js');
const extraEnv = Object.fromEntries(opt.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const log = (...a) => !opt.json && console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- receivers: A's answers after 50 ms, in a process of its own (receiver-server.mjs), as a
// tenant's server would be; B's answers at once, here, and its arrivals are timed by svix-id ----
const arrivals = new Map();
const rx = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    arrivals.set(String(req.headers['svix-id']), performance.timeOrigin + performance.now());
    res.end('ok');
  });
});
rx.keepAliveTimeout = 60_000;
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const rxUrl = `http://127.0.0.1:${rx.address().port}`;
const slowRx = await forkHelper('receiver-server.mjs');
const slowPort = slowRx.ready.port;
/** What A's receiver has answered so far. */
const slowCount = async () => (await slowRx.ask('stats')).count;

// ---- database and processes ----
const dbName = `herald_bench_fair_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: opt['pg-url'] });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const dbUrl = new URL(opt['pg-url']);
dbUrl.pathname = `/${dbName}`;
const dataDir = mkdtempSync(join(os.tmpdir(), 'herald-bench-fair-'));
const token = 'bench_operator_token_0123456789';
const env = {
  ...process.env,
  HERALD_DATA_DIR: dataDir,
  HERALD_API_TOKEN: token,
  HERALD_MASTER_KEY: randomBytes(32).toString('hex'),
  HERALD_LOG_LEVEL: 'warn',
  HERALD_SSRF_ALLOWLIST: '127.0.0.0/8',
  HERALD_DATABASE_URL: dbUrl.toString(),
  ...extraEnv,
};
const children = [];
const start = (args, extra = {}) => {
  const c = spawn(process.execPath, [CLI, ...args], { cwd: BUILD, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (out += d));
  children.push(c);
  return { c, out: () => out };
};
const cleanup = async () => {
  for (const c of children) c.kill('SIGKILL');
  slowRx.child.kill('SIGKILL');
  rx.close();
  await sql?.end().catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  await admin.end().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
};
let sql;
process.on('SIGINT', async () => {
  await cleanup();
  process.exit(130);
});

try {
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const apiProc = start(['serve', '--no-dispatch'], { HERALD_PORT: String(port) });
  await waitFor(`${apiUrl}/api/v1/health/ping`, { timeoutMs: 60_000 });
  const call = async (method, path, body) => {
    const r = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const a = await call('POST', '/api/v1/app', { name: 'tenant A', uid: 'tenant-a' });
  await call('POST', '/api/v1/app', { name: 'tenant B', uid: 'tenant-b' });
  await call('POST', '/api/v1/app/tenant-a/endpoint', { url: `http://127.0.0.1:${slowPort}/delay-50` });
  await call('POST', '/api/v1/app/tenant-b/endpoint', { url: `${rxUrl}/fast` });
  sql = new pg.Client({ connectionString: dbUrl.toString() });
  await sql.connect();

  const workers = [];
  for (let i = 0; i < cfg.workers; i++) workers.push(start(['worker', '--no-migrate']));
  const deadline = Date.now() + 60_000;
  while (!workers.every((w) => /dispatching/.test(w.out()))) {
    if (Date.now() > deadline) throw new Error(`workers did not start:\n${workers.map((w) => w.out()).join('\n')}`);
    await sleep(20);
  }
  void apiProc;

  const waitingOfA = async () =>
    (await sql.query('SELECT count(*)::int AS n FROM delivery_task WHERE app_id = $1 AND next_attempt_at IS NOT NULL', [a.id])).rows[0].n;

  /** A's backlog: one message through the API, copied with its task to `n` in all, due now. */
  async function seedBacklog(n) {
    const first = await call('POST', '/api/v1/app/tenant-a/msg', { eventType: 'a.backlog', payload: { filler: 'x'.repeat(200) } });
    const tag = randomBytes(3).toString('hex');
    // The workers may have delivered the original already: the copies are pending and due now.
    const now = Date.now();
    for (const [table, key, more] of [
      ['message', 'id', ''],
      ['delivery_task', 'msg_id', `, 'status', 1, 'next_attempt_at', ${now}, 'lease_owner', NULL, 'lease_expires_at', NULL, 'attempt_count', 0`],
    ]) {
      await sql.query(
        `INSERT INTO ${table} SELECT (jsonb_populate_record(NULL::${table}, to_jsonb(t) || jsonb_build_object('${key}', t.${key} || '_${tag}_' || lpad(g::text, 7, '0')${more}))).*
         FROM ${table} t, generate_series(1, $2::int) g WHERE t.${key} = $1`,
        [first.id, n - 1],
      );
    }
    await sql.query('ANALYZE delivery_task');
  }

  /**
   * B sends open loop for `seconds` at cfg.rate; returns 202 → arrival per message, in ms, and
   * where B's slowest 1% spent it: from its acceptance to its attempt's start (both times as
   * Herald recorded them: the API's clock, then the worker's, on this one host), and from there to
   * its arrival here.
   */
  async function bRound(seconds = cfg.seconds) {
    const n = cfg.rate * seconds;
    const sent = new Map();
    const t0 = performance.now();
    const posts = [];
    for (let i = 0; i < n; i++) {
      const due = t0 + (i * 1000) / cfg.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      posts.push(
        call('POST', '/api/v1/app/tenant-b/msg', { eventType: 'b.fresh', payload: { i } }).then((m) => {
          sent.set(m.id, performance.timeOrigin + performance.now());
        }),
      );
    }
    await Promise.all(posts);
    const until = performance.now() + 60_000;
    while ([...sent.keys()].some((id) => !arrivals.has(id)) && performance.now() < until) await sleep(20);
    const lat = [...sent].map(([id, at]) => (arrivals.has(id) ? arrivals.get(id) - at : Number.POSITIVE_INFINITY)).sort((x, y) => x - y);
    const { rows } = await sql.query(
      'SELECT m.id, m.created_at::float8 AS accepted, min(a.created_at)::float8 AS attempted FROM message m JOIN attempt a ON a.msg_id = m.id WHERE m.id = ANY($1) GROUP BY m.id, m.created_at',
      [[...sent.keys()]],
    );
    const slowest = rows
      .filter((r) => arrivals.has(r.id))
      .map((r) => ({ total: arrivals.get(r.id) - sent.get(r.id), toAttempt: r.attempted - r.accepted, toArrival: arrivals.get(r.id) - r.attempted }))
      .sort((x, y) => y.total - x.total)
      .slice(0, Math.ceil(n / 100));
    const mean = (k) => slowest.reduce((sum, x) => sum + x[k], 0) / Math.max(1, slowest.length);
    const slow1 = { toAttempt: mean('toAttempt'), toArrival: mean('toArrival') };
    return { n, arrived: lat.filter(Number.isFinite).length, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat.at(-1), slow1, lat };
  }

  /** The p-quantile of sorted latencies (nearest rank). */
  const quantile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  /** Every round's latencies together, sorted; the rounds keep their own p50/p99/max. */
  const pooled = (rounds) => rounds.flatMap((r) => r.lat).sort((x, y) => x - y);
  const cpuOf = () => workers.reduce((s, w) => s + cpuMs(w.c.pid), 0);
  /** `fn`'s result, and the CPU spent while it ran: ms per second by the workers, PostgreSQL and the host, and the host's busy share. */
  const costOf = async (fn) => {
    const [w0, pg0, host0, t0] = [cpuOf(), postgresCpuMs(), machineBusyMs(), performance.now()];
    const result = await fn();
    const [w1, pg1, host1, t1] = [cpuOf(), postgresCpuMs(), machineBusyMs(), performance.now()];
    const seconds = (t1 - t0) / 1000;
    const msPerS = { workers: (w1 - w0) / seconds, postgres: (pg1 - pg0) / seconds, host: (host1 - host0) / seconds };
    return [result, { seconds, msPerS, hostBusy: msPerS.host / 1000 / os.cpus().length }];
  };
  const results = { alone: [], backlog: [] };
  log(
    `fair: ${cfg.workers} workers from ${BUILD}; B at ${cfg.rate}/s for ${cfg.seconds} s; A's backlog ${cfg.backlog.toLocaleString('en')} to a 50 ms endpoint`,
  );
  /** Seeds A's backlog and waits until its deliveries are under way; returns A's receiver count before. */
  async function startBacklog(n) {
    const slow0 = await slowCount();
    await seedBacklog(n);
    const seen = Date.now() + 60_000;
    while ((await slowCount()) - slow0 < 500) {
      // A's backlog is being worked on
      if (Date.now() > seen) throw new Error(`A's backlog is not being delivered:\n${workers.map((w) => w.out()).join('\n')}`);
      await sleep(10);
    }
    return slow0;
  }
  /** Ends A's backlog, and vacuums away the dead rows it left (A's delivered and cancelled tasks), as autovacuum does in a steady state. */
  async function endBacklog() {
    await sql.query(`UPDATE delivery_task SET status = 4, next_attempt_at = NULL WHERE app_id = $1 AND next_attempt_at IS NOT NULL AND lease_owner IS NULL`, [
      a.id,
    ]);
    while ((await waitingOfA()) > 0) await sleep(200);
    await sql.query('VACUUM ANALYZE delivery_task, message, attempt');
  }
  const slowestLine = (x) =>
    `        B's slowest 1%: accept → attempt start ${x.slow1.toAttempt.toFixed(1)} ms, attempt start → arrival ${x.slow1.toArrival.toFixed(1)} ms (means)`;

  // Not measured: B's and A's paths run for a while first, so round 1 does not time freshly started
  // processes (code not yet optimised, empty caches) against later rounds' warm ones.
  if (cfg.warmup > 0) {
    await startBacklog(Math.min(cfg.backlog, 10_000));
    await bRound(cfg.warmup);
    await endBacklog();
    log(`warm-up: B for ${cfg.warmup} s beside A's backlog; not counted`);
  }
  for (let r = 0; r < cfg.rounds; r++) {
    const [alone, aloneCost] = await costOf(bRound);
    alone.hostBusy = aloneCost.hostBusy;
    // What one of B's messages costs at this low rate, every worker woken by it included.
    alone.cpuUsPerB = Object.fromEntries(['workers', 'postgres', 'host'].map((k) => [k, (aloneCost.msPerS[k] * 1000) / cfg.rate]));
    results.alone.push(alone);
    log(
      `round ${r + 1} B alone:        p50 ${alone.p50.toFixed(1)} ms  p99 ${alone.p99.toFixed(1)} ms  max ${alone.max.toFixed(1)} ms  (${alone.arrived}/${alone.n})`,
    );
    log(slowestLine(alone));
    log(
      `        CPU per B message at ${cfg.rate}/s: workers ${alone.cpuUsPerB.workers.toFixed(0)} µs, PostgreSQL ${alone.cpuUsPerB.postgres.toFixed(0)} µs, ` +
        `whole host ${alone.cpuUsPerB.host.toFixed(0)} µs (host ${(alone.hostBusy * 100).toFixed(0)}% busy)`,
    );

    const slow0 = await startBacklog(cfg.backlog);
    const slowAt0 = await slowCount();
    const [withA, withACost] = await costOf(bRound);
    const slowAt1 = await slowCount();
    withA.aLeft = await waitingOfA();
    withA.aDelivered = slowAt1 - slow0;
    // What A's deliveries cost while B's round ran: the host's busy share, and the CPU per A
    // delivery beyond what B's round alone cost (B's traffic, the processes' idle work), per second.
    const aPerS = (slowAt1 - slowAt0) / withACost.seconds;
    withA.hostBusy = withACost.hostBusy;
    withA.cpuUsPerA = Object.fromEntries(['workers', 'postgres', 'host'].map((k) => [k, ((withACost.msPerS[k] - aloneCost.msPerS[k]) * 1000) / aPerS]));
    results.backlog.push(withA);
    log(
      `round ${r + 1} B, A's backlog: p50 ${withA.p50.toFixed(1)} ms  p99 ${withA.p99.toFixed(1)} ms  max ${withA.max.toFixed(1)} ms  (${withA.arrived}/${withA.n}); ` +
        `A delivered ${withA.aDelivered} meanwhile, ${withA.aLeft} still waiting`,
    );
    log(slowestLine(withA));
    log(
      `        host busy ${(withA.hostBusy * 100).toFixed(0)}% of ${os.cpus().length} cores (B alone ${(alone.hostBusy * 100).toFixed(0)}%); ` +
        `per A delivery, beyond B alone: workers ${withA.cpuUsPerA.workers.toFixed(0)} µs, ` +
        `PostgreSQL ${withA.cpuUsPerA.postgres.toFixed(0)} µs, whole host ${withA.cpuUsPerA.host.toFixed(0)} µs`,
    );
    // End A's backlog before the next round: each round starts from the same state.
    await endBacklog();
  }
  // B's p99 over all its messages of the run (rounds × rate × seconds of them: 1,000 by default),
  // the figure the goal is about; the median of the rounds' own p99s (each over 500 messages by
  // default, so set by its five slowest) is printed beside it, and moves more from run to run.
  const [poolAlone, poolBacklog] = [pooled(results.alone), pooled(results.backlog)];
  const p99Alone = quantile(poolAlone, 0.99);
  const p99Backlog = quantile(poolBacklog, 0.99);
  const roundsP99 = { alone: med(results.alone.map((x) => x.p99)), backlog: med(results.backlog.map((x) => x.p99)) };
  for (const r of [...results.alone, ...results.backlog]) delete r.lat;
  const hostBusy = med(results.backlog.map((x) => x.hostBusy));
  const cpuUsPerA = Object.fromEntries(['workers', 'postgres', 'host'].map((k) => [k, med(results.backlog.map((x) => x.cpuUsPerA[k]))]));
  const summary = {
    p99Alone,
    p99Backlog,
    ratio: p99Backlog / p99Alone,
    under500: p99Backlog < 500,
    under2x: p99Backlog < 2 * p99Alone,
    roundsP99: { ...roundsP99, ratio: roundsP99.backlog / roundsP99.alone },
    hostBusy,
    cpuUsPerA,
  };
  log(
    `B's p99 over the run's ${poolAlone.length} + ${poolBacklog.length} messages: alone ${p99Alone.toFixed(1)} ms, with A's backlog ${p99Backlog.toFixed(1)} ms; ` +
      `ratio ${summary.ratio.toFixed(2)} (goal: < 500 ms ${summary.under500 ? 'met' : 'MISSED'}, < 2x ${summary.under2x ? 'met' : 'MISSED'})`,
  );
  log(
    `        median of the rounds' p99s: alone ${roundsP99.alone.toFixed(1)} ms, with A's backlog ${roundsP99.backlog.toFixed(1)} ms; ratio ${summary.roundsP99.ratio.toFixed(2)}`,
  );
  log(
    `A's backlog kept the host ${(hostBusy * 100).toFixed(0)}% busy (median of rounds); CPU per A delivery beyond B alone: workers ${cpuUsPerA.workers.toFixed(0)} µs, ` +
      `PostgreSQL ${cpuUsPerA.postgres.toFixed(0)} µs, whole host ${cpuUsPerA.host.toFixed(0)} µs`,
  );
  if (opt.json) console.log(JSON.stringify({ cfg, build: BUILD, results, summary }));
} finally {
  await cleanup();
}
