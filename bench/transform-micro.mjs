// The per-delivery cost of an endpoint transformation, against none: what the dispatcher adds
// before the request (transform/pool.ts and domain/transformation.ts from dist/), without sending.
// Prints the process's CPU (main thread and the sandbox's worker threads together, µs per
// delivery), the event loop's busy time (the main thread's share) and wall time, one delivery at a time and with as many in flight as the pool has
// workers; then where a run's time goes inside QuickJS (fresh runtime and context, evaluating the
// code, calling the handler), measured on this thread.
//
// Usage: npm run build && node bench/transform-micro.mjs [--n 2000] [--workers 2]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import { transformationOf, transformed, webhookInput } from '../packages/server/dist/domain/transformation.js';
import { TransformPool } from '../packages/server/dist/transform/pool.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' }, workers: { type: 'string', default: '2' } } });
const n = Number(values.n);
const workers = Number(values.workers);

const payload = JSON.stringify({
  type: 'contact.updated',
  data: { contactId: 'c-8f2a', email: 'anna@example.se', country: 'SE', points: 120, tags: ['vip', 'newsletter'], consents: { email: true, sms: false } },
});
const headers = { 'x-tenant': 'acme' };
const code = `function handler(webhook) {
  const d = webhook.payload.data;
  webhook.payload = { text: 'Contact ' + d.contactId + ' changed', country: d.country, vip: d.tags.includes('vip') };
  webhook.headers['x-source'] = 'herald';
  return webhook;
}`;

/** What the dispatcher does for one delivery of an endpoint with (or without) a transformation. */
async function prepare(pool, t) {
  const c = transformationOf(t);
  if (c === null) return payload;
  const input = webhookInput('https://example.com/hook', 'contact.updated', payload, headers);
  const a = await pool.run(c, input);
  if (!a.ok) throw new Error(a.error);
  const r = transformed(a.output, input);
  if (r.kind !== 'send') throw new Error(r.kind);
  return r.body;
}

async function measure(pool, t, inFlight) {
  const c0 = process.cpuUsage();
  const e0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) await prepare(pool, t);
    }),
  );
  const cpu = process.cpuUsage(c0);
  const loop = performance.eventLoopUtilization(e0);
  return { cpuUs: (cpu.user + cpu.system) / n, loopUs: (loop.active * 1000) / n, wallUs: ((performance.now() - t0) * 1000) / n };
}

const pool = new TransformPool({ size: workers });
const on = { code, enabled: true, updatedAt: 0 };
await measure(pool, on, workers); // start the workers, warm QuickJS and the JIT
console.log(`node ${process.version}, ${cpus().length} CPUs, ${n} deliveries per case, pool of ${workers} workers`);
for (const [name, t, inFlight] of [
  ['none', null, 1],
  ['simple, 1 at a time', on, 1],
  [`simple, ${workers} in flight`, on, workers],
]) {
  const r = await measure(pool, t, inFlight);
  console.log(
    `${name.padEnd(24)} ${r.cpuUs.toFixed(1).padStart(8)} µs CPU (all threads)   ${r.loopUs.toFixed(1).padStart(7)} µs on the event loop   ${r.wallUs.toFixed(1).padStart(8)} µs wall per delivery`,
  );
}
await pool.close();

// Inside one run (this thread, no worker): which part costs what.
const mod = await newQuickJSWASMModuleFromVariant(variant);
const input = JSON.stringify(webhookInput('https://example.com/hook', 'contact.updated', payload, headers));
const parts = { 'a fresh runtime': 0, 'a fresh context': 0, 'evaluate the code': 0, 'call handler': 0 };
for (let i = 0; i < n; i++) {
  let t = performance.now();
  const rt = mod.newRuntime();
  rt.setMemoryLimit(16 * 1024 * 1024);
  parts['a fresh runtime'] += performance.now() - t;
  t = performance.now();
  const ctx = rt.newContext();
  parts['a fresh context'] += performance.now() - t;
  t = performance.now();
  ctx.unwrapResult(ctx.evalCode(code, 'transformation.js')).dispose();
  parts['evaluate the code'] += performance.now() - t;
  t = performance.now();
  const s = ctx.newString(input);
  ctx.setProp(ctx.global, '__in', s);
  s.dispose();
  const r = ctx.unwrapResult(ctx.evalCode('JSON.stringify(handler(JSON.parse(__in)))', 'call.js'));
  ctx.getString(r);
  r.dispose();
  parts['call handler'] += performance.now() - t;
  t = performance.now();
  ctx.dispose();
  parts['a fresh context'] += performance.now() - t;
  t = performance.now();
  rt.dispose();
  parts['a fresh runtime'] += performance.now() - t;
}
for (const [k, ms] of Object.entries(parts)) console.log(`  ${k.padEnd(22)} ${((ms * 1000) / n).toFixed(1).padStart(8)} µs`);
