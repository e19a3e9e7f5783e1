// Ingest benchmark: POST /api/v1/app/{app}/msg throughput with durable commits, against a bare
// Fastify route that does no work (the baseline), measured in the same run on the same machine.
// Usage: node bench/ingest.mjs [--rounds 3] [--duration 10] [--connections 64]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { cannon, cpuMs, freePort, median, startHerald, startProcess } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const connections = Number(values.connections);

const payload = {
  eventId: undefined,
  eventType: 'contact.updated',
  payload: {
    contactId: '4f6a1c9e-3f0b-4a51-9d0e-8f5c2a7b1e20',
    changes: { email: 'anna@example.com', firstName: 'Anna', acceptsEmail: true },
    tenant: 'acme',
  },
};
const body = JSON.stringify(payload);

async function api(h, method, path, b) {
  const r = await fetch(`${h.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
    body: b ? JSON.stringify(b) : undefined,
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

function summary(r, cpu) {
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    total: r.requests.total,
    // Server CPU per request: steadier than rps on a shared, noisy machine.
    cpuUsPerReq: (cpu * 1000) / Math.max(1, r.requests.total),
  };
}

async function measure(pid, opts) {
  const before = cpuMs(pid);
  const r = await cannon(opts);
  return summary(r, cpuMs(pid) - before);
}

const basePort = await freePort();
const baseline = await startProcess(['bench/baseline-server.mjs'], { PORT: String(basePort) }, `http://127.0.0.1:${basePort}/`);
// The API alone: deliveries are the delivery benchmark's business (bench/deliver.mjs).
const herald = await startHerald({}, ['--no-dispatch']);
await api(herald, 'POST', '/api/v1/app', { name: 'Bench tenant', uid: 'bench' });
await api(herald, 'POST', '/api/v1/event-type', { name: 'contact.updated', description: 'A contact changed' });
// Two matching endpoints, so every message also writes two delivery tasks in its commit.
for (const i of [1, 2]) {
  await api(herald, 'POST', '/api/v1/app/bench/endpoint', { url: `http://127.0.0.1:9/hook${i}`, eventTypes: ['contact.updated'] });
}

const common = {
  method: 'POST',
  body,
  connections,
  duration,
  headers: { authorization: `Bearer ${herald.token}`, 'content-type': 'application/json' },
};
const results = { baseline: [], herald: [], heraldIdem: [] };
let n = 0;
for (let i = 0; i < rounds; i++) {
  results.baseline.push(await measure(baseline.child.pid, { ...common, url: `http://127.0.0.1:${basePort}/api/v1/app/bench/msg` }));
  results.herald.push(await measure(herald.child.pid, { ...common, url: `${herald.url}/api/v1/app/bench/msg` }));
  // As the svix SDK sends it: a fresh idempotency-key on every POST.
  results.heraldIdem.push(
      await measure(herald.child.pid, {
        ...common,
        url: `${herald.url}/api/v1/app/bench/msg`,
        setupClient: (client) => {
          client.setHeaders({ ...common.headers, 'idempotency-key': `auto_${process.pid}_${n++}` });
          client.on('response', () => client.setHeaders({ ...common.headers, 'idempotency-key': `auto_${process.pid}_${n++}` }));
        },
      }),
  );
}
await herald.stop();
await baseline.stop();

const med = (k, f) => median(results[k].map((r) => r[f]));
const line = (k) =>
  `${k.padEnd(11)} rps ${med(k, 'rps').toFixed(0).padStart(7)}   cpu ${med(k, 'cpuUsPerReq').toFixed(1).padStart(5)} µs/req   p50 ${med(k, 'p50').toFixed(1).padStart(5)} ms   p99 ${med(k, 'p99').toFixed(1).padStart(6)} ms   non-2xx ${results[k].reduce((a, r) => a + r.non2xx, 0)}   errors ${results[k].reduce((a, r) => a + r.errors, 0)}`;
console.log(`ingest benchmark: ${rounds} rounds x ${duration}s, ${connections} connections, body ${body.length} B, 2 matching endpoints`);
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
console.log(line('baseline'));
console.log(line('herald'));
console.log(line('heraldIdem'));
console.log(`ratio herald/baseline: ${(med('herald', 'rps') / med('baseline', 'rps')).toFixed(2)}; with idempotency keys: ${(med('heraldIdem', 'rps') / med('baseline', 'rps')).toFixed(2)}`);
console.log(`cpu ratio baseline/herald: ${(med('baseline', 'cpuUsPerReq') / med('herald', 'cpuUsPerReq')).toFixed(2)}`);
console.log(JSON.stringify(results));
