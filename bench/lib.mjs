// Shared bits for benchmarks: start processes, wait for readiness, run autocannon, summarise.
import autocannon from 'autocannon';
import { fork, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitFor(url, { timeoutMs = 20000, ok = (r) => r.status < 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (ok(r)) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start a child process; resolves once `readyUrl` answers. */
export async function startProcess(args, env, readyUrl) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.resume();
  try {
    await waitFor(readyUrl);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${err}`);
  }
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

export async function startHerald(extraEnv = {}, args = []) {
  const port = await freePort();
  const token = 'bench_operator_token_0123456789';
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const url = `http://127.0.0.1:${port}`;
  const p = await startProcess(
    ['packages/server/dist/cli/main.js', 'serve', ...args],
    {
      HERALD_PORT: String(port),
      HERALD_DATA_DIR: dataDir,
      HERALD_API_TOKEN: token,
      HERALD_LOG_LEVEL: 'warn',
      HERALD_SSRF_ALLOWLIST: '127.0.0.0/8',
      ...extraEnv,
    },
    `${url}/api/v1/health/ping`,
  );
  return { ...p, url, token, dataDir };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Busy CPU time of the whole machine (ms, all cores), from /proc/stat. */
export function machineBusyMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) * 10;
}

/** CPU time (ms) of every PostgreSQL server process on this machine, from /proc. */
export function postgresCpuMs() {
  let total = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * 10;
    } catch {}
  }
  return total;
}

export function cannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: 64, pipelining: 1, duration: 10, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * A gauge of the host, printed with each run so that runs on different days can be compared: the
 * same code reads very differently from one host to the next (see docs/BENCHMARKS.md, "The same
 * code on a slower host"). Medians over 5 repetitions of: a fixed integer loop plus 100,000
 * SHA-256 digests of 64 bytes (a Hash object each, so little GC), and the cost of one write(2)
 * of 100 bytes to /dev/null from Node (what the kernel's syscall entry costs here; page-table
 * isolation, for one, multiplies it). Takes about 2 s.
 */
// biome-ignore lint/correctness/noUnusedVariables: written, never read, on purpose: it keeps the loop's result alive
let gaugeSink = 0; // keeps the loop's result alive, so the JIT cannot drop the loop
export function hostGauge() {
  const buf = Buffer.alloc(100, 1);
  const digestInput = buf.subarray(0, 64);
  const fd = openSync('/dev/null', 'w');
  const compute = [];
  const syscall = [];
  try {
    for (let r = 0; r < 6; r++) {
      let t = process.hrtime.bigint();
      let x = 0;
      for (let i = 0; i < 3e7; i++) x = (x * 31 + i) | 0;
      for (let i = 0; i < 1e5; i++) createHash('sha256').update(digestInput).digest();
      compute.push(Number(process.hrtime.bigint() - t) / 1e6);
      gaugeSink ^= x;
      t = process.hrtime.bigint();
      for (let i = 0; i < 1e5; i++) writeSync(fd, buf);
      syscall.push(Number(process.hrtime.bigint() - t) / 1e5);
    }
  } finally {
    closeSync(fd);
  }
  // The first repetition includes the JIT's warm-up.
  return { computeMs: median(compute.slice(1)), syscallNs: median(syscall.slice(1)) };
}

export const hostGaugeLine = (g) => `host gauge: fixed compute ${g.computeMs.toFixed(0)} ms, write(2) ${g.syscallNs.toFixed(0)} ns (median of 5)`;

// ---- child processes: every child tracked is killed on any exit path -----------------------------

const children = new Set();
/** Track a child, so that killAll (and this process's exit) ends it. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
export function killAll() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
}
process.on('exit', killAll);

/** Resolves with the child's exit code and signal, at once if it has exited. */
export function exitPromise(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child, graceMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = exitPromise(child);
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/**
 * A forked helper from bench/ (receiver-server.mjs, deliver-client.mjs) with request/reply over
 * IPC: `ask(cmd)` sends `{cmd, id}` and resolves with the reply of that id; `next(pred)` waits for a
 * message; both reject if the helper exits. Resolves once the helper says it is ready (`ready`).
 */
export async function forkHelper(file) {
  const child = track(fork(join(ROOT, 'bench', file), [], { cwd: ROOT, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const exited = exitPromise(child).then(({ code, signal }) => {
    throw new Error(`${file} exited (code ${code}, signal ${signal})`);
  });
  exited.catch(() => {});
  let seq = 0;
  const listeners = new Set();
  child.on('message', (m) => {
    for (const l of [...listeners]) l(m);
  });
  const next = (pred) =>
    Promise.race([
      new Promise((resolve) => {
        const l = (m) => {
          if (pred(m)) {
            listeners.delete(l);
            resolve(m);
          }
        };
        listeners.add(l);
      }),
      exited,
    ]);
  const h = {
    child,
    pid: child.pid,
    listeners,
    send: (m) => child.send(m),
    next,
    ask(cmd, extra = {}) {
      const id = ++seq;
      const p = next((m) => m.id === id);
      child.send({ cmd, id, ...extra });
      return p;
    },
  };
  h.ready = await next((m) => m.type === 'ready');
  return h;
}

/**
 * Records for benchmarks that write through a store directly (the shapes of domain/types.ts),
 * ids from `ids` (an IdGenerator), created at `now`.
 */
export const records = (ids) => ({
  application: (now, uid = null) => ({
    id: ids.next('application', now),
    uid,
    name: uid ?? 'bench',
    throttleRate: null,
    metadata: {},
    createdAt: now,
    updatedAt: now,
  }),
  endpoint: (appId, now, ordering = 'none') => ({
    id: ids.next('endpoint', now),
    appId,
    uid: null,
    url: 'http://127.0.0.1:9/x',
    description: '',
    throttleRate: null,
    disabled: false,
    disabledReason: null,
    eventTypes: null,
    channels: null,
    metadata: {},
    headers: {},
    secret: `whsec_${randomBytes(24).toString('base64')}`,
    previousSecrets: [],
    ordering,
    createdAt: now,
    updatedAt: now,
  }),
});
