// herald-receive benchmark: the latency of the 2xx for signed webhooks at a fixed rate (the target is
// p99 < 10 ms at 1,000 requests/s), with the gateway as a real process that commits every event
// to its SQLite inbox and forwards each one to a loopback HTTP destination while it is measured.
// Usage: npm run build && node bench/receive-gateway.mjs [--rate 1000] [--duration 20] [--connections 50]
//        [--no-forward]  no route matches, so nothing is forwarded (the accept path alone)
//        [--bare]        the harness floor: a bare node:http server that reads the body and answers 200
// BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the gateway there.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { engageExample } from '@herald/engage';
import { generateSecret, parseSecret, signatureHeaders } from '@herald/receiver';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '50' },
    'no-forward': { type: 'boolean', default: false },
    bare: { type: 'boolean', default: false },
  },
});
const rate = Number(values.rate);
const duration = Number(values.duration);
const connections = Number(values.connections);
const forwarding = !values.bare && !values['no-forward'];
const CLI = fileURLToPath(new URL('../packages/receive-gateway/dist/cli.js', import.meta.url));

/** Runs a small ES module in its own process; resolves with the first line it prints. */
async function startScript(source) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return { child, line };
}

// The destination, in its own process so its work does not delay the load generator's clock:
// answers 204 to each forwarded event, and GET with the count so far.
const sink = await startScript(`
  import { createServer } from 'node:http';
  let n = 0;
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => { if (req.method === 'POST') { n++; res.writeHead(204).end(); } else res.end(String(n)); });
  });
  s.listen(0, '127.0.0.1', () => console.log(s.address().port));`);
const sinkUrl = `http://127.0.0.1:${sink.line}/`;
const forwardedCount = async () => Number(await (await fetch(sinkUrl)).text());

const dir = mkdtempSync(join(os.tmpdir(), 'herald-gw-bench-'));
const secret = generateSecret();
const configPath = join(dir, 'gateway.json');
writeFileSync(
  configPath,
  JSON.stringify({
    host: '127.0.0.1',
    port: 0,
    path: '/hooks',
    secrets: [secret],
    inboxPath: join(dir, 'inbox.db'),
    destinations: { sink: { type: 'http', url: sinkUrl } },
    routes: [{ events: [forwarding ? '*' : 'none.such'], to: ['sink'] }],
  }),
);

let server;
let url;
if (values.bare) {
  const bare = await startScript(`
    import { createServer } from 'node:http';
    const s = createServer((req, res) => { req.resume(); req.on('end', () => res.end('{"ok":true}')); });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`);
  server = bare.child;
  url = `http://127.0.0.1:${bare.line}/hooks`;
} else {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  server = spawn(process.execPath, [...profile, CLI, '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    createInterface({ input: server.stdout }).on('line', (line) => {
      const entry = JSON.parse(line);
      if (entry.msg === 'listening') resolve(entry.url);
    });
    server.once('exit', (code) => reject(new Error(`herald-receive exited ${code}`)));
  });
}

const key = parseSecret(secret);
const template = engageExample('point.balance.updated');
let n = 0;
// Signed ahead of time, so signing is not part of what is measured.
function signedRequests(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    n++;
    const body = JSON.stringify({ ...template, eventId: `evt_bench_${n}` });
    const headers = signatureHeaders({ id: `msg_bench_${process.pid}_${n}`, timestamp: Math.floor(Date.now() / 1000), body, secrets: key });
    out.push({ body, headers: { ...headers, 'content-type': 'application/json' } });
  }
  return out;
}

/**
 * An open-loop load generator: request i is due at start + i/rate whatever happened to earlier
 * ones, and its latency counts from when it was due, so a stall is not hidden by the client
 * waiting on it (no coordinated omission). Requests go over a pool of keep-alive connections.
 */
async function run(seconds) {
  const requests = signedRequests(Math.round(seconds * rate));
  const pool = new Pool(new URL(url).origin, { connections, pipelining: 1 });
  const path = new URL(url).pathname;
  const latencies = new Float64Array(requests.length);
  let non2xx = 0;
  let errors = 0;
  const start = performance.now() + 50;
  const inflight = [];
  let next = 0;
  while (next < requests.length) {
    const now = performance.now();
    while (next < requests.length && start + (next * 1000) / rate <= now) {
      const i = next++;
      const due = start + (i * 1000) / rate;
      const { body, headers } = requests[i];
      inflight.push(
        pool.request({ method: 'POST', path, headers, body }).then(
          async (res) => {
            await res.body.dump();
            latencies[i] = performance.now() - due;
            if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
          },
          () => {
            latencies[i] = performance.now() - due;
            errors++;
          },
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const q = (p) => Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(2));
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    requests: requests.length,
    rps: Number((requests.length / elapsed).toFixed(1)),
    non2xx,
    errors,
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: q(1), mean: Number(mean.toFixed(2)) },
  };
}

// CPU time (user + system) of the server process: a figure other load on the machine does not
// inflate, unlike latency.
function cpuMsOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in 10 ms clock ticks
}

// A short warm-up (JIT, SQLite page cache), then the measured run.
await run(3);
const before = cpuMsOf(server.pid);
const result = await run(duration);
const cpuMs = cpuMsOf(server.pid) - before;
const sent = n;
let forwarded = 0;
const deadline = Date.now() + 60_000;
while (forwarding && (forwarded = await forwardedCount()) < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

console.log(
  JSON.stringify(
    {
      server: values.bare
        ? 'bare node:http (harness floor)'
        : forwarding
          ? 'herald-receive, forwarding each event over HTTP'
          : 'herald-receive, no route matches',
      machine: `${os.cpus().length} × ${os.cpus()[0].model}, node ${process.version}`,
      rateTarget: rate,
      connections,
      durationS: duration,
      ...result,
      serverCpuMsPerRequest: Number((cpuMs / result.requests).toFixed(3)),
      loadAverage1m: os.loadavg()[0],
      forwardedOfSent: forwarding ? `${forwarded}/${sent}` : 'n/a',
    },
    null,
    2,
  ),
);
server.kill('SIGTERM');
await once(server, 'exit');
sink.child.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
