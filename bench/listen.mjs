// `herald listen` benchmark: how fast messages reach a local receiver through a polling endpoint,
// and how long each takes from its 202 to its arrival. Every process is separate, all on
// 127.0.0.1: `herald serve` (SQLite), a receiver, and `herald listen` forwarding to it. The
// latency includes the poller's settle delay (a message is readable 1 s after it was accepted).
// Usage: node bench/listen.mjs [--messages 2000] [--latency 100]
//   --messages N   a backlog of N messages sent first, then drained: messages/s at the receiver
//   --latency N    N messages sent one every 50 ms: p50/p95 of 202 -> arrival
// Build first (`npm run build`).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { ROOT, startHerald } from './lib.mjs';

const { values: opt } = parseArgs({ options: { messages: { type: 'string', default: '2000' }, latency: { type: 'string', default: '100' } } });
const backlog = Number(opt.messages);
const latencyN = Number(opt.latency);

const arrived = new Map();
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    arrived.set(req.headers['svix-id'], performance.now());
    res.writeHead(204).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const target = `http://127.0.0.1:${receiver.address().port}/hook`;

const herald = await startHerald();
const api = (method, path, body) =>
  fetch(`${herald.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${herald.token}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  }).then((r) => r.json());

const app = (await api('POST', '/api/v1/app', { name: 'bench-listen' })).id;
const listen = spawn(process.execPath, ['packages/server/dist/cli/main.js', 'listen', target, '--app', app, '--server', herald.url, '--token', herald.token], {
  cwd: ROOT,
  env: { ...process.env, HERALD_DATA_DIR: herald.dataDir },
  stdio: ['ignore', 'ignore', 'pipe'],
});
await new Promise((r) => setTimeout(r, 1500));

const until = async (pred) => {
  while (!pred()) await new Promise((r) => setTimeout(r, 20));
};

// Backlog: send everything, then time the drain from the first arrival to the last.
const ids = [];
for (let i = 0; i < backlog; i += 50) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(50, backlog - i) }, (_, k) => api('POST', `/api/v1/app/${app}/msg`, { eventType: 'bench.event', payload: { i: i + k } })),
  );
  ids.push(...batch.map((m) => m.id));
}
await until(() => ids.every((id) => arrived.has(id)));
const times = ids.map((id) => arrived.get(id)).sort((a, b) => a - b);
const drainS = (times.at(-1) - times[0]) / 1000;
console.log(`backlog: ${backlog} messages drained through herald listen in ${drainS.toFixed(2)} s = ${(backlog / drainS).toFixed(0)} messages/s`);

// Latency: one message every 50 ms, 202 -> arrival.
const sentAt = new Map();
for (let i = 0; i < latencyN; i++) {
  const t = performance.now();
  const m = await api('POST', `/api/v1/app/${app}/msg`, { eventType: 'bench.event', payload: { i } });
  sentAt.set(m.id, t);
  await new Promise((r) => setTimeout(r, 50));
}
await until(() => [...sentAt.keys()].every((id) => arrived.has(id)));
const lat = [...sentAt].map(([id, t]) => arrived.get(id) - t).sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)];
console.log(`latency: ${latencyN} messages at 20/s, 202 -> arrival p50 ${pct(50).toFixed(0)} ms, p95 ${pct(95).toFixed(0)} ms (includes the 1 s settle delay)`);

listen.kill('SIGINT');
await new Promise((r) => listen.once('exit', r));
await herald.stop();
receiver.close();
