// Ingest benchmark: POST /api/v1/app/{app}/msg throughput with durable commits, against a bare
// Fastify route that does no work (the baseline), measured in the same run on the same machine.
//
// "At saturation" is found, not assumed: each server is driven at every connection count of
// --connections, rounds interleaved (baseline, Herald, Herald with keys). A server's saturation
// point is the fewest connections at which its median rate comes within 5% of its best: beyond it,
// more clients only queue. Herald's 202 waits for an fsync, so it needs more requests in flight than
// the bare route to keep its one thread busy; a single fixed count would compare one server at its
// knee with the other below it. The ratio is of the two saturation rates, and the p99 is Herald's
// there. The 64-connection figures are printed too (the fixed count earlier runs used).
//
// --mode filters: Herald against Herald in the same run, one tenant whose two endpoints carry a
// content filter (that matches, so both runs write the same tasks) and one whose endpoints have
// none; prints the cost of filtering as a ratio of the saturation rates and of CPU per request.
// --mode schema: the same with the event type's JSON Schema enforced (`reject`) against not.
// Usage: node bench/ingest.mjs [--rounds 3] [--duration 6] [--connections 32,64,96,128,192] [--mode default|filters|schema]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { cannon, cpuMs, freePort, hostGauge, hostGaugeLine, median, startHerald, startProcess } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '6' },
    connections: { type: 'string', default: '32,64,96,128,192' },
    mode: { type: 'string', default: 'default' },
  },
});
const mode = values.mode;
if (!['default', 'filters', 'schema'].includes(mode)) {
  console.error('usage: --mode default|filters|schema');
  process.exit(2);
}
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const levels = values.connections.split(',').map(Number);
if (!(rounds >= 1 && duration > 0 && levels.length && levels.every((c) => Number.isInteger(c) && c > 0))) {
  console.error('usage: --rounds N (>= 1) --duration S (> 0) --connections a,b,c (positive integers)');
  process.exit(2);
}

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

// Before anything else runs: how fast this host is today, to compare runs across days.
const gauge = hostGauge();
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
// The variant tenant: the same two endpoints, each with a filter that matches every message (so
// both tenants write the same tasks), or the event type's schema enforced.
const variant = mode === 'filters' ? 'bench-filtered' : mode === 'schema' ? 'bench-checked' : null;
let variantBody = body;
if (variant) {
  await api(herald, 'POST', '/api/v1/app', { name: 'Bench variant', uid: variant });
  const filter = {
    'changes.email': { $exist: true },
    tenant: { $in: ['acme', 'globex'] },
    $or: [{ 'changes.acceptsEmail': true }, { 'changes.firstName': { $neq: '' } }],
  };
  let eventType = 'contact.updated';
  if (mode === 'schema') {
    eventType = 'contact.checked';
    const schema = {
      type: 'object',
      required: ['contactId', 'changes', 'tenant'],
      properties: {
        contactId: { type: 'string', format: 'uuid' },
        changes: {
          type: 'object',
          properties: { email: { type: 'string', format: 'email' }, firstName: { type: 'string' }, acceptsEmail: { type: 'boolean' } },
        },
        tenant: { type: 'string' },
      },
    };
    await api(herald, 'POST', '/api/v1/event-type', {
      name: eventType,
      description: 'A contact changed, checked',
      schemas: { 1: schema },
      schemaEnforcement: 'reject',
    });
    variantBody = JSON.stringify({ ...payload, eventType });
  }
  for (const i of [1, 2]) {
    await api(herald, 'POST', `/api/v1/app/${variant}/endpoint`, {
      url: `http://127.0.0.1:9/hook${i}`,
      eventTypes: [eventType],
      ...(mode === 'filters' ? { filter } : {}),
    });
  }
}

const common = {
  method: 'POST',
  body,
  duration,
  headers: { authorization: `Bearer ${herald.token}`, 'content-type': 'application/json' },
};
const servers = variant
  ? {
      herald: { pid: herald.child.pid, url: `${herald.url}/api/v1/app/bench/msg` },
      [mode]: { pid: herald.child.pid, url: `${herald.url}/api/v1/app/${variant}/msg`, body: variantBody },
    }
  : {
      baseline: { pid: baseline.child.pid, url: `http://127.0.0.1:${basePort}/api/v1/app/bench/msg` },
      herald: { pid: herald.child.pid, url: `${herald.url}/api/v1/app/bench/msg` },
      // As the svix SDK sends it: a fresh idempotency-key on every POST.
      heraldIdem: { pid: herald.child.pid, url: `${herald.url}/api/v1/app/bench/msg`, idem: true },
    };
/** results[server][connections] = one summary per round */
const results = Object.fromEntries(Object.keys(servers).map((k) => [k, Object.fromEntries(levels.map((c) => [c, []]))]));
let n = 0;
const setupIdem = (client) => {
  client.setHeaders({ ...common.headers, 'idempotency-key': `auto_${process.pid}_${n++}` });
  client.on('response', () => client.setHeaders({ ...common.headers, 'idempotency-key': `auto_${process.pid}_${n++}` }));
};
for (let i = 0; i < rounds; i++) {
  for (const connections of levels) {
    // In the A/B modes the two alternate which goes first, so warm-up and drift favour neither.
    const order = variant && i % 2 === 1 ? Object.entries(servers).reverse() : Object.entries(servers);
    for (const [k, sv] of order) {
      results[k][connections].push(
        await measure(sv.pid, { ...common, body: sv.body ?? body, connections, url: sv.url, setupClient: sv.idem ? setupIdem : undefined }),
      );
    }
  }
}
await herald.stop();
await baseline.stop();

const med = (k, c, f) => median(results[k][c].map((r) => r[f]));
/** The fewest connections whose median rate is within 5% of the server's best. */
function saturation(k) {
  const best = Math.max(...levels.map((c) => med(k, c, 'rps')));
  return levels.find((c) => med(k, c, 'rps') >= 0.95 * best);
}
const fmt = (k, c) =>
  `rps ${med(k, c, 'rps').toFixed(0).padStart(7)}   cpu ${med(k, c, 'cpuUsPerReq').toFixed(1).padStart(5)} µs/req   p50 ${med(k, c, 'p50').toFixed(1).padStart(5)} ms   p99 ${med(k, c, 'p99').toFixed(1).padStart(6)} ms`;
const errors = (k) =>
  Object.values(results[k])
    .flat()
    .reduce((a, r) => a + r.non2xx + r.errors, 0);
console.log(`ingest benchmark: ${rounds} rounds x ${duration}s at ${levels.join(', ')} connections; body ${body.length} B, 2 matching endpoints`);
console.log(
  `machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(hostGaugeLine(gauge));
for (const k of Object.keys(servers)) {
  console.log(`${k} (non-2xx and errors: ${errors(k)})`);
  for (const c of levels) console.log(`  ${String(c).padStart(4)} connections   ${fmt(k, c)}${c === saturation(k) ? '   <- saturation' : ''}`);
}
const sat = Object.fromEntries(Object.keys(servers).map((k) => [k, saturation(k)]));
if (variant) {
  const what = mode === 'filters' ? 'a content filter on every endpoint' : 'schema enforcement (reject) on the event type';
  const r = med(mode, sat[mode], 'rps') / med('herald', sat.herald, 'rps');
  const cpu = med(mode, sat[mode], 'cpuUsPerReq') / med('herald', sat.herald, 'cpuUsPerReq');
  console.log(
    `${what}: rps ratio ${r.toFixed(3)} (cost ${((1 - r) * 100).toFixed(1)}%), CPU per request ratio ${cpu.toFixed(3)} (at saturation: ${sat[mode]} vs ${sat.herald} connections)`,
  );
  // The same connection count side by side: CPU per request is the steadier figure on a busy host.
  for (const c of levels) {
    console.log(
      `  at ${c} connections: rps ratio ${(med(mode, c, 'rps') / med('herald', c, 'rps')).toFixed(3)}, CPU per request ratio ${(med(mode, c, 'cpuUsPerReq') / med('herald', c, 'cpuUsPerReq')).toFixed(3)}`,
    );
  }
  console.log(JSON.stringify(results));
  process.exit(0);
}
const ratio = (k) => (med(k, sat[k], 'rps') / med('baseline', sat.baseline, 'rps')).toFixed(2);
console.log(
  `at saturation: herald/baseline ${ratio('herald')} (p99 ${med('herald', sat.herald, 'p99')} ms at ${sat.herald} connections); ` +
    `with idempotency keys ${ratio('heraldIdem')} (p99 ${med('heraldIdem', sat.heraldIdem, 'p99')} ms at ${sat.heraldIdem})`,
);
if (levels.includes(64)) {
  console.log(
    `at 64 connections: herald/baseline ${(med('herald', 64, 'rps') / med('baseline', 64, 'rps')).toFixed(2)}; with keys ${(med('heraldIdem', 64, 'rps') / med('baseline', 64, 'rps')).toFixed(2)}`,
  );
}
console.log(JSON.stringify(results));
