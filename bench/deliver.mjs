// Delivery benchmark: Herald end to end (message created over HTTP, delivered to a receiver, attempt
// recorded) against the raw limit (plain keep-alive undici POSTs to the same receiver process),
// measured in one run on one machine. Parts:
//   raw       undici -> receiver at saturation: requests/s
//   e2e       Herald at saturation, 1 endpoint: deliveries/s at the receiver, ratio to raw
//   latency   202 -> arrival at the receiver, 1,000 messages/s offered, open loop
//   fanout    one application with 50 endpoints: deliveries/s against the 1-endpoint figure
//   ordering  (only when asked: --only ordering) ordered delivery per key: the same closed loop to
//             an endpoint with ordering "key", every message keyed at random among --keys (10,000),
//             against an endpoint with ordering "none" getting the same keyed messages, in
//             alternating rounds of one run: deliveries/s of both and their ratio (goal: ordering
//             costs at most 15%)
//   backlog   1,000,000 future-dated tasks of a dead endpoint in the store: e2e again, plus the
//             Herald process's peak resident memory (sampled every 200 ms)
// Every process (receiver, load client, Herald) is separate; all on 127.0.0.1. Rates are counted
// at the receiver over a window after a warm-up; figures are medians over --rounds. A full run
// takes about 3.5 minutes; --quick (1 round of 3 s, 100,000 backlog) about 30 s.
// Usage: node bench/deliver.mjs [--rounds 3] [--quick] [--only raw,e2e,latency,fanout,backlog,ordering] [--keys 10000]
//   [--json]                   also print every round as one JSON line
//   [--profile] [--keep]       node --cpu-prof on Herald (read with bench/cpuprofile-top.mjs); keep
//                              the temp folder (data, profiles)
//   [--env K=V] [--node-arg=F] [--split]   experiments: Herald environment, node flags, API and
//                              dispatcher as two processes (see the options below)
//   [--tracing]                also the cost of OpenTelemetry tracing: a second Herald exporting every
//                              span (OTEL_TRACES_SAMPLER=always_on, OTLP/protobuf) to a loopback
//                              collector; its e2e rounds alternate with rounds on the untraced Herald
//                              and the report gives both and their ratio (e.g. --only e2e --tracing)
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IdGenerator } from '../packages/server/dist/domain/ids.js';
import { ROOT, cpuMs, exitPromise, forkHelper, freePort, hostGauge, hostGaugeLine, killAll, machineBusyMs, median, stopChild, track, waitFor } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'raw,e2e,latency,fanout,backlog' },
    'warmup-s': { type: 'string' },
    'window-s': { type: 'string' },
    'latency-s': { type: 'string' },
    rate: { type: 'string', default: '1000' },
    'raw-connections': { type: 'string', default: '64' },
    'raw-inflight': { type: 'string', default: '128' },
    connections: { type: 'string', default: '32' },
    outstanding: { type: 'string', default: '2048' },
    fanout: { type: 'string', default: '50' },
    keys: { type: 'string', default: '10000' },
    backlog: { type: 'string' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    // Extra Herald environment for experiments, e.g. --env HERALD_ENDPOINT_CONCURRENCY=256.
    env: { type: 'string', multiple: true, default: [] },
    // Run the API (`serve --no-dispatch`) and the dispatcher (`worker`) as two processes on one
    // SQLite file; the worker then learns of new tasks by polling (HERALD_POLL_INTERVAL).
    split: { type: 'boolean', default: false },
    // Extra node flags for the Herald process(es), e.g. --node-arg=--cpu-prof-interval=500.
    'node-arg': { type: 'string', multiple: true, default: [] },
    tracing: { type: 'boolean', default: false },
  },
});
const quick = opt.quick;
const cfg = {
  rounds: Number(opt.rounds ?? (quick ? 1 : 3)),
  warmupS: Number(opt['warmup-s'] ?? (quick ? 1 : 3)),
  windowS: Number(opt['window-s'] ?? (quick ? 3 : 10)),
  latencyS: Number(opt['latency-s'] ?? (quick ? 3 : 10)),
  latencyWarmupS: quick ? 0.5 : 1,
  rate: Number(opt.rate),
  rawConnections: Number(opt['raw-connections']),
  rawInflight: Number(opt['raw-inflight']),
  connections: Number(opt.connections),
  outstanding: Number(opt.outstanding),
  fanout: Number(opt.fanout),
  keys: Number(opt.keys),
  backlog: Number(opt.backlog ?? (quick ? 100_000 : 1_000_000)),
};
const heraldEnv = Object.fromEntries(opt.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const only = new Set(opt.only.split(',').map((s) => s.trim()));

// ---- processes: every child is tracked (lib.mjs track) and killed on any exit path -------------

/** The run's temp folder, removed on any exit unless kept. */
let tmpToRemove = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    if (tmpToRemove) rmSync(tmpToRemove, { recursive: true, force: true });
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const heraldToken = 'bench_operator_token_0123456789';

/** Start `herald serve` on `dataDir` (created if needed); resolves once it answers. */
async function startHerald(dataDir, nodeArgs = [], extraEnv = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = track(
    spawn(process.execPath, [...nodeArgs, 'packages/server/dist/cli/main.js', 'serve', ...(opt.split ? ['--no-dispatch'] : [])], {
      cwd: ROOT,
      env: {
        ...process.env,
        HERALD_PORT: String(port),
        HERALD_DATA_DIR: dataDir,
        HERALD_API_TOKEN: heraldToken,
        HERALD_LOG_LEVEL: 'warn',
        HERALD_SSRF_ALLOWLIST: '127.0.0.0/8',
        ...heraldEnv,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let log = '';
  const keep = (d) => (log = (log + d).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const died = exitPromise(child).then(({ code, signal }) => {
    throw new Error(`herald exited during start-up (code ${code}, signal ${signal}):\n${log}`);
  });
  died.catch(() => {});
  await Promise.race([waitFor(`${url}/api/v1/health/ping`, { timeoutMs: 60_000 }), died]);
  if (!opt.split) return { child, pid: child.pid, url, dataDir, log: () => log, stop: () => stopChild(child) };
  const worker = track(
    spawn(process.execPath, [...nodeArgs, 'packages/server/dist/cli/main.js', 'worker'], {
      cwd: ROOT,
      env: {
        ...process.env,
        HERALD_DATA_DIR: dataDir,
        HERALD_API_TOKEN: heraldToken,
        HERALD_LOG_LEVEL: 'warn',
        HERALD_SSRF_ALLOWLIST: '127.0.0.0/8',
        ...heraldEnv,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  worker.stdout.on('data', keep);
  worker.stderr.on('data', keep);
  await sleep(1000);
  if (worker.exitCode !== null) throw new Error(`herald worker exited during start-up:\n${log}`);
  return {
    child,
    pid: [child.pid, worker.pid],
    url,
    dataDir,
    log: () => log,
    stop: () => Promise.all([stopChild(child), stopChild(worker)]),
  };
}

/**
 * A stand-in OTLP collector on loopback: answers every export 200 and counts requests, bytes and
 * the spans in them (by their names' bytes in the protobuf, enough to see whether any were dropped).
 */
async function startOtlpSink() {
  const { createServer } = await import('node:http');
  const stats = { requests: 0, bytes: 0, spans: 0 };
  const names = [Buffer.from('herald.deliver'), Buffer.from('herald.message.accept')];
  const count = (buf, needle) => {
    let n = 0;
    for (let i = buf.indexOf(needle); i !== -1; i = buf.indexOf(needle, i + needle.length)) n++;
    return n;
  };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      stats.bytes += body.length;
      for (const name of names) stats.spans += count(body, name);
      stats.requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, stats, close: () => new Promise((r) => server.close(r)) };
}

async function api(h, method, path, body) {
  const r = await fetch(`${h.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${heraldToken}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

// ---- measurement helpers ---------------------------------------------------------------------

function rssMB(pid) {
  if (Array.isArray(pid)) {
    const vs = pid.map(rssMB);
    return vs.some((v) => v === null) ? null : vs.reduce((a, b) => a + b, 0);
  }
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Sample a process's resident memory every `everyMs` until stopped. */
function rssSampler(pid, everyMs = 200) {
  const samples = [];
  const take = () => {
    const v = rssMB(pid);
    if (v !== null) samples.push(v);
  };
  take();
  const t = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(t);
      take();
      return { maxMB: Math.max(...samples), lastMB: samples.at(-1), count: samples.length };
    },
  };
}

const safeCpu = (pid) => {
  try {
    return Array.isArray(pid) ? pid.reduce((a, p) => a + cpuMs(p), 0) : cpuMs(pid);
  } catch {
    return NaN;
  }
};

/** Counts and CPU of every process at one instant. */
async function snapshot(receiver, pids) {
  const s = await receiver.ask('stats');
  const t = process.hrtime.bigint();
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, safeCpu(pid)]));
  cpu.machine = machineBusyMs();
  return { count: s.count, t, cpu };
}

/** Rate over the window, and CPU use in % of one core (machine: all cores; other: not ours). */
function windowFigures(a, b) {
  const secs = Number(b.t - a.t) / 1e9;
  const n = b.count - a.count;
  const cpuPct = Object.fromEntries(Object.keys(a.cpu).map((k) => [k, ((b.cpu[k] - a.cpu[k]) / (secs * 1000)) * 100]));
  cpuPct.other = cpuPct.machine - ['herald', 'receiver', 'client'].filter((k) => k in cpuPct).reduce((x, k) => x + cpuPct[k], 0);
  return { perSec: n / secs, n, secs, cpuPct };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];

async function waitCount(receiver, expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await receiver.ask('stats');
    if (s.count >= expected) return { drained: true, count: s.count };
    if (Date.now() > deadline) return { drained: false, count: s.count };
    await sleep(50);
  }
}

/** Herald's own memory gauges (prom-client defaults), and how long the /metrics scrape took. */
async function heraldMemory(h) {
  const t = performance.now();
  const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${heraldToken}` } })).text();
  const ms = performance.now() - t;
  const g = (name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
    return m ? Number(m[1]) / 2 ** 20 : NaN;
  };
  return {
    scrapeMs: ms,
    rssMB: g('herald_process_resident_memory_bytes'),
    heapTotalMB: g('herald_nodejs_heap_size_total_bytes'),
    heapUsedMB: g('herald_nodejs_heap_size_used_bytes'),
    externalMB: g('herald_nodejs_external_memory_bytes'),
  };
}

// ---- the request bodies ----------------------------------------------------------------------

const message = {
  eventType: 'contact.updated',
  payload: {
    contactId: '4f6a1c9e-3f0b-4a51-9d0e-8f5c2a7b1e20',
    changes: { email: 'anna@example.com', firstName: 'Anna', acceptsEmail: true },
    tenant: 'acme',
  },
};
const messageBody = JSON.stringify(message);
/** The same message with an ordering key, "__KEY__" replaced per message by the load client. */
const keyedMessageBody = JSON.stringify({ ...message, orderingKey: '__KEY__' });
const deliveryBody = JSON.stringify(message.payload);
const heraldHeaders = { authorization: `Bearer ${heraldToken}`, 'content-type': 'application/json' };
// What a Herald delivery carries, so the receiver does the same work per raw request.
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

// ---- the parts -------------------------------------------------------------------------------

async function rawRound(receiver, client) {
  await receiver.ask('reset');
  const done = client.next((m) => m.type === 'done' || m.type === 'error');
  client.send({
    cmd: 'raw',
    origin: `http://127.0.0.1:${receiver.ready.port}`,
    path: '/raw',
    connections: cfg.rawConnections,
    inflight: cfg.rawInflight,
    headers: rawHeaders,
    body: deliveryBody,
  });
  await sleep(cfg.warmupS * 1000);
  const pids = { receiver: receiver.pid, client: client.pid };
  const a = await snapshot(receiver, pids);
  await sleep(cfg.windowS * 1000);
  const b = await snapshot(receiver, pids);
  client.send({ cmd: 'stop' });
  const r = await done;
  if (r.type === 'error') throw new Error(r.error);
  return { ...windowFigures(a, b), client: r.result };
}

/** One saturation round against Herald: closed loop with at most `outstanding` deliveries pending. */
async function heraldRound(receiver, client, herald, appUid, fanout, keys = 0) {
  await receiver.ask('reset');
  const relay = (m) => m.type === 'count' && client.send({ cmd: 'delivered', count: m.count });
  receiver.listeners.add(relay);
  await receiver.ask('push', { everyMs: 10 });
  const done = client.next((m) => m.type === 'done' || m.type === 'error');
  client.send({
    cmd: 'closed',
    origin: herald.url,
    path: `/api/v1/app/${appUid}/msg`,
    connections: cfg.connections,
    inflight: cfg.connections,
    headers: heraldHeaders,
    body: keys ? keyedMessageBody : messageBody,
    keys,
    fanout,
    outstanding: cfg.outstanding,
  });
  try {
    await sleep(cfg.warmupS * 1000);
    const pids = { herald: herald.pid, receiver: receiver.pid, client: client.pid };
    if (Array.isArray(herald.pid)) [pids.api, pids.worker] = herald.pid;
    const a = await snapshot(receiver, pids);
    await sleep(cfg.windowS * 1000);
    const b = await snapshot(receiver, pids);
    client.send({ cmd: 'stop' });
    const r = await done;
    if (r.type === 'error') throw new Error(r.error);
    const mem = await heraldMemory(herald);
    const st = r.result;
    if (st.created === 0) throw new Error(`no message was accepted: ${st.lastError}\n${herald.log()}`);
    const drain = await waitCount(receiver, st.created * fanout, 60_000);
    const w = windowFigures(a, b);
    return {
      ...w,
      mem,
      heraldCpuUsPerDelivery: ((b.cpu.herald - a.cpu.herald) * 1000) / Math.max(1, w.n),
      created: st.created,
      non202: st.non202,
      errors: st.errors,
      drained: drain.drained,
      received: drain.count,
    };
  } finally {
    receiver.listeners.delete(relay);
    await receiver.ask('push', { everyMs: 0 });
  }
}

async function latencyRun(receiver, client, herald, appUid) {
  await receiver.ask('reset');
  await receiver.ask('record', { on: true });
  const pids = { herald: herald.pid, receiver: receiver.pid, client: client.pid };
  const a = await snapshot(receiver, pids);
  const done = client.next((m) => m.type === 'done' || m.type === 'error');
  client.send({
    cmd: 'paced',
    origin: herald.url,
    path: `/api/v1/app/${appUid}/msg`,
    connections: 64,
    headers: heraldHeaders,
    body: messageBody,
    rate: cfg.rate,
    durationMs: (cfg.latencyS + cfg.latencyWarmupS) * 1000,
  });
  const r = await done;
  if (r.type === 'error') throw new Error(r.error);
  const st = r.result;
  const drain = await waitCount(receiver, st.records.length, 30_000);
  const b = await snapshot(receiver, pids);
  const arrivals = new Map((await receiver.ask('arrivals')).arrivals);
  await receiver.ask('record', { on: false });
  const warmNs = BigInt(Math.round(cfg.latencyWarmupS * 1e9));
  const lat = [];
  const ingest = [];
  let negative = 0;
  let missing = 0;
  for (const [id, tSend, t202] of st.records) {
    if (tSend - st.start < warmNs) continue;
    ingest.push(Number(t202 - tSend) / 1e6);
    const tArr = arrivals.get(id);
    if (tArr === undefined) {
      missing++;
      continue;
    }
    const ms = Number(tArr - t202) / 1e6;
    if (ms < 0) negative++;
    lat.push(Math.max(0, ms));
  }
  lat.sort((x, y) => x - y);
  ingest.sort((x, y) => x - y);
  const w = windowFigures(a, b);
  return {
    offered: cfg.rate,
    achievedSendRate: st.sent / st.sentOverS,
    measured: lat.length,
    received: drain.count,
    negative,
    missing,
    drained: drain.drained,
    non202: st.non202,
    errors: st.errors,
    maxInFlight: st.maxInFlight,
    p50: pct(lat, 0.5),
    p90: pct(lat, 0.9),
    p99: pct(lat, 0.99),
    max: lat.at(-1),
    ingestP50: pct(ingest, 0.5),
    ingestP99: pct(ingest, 0.99),
    heraldCpuPct: w.cpuPct.herald,
  };
}

/** Bulk-insert `n` pending tasks (and their messages) of a dead endpoint, due hours from now. */
function insertBacklog(file, { appId, endpointId, n }) {
  const started = Date.now();
  const db = new Database(file);
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const ids = new IdGenerator((k) => randomBytes(k));
  const now = Date.now();
  const base = now - 3 * 3600_000;
  const insMsg = db.prepare(
    'INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at) VALUES (?, ?, NULL, ?, NULL, ?, ?, ?)',
  );
  // As after a failed first attempt: pending, one attempt made, the retry hours away.
  const insTask = db.prepare(
    `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, attempt_count, next_attempt_at, trigger_type, lease_owner,
       lease_expires_at, fence, created_at, updated_at) VALUES (?, ?, ?, 1, 1, ?, 0, NULL, NULL, 1, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const createdAt = base + i * 10;
      const id = ids.next('message', createdAt);
      insMsg.run(id, appId, message.eventType, deliveryBody, createdAt + 90 * 86400_000, createdAt);
      insTask.run(id, endpointId, appId, now + 3600_000 + i * 20, createdAt, createdAt + 5000);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  const due = db.prepare('SELECT COUNT(*) AS n FROM delivery_task WHERE app_id = ? AND next_attempt_at > ?').get(appId, now).n;
  db.close();
  return { seconds: (Date.now() - started) / 1000, futureTasks: due };
}

function dbFigures(file, sql, ...params) {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).get(...params);
  } finally {
    db.close();
  }
}

const dirSizeMB = (dir) => readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0) / 2 ** 20;

// ---- main ------------------------------------------------------------------------------------

const cpus = os.cpus();
const machine = {
  cpus: cpus.length,
  model: cpus[0]?.model ?? 'unknown',
  memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  kernel: os.release(),
  // Before any process starts: how fast this host is today (see bench/lib.mjs).
  gauge: hostGauge(),
};
const load = { start: os.loadavg() };

/** What is being measured: the commit, whether the tree differs, and when dist was built. */
function build() {
  const git = (...a) => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'packages') !== '',
    distBuilt: new Date(newest(join(ROOT, 'packages/server/dist'))).toISOString(),
  };
}
const buildAtStart = build();
const startedAt = new Date();
const R = { raw: [], e2e: [], fanout: [], backlog: [], orderingOff: [], orderingOn: [], untraced: [], traced: [] };
const info = {};
const tmp = mkdtempSync(join(os.tmpdir(), 'herald-deliver-'));
if (!opt.keep && !opt.profile) tmpToRemove = tmp;
const profDir = join(tmp, 'profiles');
if (opt.split) heraldEnv.HERALD_POLL_INTERVAL ??= '10ms';
const nodeArgs = [...(opt.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), ...opt['node-arg']];
if (opt.profile) mkdirSync(profDir);
const log = (s) => process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

let exitCode = 0;
let herald = null;
try {
  const receiver = await forkHelper('receiver-server.mjs');
  const client = await forkHelper('deliver-client.mjs');
  const recvUrl = `http://127.0.0.1:${receiver.ready.port}`;
  log(`receiver on ${recvUrl}; config ${JSON.stringify(cfg)}`);

  if (only.has('raw')) {
    for (let i = 0; i < cfg.rounds; i++) {
      R.raw.push(await rawRound(receiver, client));
      log(`raw round ${i + 1}: ${R.raw.at(-1).perSec.toFixed(0)} req/s`);
    }
  }

  const dataDir = join(tmp, 'data');
  herald = await startHerald(dataDir, nodeArgs);
  info.rss = {};
  let rss = rssSampler(herald.pid);
  await api(herald, 'POST', '/api/v1/event-type', { name: message.eventType, description: 'A contact changed' });
  await api(herald, 'POST', '/api/v1/app', { name: 'Bench, one endpoint', uid: 'bench' });
  await api(herald, 'POST', '/api/v1/app/bench/endpoint', { url: `${recvUrl}/bench/e2e` });
  const fan = await api(herald, 'POST', '/api/v1/app', { name: 'Bench, fan-out', uid: 'fanout' });
  for (let i = 0; i < cfg.fanout; i++) await api(herald, 'POST', '/api/v1/app/fanout/endpoint', { url: `${recvUrl}/fanout/${i}` });
  const benchApp = await api(herald, 'GET', '/api/v1/app/bench');
  const sent = { bench: 0, fanout: 0 };

  if (only.has('e2e') || only.has('backlog')) {
    for (let i = 0; i < cfg.rounds; i++) {
      R.e2e.push(await heraldRound(receiver, client, herald, 'bench', 1));
      sent.bench += R.e2e.at(-1).received;
      log(`e2e round ${i + 1}: ${R.e2e.at(-1).perSec.toFixed(0)} deliveries/s, herald ${R.e2e.at(-1).cpuPct.herald.toFixed(0)}% cpu`);
    }
  }
  info.rss.e2e = rss.stop();
  if (opt.tracing) {
    // Tracing on against off in the same run: a second Herald (its own data folder) with every span
    // sampled and exported with the SDK's default batching, its rounds alternating with rounds on
    // the untraced one. The report counts the spans that arrived: a dropped span would flatter it.
    const sink = await startOtlpSink();
    const traced = await startHerald(join(tmp, 'data-traced'), nodeArgs, {
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_METRICS_EXPORTER: 'none',
    });
    let tracedDeliveries = 0;
    try {
      await api(traced, 'POST', '/api/v1/event-type', { name: message.eventType, description: 'A contact changed' });
      await api(traced, 'POST', '/api/v1/app', { name: 'Bench, one endpoint', uid: 'bench' });
      await api(traced, 'POST', '/api/v1/app/bench/endpoint', { url: `${recvUrl}/bench/traced` });
      // A fresh process and data folder start slower: one round on it first, not counted.
      tracedDeliveries += (await heraldRound(receiver, client, traced, 'bench', 1)).received;
      for (let i = 0; i < cfg.rounds; i++) {
        R.untraced.push(await heraldRound(receiver, client, herald, 'bench', 1));
        sent.bench += R.untraced.at(-1).received;
        R.traced.push(await heraldRound(receiver, client, traced, 'bench', 1));
        tracedDeliveries += R.traced.at(-1).received;
        log(`tracing round ${i + 1}: off ${R.untraced.at(-1).perSec.toFixed(0)}, on ${R.traced.at(-1).perSec.toFixed(0)} deliveries/s`);
      }
    } finally {
      await traced.stop();
      info.otlp = { ...sink.stats, tracedDeliveries };
      await sink.close();
    }
  }
  rss = rssSampler(herald.pid);
  if (only.has('latency')) {
    R.latency = await latencyRun(receiver, client, herald, 'bench');
    sent.bench += R.latency.received;
    log(`latency: p50 ${R.latency.p50?.toFixed(2)} ms p99 ${R.latency.p99?.toFixed(2)} ms`);
  }
  info.rss.latency = rss.stop();
  rss = rssSampler(herald.pid);
  if (only.has('fanout')) {
    for (let i = 0; i < cfg.rounds; i++) {
      R.fanout.push(await heraldRound(receiver, client, herald, 'fanout', cfg.fanout));
      sent.fanout += R.fanout.at(-1).received;
      log(`fan-out round ${i + 1}: ${R.fanout.at(-1).perSec.toFixed(0)} deliveries/s`);
    }
    const byPath = (await receiver.ask('stats', { byPath: true })).byPath;
    info.fanoutEndpointsReached = Object.keys(byPath).filter((p) => p.startsWith('/fanout/')).length;
  }
  info.rss.fanout = rss.stop();

  if (only.has('ordering')) {
    // Same messages (keyed at random among cfg.keys), same receiver; only the endpoint's ordering
    // differs. Rounds alternate so that a drift in the machine's speed hits both alike.
    await api(herald, 'POST', '/api/v1/app', { name: 'Bench, ordering none', uid: 'ord-off' });
    await api(herald, 'POST', '/api/v1/app/ord-off/endpoint', { url: `${recvUrl}/ordering/off`, ordering: 'none' });
    await api(herald, 'POST', '/api/v1/app', { name: 'Bench, ordering key', uid: 'ord-on' });
    await api(herald, 'POST', '/api/v1/app/ord-on/endpoint', { url: `${recvUrl}/ordering/on`, ordering: 'key' });
    for (let i = 0; i < cfg.rounds; i++) {
      R.orderingOff.push(await heraldRound(receiver, client, herald, 'ord-off', 1, cfg.keys));
      R.orderingOn.push(await heraldRound(receiver, client, herald, 'ord-on', 1, cfg.keys));
      log(`ordering round ${i + 1}: none ${R.orderingOff.at(-1).perSec.toFixed(0)}, key ${R.orderingOn.at(-1).perSec.toFixed(0)} deliveries/s`);
    }
  }

  if (only.has('backlog')) {
    const back = await api(herald, 'POST', '/api/v1/app', { name: 'Bench, backlog', uid: 'backlog' });
    // Nothing listens on port 9 (discard): a dead endpoint.
    const dead = await api(herald, 'POST', '/api/v1/app/backlog/endpoint', { url: 'http://127.0.0.1:9/dead' });
    await herald.stop();
    log(`inserting ${cfg.backlog} delivery tasks and messages`);
    info.backlogInsert = insertBacklog(join(dataDir, 'herald.db'), { appId: back.id, endpointId: dead.id, n: cfg.backlog });
    info.dbSizeMB = dirSizeMB(dataDir);
    log(`inserted in ${info.backlogInsert.seconds.toFixed(1)} s; data folder ${info.dbSizeMB.toFixed(0)} MB`);
    const startT = Date.now();
    herald = await startHerald(dataDir, nodeArgs);
    info.restartMs = Date.now() - startT;
    rss = rssSampler(herald.pid);
    for (let i = 0; i < cfg.rounds; i++) {
      R.backlog.push(await heraldRound(receiver, client, herald, 'bench', 1));
      sent.bench += R.backlog.at(-1).received;
      log(`backlog round ${i + 1}: ${R.backlog.at(-1).perSec.toFixed(0)} deliveries/s`);
    }
    info.rss.backlog = rss.stop();
    info.backlogStillWaiting = dbFigures(
      join(dataDir, 'herald.db'),
      'SELECT COUNT(*) AS n FROM delivery_task WHERE app_id = ? AND next_attempt_at IS NOT NULL',
      back.id,
    ).n;
  }

  // Attempts recorded: every delivery the receiver saw must have its attempt row.
  await sleep(300);
  const db = join(dataDir, 'herald.db');
  info.attempts = {
    bench: { received: sent.bench, recorded: dbFigures(db, 'SELECT COUNT(*) AS n FROM attempt WHERE app_id = ? AND status = 0', benchApp.id).n },
    fanout: { received: sent.fanout, recorded: dbFigures(db, 'SELECT COUNT(*) AS n FROM attempt WHERE app_id = ? AND status = 0', fan.id).n },
  };
  // Each claim of a task bumps its fence: claims per delivered task above 1 are claims that were
  // handed back unsent (deferred), e.g. by the per-endpoint concurrency limit.
  const claims = (appId) => dbFigures(db, 'SELECT AVG(fence) AS c, AVG(fence = 1) AS first FROM delivery_task WHERE app_id = ? AND status = 0', appId);
  info.claims = { bench: claims(benchApp.id), fanout: claims(fan.id) };
  await herald.stop();
  herald = null;
  await stopChild(client.child);
  await stopChild(receiver.child);
} catch (e) {
  exitCode = 1;
  console.error(`benchmark failed: ${e?.stack ?? e}`);
  if (herald) console.error(`herald log tail:\n${herald.log().slice(-4000)}`);
} finally {
  killAll();
  if (opt.profile) {
    info.profiles = readdirSync(profDir).map((f) => join(profDir, f));
  }
  if (!opt.keep && !opt.profile) rmSync(tmp, { recursive: true, force: true });
  else info.kept = tmp;
}
load.end = os.loadavg();
const buildAtEnd = build();

// ---- report ----------------------------------------------------------------------------------

const med = (rs, f) => (rs.length ? median(rs.map(f)) : NaN);
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const verdict = (ok) => (ok === null ? '–' : ok ? 'met' : 'MISSED');
const raw = med(R.raw, (r) => r.perSec);
const e2e = med(R.e2e, (r) => r.perSec);
const fanout = med(R.fanout, (r) => r.perSec);
const backlog = med(R.backlog, (r) => r.perSec);
const ordOff = med(R.orderingOff, (r) => r.perSec);
const ordOn = med(R.orderingOn, (r) => r.perSec);
const lat = R.latency;
const rounds = (rs) => rs.map((r) => f0(r.perSec)).join(' / ');
const cpuOf = (rs, k) => f0(med(rs, (r) => r.cpuPct[k]));
const cpuLine = (rs) =>
  ['herald', 'api', 'worker', 'receiver', 'client', 'other']
    .filter((k) => rs[0]?.cpuPct[k] !== undefined)
    .map((k) => `${k} ${cpuOf(rs, k)}`)
    .join(', ');

const rows = [];
const row = (what, value, detail, goal, met) => rows.push([what, value, detail, goal, verdict(met)]);
if (R.raw.length) row('raw limit: undici -> receiver', `${f0(raw)} req/s`, `rounds ${rounds(R.raw)}; cpu % ${cpuLine(R.raw)}`, '', null);
if (R.e2e.length) {
  row(
    'Herald e2e, 1 endpoint',
    `${f0(e2e)} del/s`,
    `rounds ${rounds(R.e2e)}; cpu % ${cpuLine(R.e2e)}; herald ${f0(med(R.e2e, (r) => r.heraldCpuUsPerDelivery))} µs cpu/delivery`,
    '',
    null,
  );
  row('  ratio to raw limit', f2(e2e / raw), '', '>= 0.40', Number.isFinite(raw) ? e2e / raw >= 0.4 : null);
}
if (R.traced.length) {
  const off = med(R.untraced, (r) => r.perSec);
  const on = med(R.traced, (r) => r.perSec);
  const cpu = (rs) => f0(med(rs, (r) => r.heraldCpuUsPerDelivery));
  row('tracing off (alternating rounds)', `${f0(off)} del/s`, `rounds ${rounds(R.untraced)}; herald ${cpu(R.untraced)} µs cpu/delivery`, '', null);
  row(
    'tracing on, 100% sampled, OTLP',
    `${f0(on)} del/s`,
    `rounds ${rounds(R.traced)}; herald ${cpu(R.traced)} µs cpu/delivery; ${info.otlp.requests} exports, ${f1(info.otlp.bytes / 1e6)} MB, ${info.otlp.spans} of ${2 * info.otlp.tracedDeliveries} spans arrived`,
    '',
    null,
  );
  row('  cost of tracing', `${f1((1 - on / off) * 100)}%`, `ratio on/off ${f2(on / off)}`, '<= 15%', Number.isFinite(off) ? on / off >= 0.85 : null);
}
if (lat) {
  row(
    `latency 202 -> arrival @ ${cfg.rate}/s`,
    `p50 ${f2(lat.p50)} ms`,
    `p90 ${f2(lat.p90)}, max ${f1(lat.max)} ms; ${lat.measured} msgs, ${lat.negative} negative (as 0), ${lat.missing} missing`,
    'p50 < 5 ms',
    lat.p50 < 5 && lat.missing === 0,
  );
  row(
    '',
    `p99 ${f2(lat.p99)} ms`,
    `sent ${f0(lat.achievedSendRate)}/s; POST->202 p50 ${f2(lat.ingestP50)} p99 ${f2(lat.ingestP99)} ms; herald ${f0(lat.heraldCpuPct)}% cpu`,
    'p99 < 25 ms',
    lat.p99 < 25 && lat.missing === 0,
  );
}
if (R.fanout.length) {
  row(
    `fan-out, ${cfg.fanout} endpoints`,
    `${f0(fanout)} del/s`,
    `rounds ${rounds(R.fanout)}; cpu % ${cpuLine(R.fanout)}; herald ${f0(med(R.fanout, (r) => r.heraldCpuUsPerDelivery))} µs cpu/delivery`,
    '',
    null,
  );
  row('  ratio to 1 endpoint', f2(fanout / e2e), `ratio to raw ${f2(fanout / raw)}`, '>= 0.90 (same)', Number.isFinite(e2e) ? fanout / e2e >= 0.9 : null);
}
if (R.orderingOn.length) {
  row(
    `ordering none, ${cfg.keys.toLocaleString('en')} keys`,
    `${f0(ordOff)} del/s`,
    `rounds ${rounds(R.orderingOff)}; cpu % ${cpuLine(R.orderingOff)}; herald ${f0(med(R.orderingOff, (r) => r.heraldCpuUsPerDelivery))} µs cpu/delivery`,
    '',
    null,
  );
  row(
    `ordering key, ${cfg.keys.toLocaleString('en')} keys`,
    `${f0(ordOn)} del/s`,
    `rounds ${rounds(R.orderingOn)}; cpu % ${cpuLine(R.orderingOn)}; herald ${f0(med(R.orderingOn, (r) => r.heraldCpuUsPerDelivery))} µs cpu/delivery`,
    '',
    null,
  );
  row(
    '  ratio key / none',
    f2(ordOn / ordOff),
    `ordering costs ${f1((1 - ordOn / ordOff) * 100)}%`,
    '>= 0.85',
    Number.isFinite(ordOff) ? ordOn / ordOff >= 0.85 : null,
  );
}
if (R.backlog.length) {
  row(
    `e2e with ${cfg.backlog.toLocaleString('en')} backlog`,
    `${f0(backlog)} del/s`,
    `rounds ${rounds(R.backlog)}; cpu % ${cpuLine(R.backlog)}; herald ${f0(med(R.backlog, (r) => r.heraldCpuUsPerDelivery))} µs cpu/delivery`,
    '',
    null,
  );
  row(
    '  change vs no backlog',
    `${f1((backlog / e2e - 1) * 100)}%`,
    `ratio to raw ${f2(backlog / raw)}`,
    '>= -20%',
    Number.isFinite(e2e) ? backlog / e2e >= 0.8 : null,
  );
  row(
    '  Herald max RSS (backlog)',
    `${f0(info.rss.backlog.maxMB)} MB`,
    `${info.rss.backlog.count} samples every 200 ms from restart`,
    '< 300 MB',
    info.rss.backlog.maxMB < 300,
  );
}

const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i].length), ['what', 'value', 'detail', 'goal', 'verdict'][i].length));
const fmt = (r) =>
  r
    .map((c, i) => c.padEnd(widths[i]))
    .join('  ')
    .trimEnd();
const out = [];
out.push(`delivery benchmark, ${startedAt.toISOString()}`);
out.push(`machine: ${machine.cpus} x ${machine.model}, ${machine.memoryGiB} GiB, node ${machine.node}, linux ${machine.kernel}`);
out.push(hostGaugeLine(machine.gauge));
out.push(`herald: commit ${buildAtStart.commit}${buildAtStart.dirty ? ' + uncommitted changes under packages/' : ''}, dist built ${buildAtStart.distBuilt}`);
if (buildAtEnd.distBuilt !== buildAtStart.distBuilt)
  out.push(`WARNING: packages/server/dist was rebuilt during the run (now ${buildAtEnd.distBuilt}); the parts may have measured different code`);
out.push(`load average (1/5/15 min): at start ${load.start.map(f2).join(' ')}, at end ${load.end.map(f2).join(' ')}`);
out.push(
  `settings: ${cfg.rounds} round(s), warm-up ${cfg.warmupS} s + window ${cfg.windowS} s; raw ${cfg.rawConnections} connections / ${cfg.rawInflight} in flight; ` +
    `Herald sender ${cfg.connections} connections, <= ${cfg.outstanding} deliveries outstanding; latency ${cfg.latencyS} s at ${cfg.rate}/s after ${cfg.latencyWarmupS} s warm-up`,
);
if (opt.env.length || opt.split)
  out.push(
    `Herald beyond the defaults: ${opt.split ? 'split into serve --no-dispatch + worker (CPU and RSS are the sum of both); ' : ''}${Object.entries(heraldEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
out.push(fmt(['what', 'value', 'detail', 'goal', 'verdict']));
out.push(fmt(widths.map((w) => '-'.repeat(w))));
for (const r of rows) out.push(fmt(r));
if (info.rss) {
  const memOf = (rs) =>
    rs.length
      ? `; after each round heap used/total ${rs.map((r) => `${f0(r.mem.heapUsedMB)}/${f0(r.mem.heapTotalMB)}`).join(', ')} MB, external ${rs.map((r) => f0(r.mem.externalMB)).join(', ')} MB`
      : '';
  out.push(
    `Herald max RSS by part (MB, sampled every 200 ms): ${Object.entries(info.rss)
      .map(([k, v]) => `${k} ${f0(v.maxMB)}`)
      .join(', ')}`,
  );
  for (const [k, rs] of Object.entries({ e2e: R.e2e, fanout: R.fanout, backlog: R.backlog }))
    if (rs.length) out.push(`  ${k}${memOf(rs)}; /metrics scrape ${rs.map((r) => f0(r.mem.scrapeMs)).join(', ')} ms`);
}
if (info.attempts) {
  out.push(
    `attempts recorded (status success) / deliveries received: bench ${info.attempts.bench.recorded}/${info.attempts.bench.received}, fan-out ${info.attempts.fanout.recorded}/${info.attempts.fanout.received}` +
      (info.fanoutEndpointsReached !== undefined ? `; fan-out reached ${info.fanoutEndpointsReached}/${cfg.fanout} endpoints` : ''),
  );
  out.push(
    `claims per delivered task (fence): 1 endpoint ${f2(info.claims.bench.c)} (${f0(info.claims.bench.first * 100)}% sent on the first claim), ` +
      `fan-out ${f2(info.claims.fanout.c)} (${f0(info.claims.fanout.first * 100)}%)`,
  );
}
const notDrained = [...R.e2e, ...R.fanout, ...R.backlog, ...R.orderingOff, ...R.orderingOn].filter((r) => !r.drained).length;
if (notDrained) out.push(`WARNING: ${notDrained} round(s) did not deliver everything within 60 s of the load stopping`);
if (info.backlogInsert) {
  out.push(
    `backlog: ${info.backlogInsert.futureTasks} future tasks inserted in ${f1(info.backlogInsert.seconds)} s (data folder ${f0(info.dbSizeMB)} MB), ` +
      `Herald restarted in ${info.restartMs} ms, ${info.backlogStillWaiting} still waiting at the end`,
  );
}
if (info.profiles) out.push(`cpu profiles: ${info.profiles.join(' ')}`);
if (info.kept) out.push(`kept: ${info.kept}`);
console.log(out.join('\n'));
if (opt.json)
  console.log(JSON.stringify({ machine, load, cfg, results: R, info }, (k, v) => (typeof v === 'bigint' ? String(v) : k === 'records' ? undefined : v)));
process.exitCode = exitCode;
