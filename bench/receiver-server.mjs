// The webhook receiver for the delivery benchmark: a plain node:http server on loopback that
// answers every POST with 200 (after a delay for paths /delay-<ms>…) and counts what arrived. Run with an IPC channel (child_process.fork,
// serialization 'advanced'); the parent reads counts and arrival times over it, so measuring adds
// no HTTP traffic. Arrival times are process.hrtime.bigint() (CLOCK_MONOTONIC, the same clock in
// every process on Linux), keyed by the svix-id header.
import { createServer } from 'node:http';

let count = 0;
const byPath = new Map();
/** svix-id -> arrival time (ns), only while recording. */
let arrivals = null;
let pushTimer = null;

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const t = process.hrtime.bigint();
  if (arrivals !== null) {
    const id = req.headers['svix-id'];
    // Keep the first arrival: a redelivery (lease lost) must not move the time forward.
    if (typeof id === 'string' && !arrivals.has(id)) arrivals.set(id, t);
  }
  count++;
  byPath.set(req.url, (byPath.get(req.url) ?? 0) + 1);
  req.resume();
  // A path that starts with /delay-<ms> is answered that long after the request has arrived.
  const delay = Number(/^\/delay-(\d+)/.exec(req.url)?.[1] ?? 0);
  req.on('end', () => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
});
server.headersTimeout = 60_000;
server.requestTimeout = 0;

server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port });
});

process.on('message', (m) => {
  switch (m.cmd) {
    case 'stats':
      process.send({ type: 'stats', id: m.id, count, paths: byPath.size, byPath: m.byPath ? Object.fromEntries(byPath) : undefined });
      break;
    case 'reset':
      count = 0;
      byPath.clear();
      process.send({ type: 'stats', id: m.id, count, paths: 0 });
      break;
    case 'record':
      arrivals = m.on ? new Map() : null;
      process.send({ type: 'ok', id: m.id });
      break;
    case 'arrivals':
      process.send({ type: 'arrivals', id: m.id, arrivals: arrivals ? [...arrivals] : [] });
      break;
    case 'push':
      // Frequent count updates for the load client's flow control (relayed by the parent).
      clearInterval(pushTimer);
      pushTimer = m.everyMs ? setInterval(() => process.send({ type: 'count', count }), m.everyMs) : null;
      process.send({ type: 'ok', id: m.id });
      break;
    case 'exit':
      process.exit(0);
  }
});
// If the parent dies, so do we: never leave a listener behind.
process.on('disconnect', () => process.exit(0));
