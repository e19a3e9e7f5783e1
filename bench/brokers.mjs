// Broker destinations benchmark: how fast `herald serve` (SQLite) delivers a backlog to one broker
// destination of each type on the local brokers (RabbitMQ 5672, Redis 6379, NATS JetStream 4222),
// every delivery signed, published and acknowledged (publisher confirm, XADD reply, PubAck) and
// its attempt recorded, against the same backlog to an HTTP endpoint on a loopback receiver.
// Each type gets its own application; N messages are sent 100 at a time and the clock stops when
// the broker (or the receiver) holds all N: ingest and delivery overlap, as in production.
// Usage: node bench/brokers.mjs [--messages 5000]. Build first (`npm run build`).
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect } from 'nats';
import { startHerald } from './lib.mjs';

const { values: opt } = parseArgs({ options: { messages: { type: 'string', default: '5000' } } });
const N = Number(opt.messages);
const tag = `${Date.now()}`;

const herald = await startHerald({ HERALD_RETRY_SCHEDULE: '1s' });
const api = async (method, path, body) => {
  const r = await fetch(`${herald.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${herald.token}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? undefined : r.json();
};

const redis = new Redis('redis://127.0.0.1:6379');
const amqp = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
const ch = await amqp.createChannel();
const nats = await natsConnect({ servers: '127.0.0.1:4222' });
const jsm = await nats.jetstreamManager();

let received = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(204).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));

const queue = `herald-bench-${tag}`;
await ch.assertQueue(queue, { durable: false });
const stream = `herald-bench-${tag}`;
const subject = `herald-bench-${tag}`;
const jsName = `HERALD_BENCH_${tag}`;
await jsm.streams.add({ name: jsName, subjects: [subject] });

const CASES = [
  ['http', { url: `http://127.0.0.1:${receiver.address().port}/hook` }, async () => received],
  [
    'rabbitMq',
    { type: 'rabbitMq', config: { uri: 'amqp://guest:guest@127.0.0.1:5672', routingKey: queue } },
    async () => (await ch.checkQueue(queue)).messageCount,
  ],
  ['redisStream', { type: 'redisStream', config: { uri: 'redis://127.0.0.1:6379', stream } }, () => redis.xlen(stream)],
  [
    'natsJetStream',
    { type: 'natsJetStream', config: { servers: ['nats://127.0.0.1:4222'], subject } },
    async () => (await jsm.streams.info(jsName)).state.messages,
  ],
];

try {
  // Warm-up (JIT, the store's first writes), not reported.
  const warm = (await api('POST', '/api/v1/app', { name: 'bench-warm-up' })).id;
  for (let i = 0; i < 1000; i += 100)
    await Promise.all(Array.from({ length: 100 }, () => api('POST', `/api/v1/app/${warm}/msg`, { eventType: 'bench.event', payload: {} })));
  for (const [name, body, count] of CASES) {
    const app = (await api('POST', '/api/v1/app', { name: `bench-${name}` })).id;
    if (name === 'http') await api('POST', `/api/v1/app/${app}/endpoint`, body);
    else await api('POST', `/api/v1/app/${app}/destination`, body);
    const before = await count();
    const t0 = performance.now();
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, N - i) }, (_, k) =>
          api('POST', `/api/v1/app/${app}/msg`, { eventType: 'bench.event', payload: { i: i + k, pad: 'x'.repeat(200) } }),
        ),
      );
    }
    const accepted = performance.now();
    while ((await count()) - before < N) await new Promise((r) => setTimeout(r, 20));
    const done = performance.now();
    console.log(
      `${name.padEnd(14)} ${N} messages: accepted in ${((accepted - t0) / 1000).toFixed(2)} s, all acknowledged after ${((done - t0) / 1000).toFixed(2)} s = ${(N / ((done - t0) / 1000)).toFixed(0)} deliveries/s (ingest and delivery overlapping)`,
    );
  }
} finally {
  await ch.deleteQueue(queue).catch(() => undefined);
  await redis.del(stream);
  await jsm.streams.delete(jsName).catch(() => undefined);
  await amqp.close();
  redis.disconnect();
  await nats.close();
  receiver.close();
  await herald.stop();
}
