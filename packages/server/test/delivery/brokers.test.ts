// Broker destinations delivered by the dispatcher to the real local brokers: RabbitMQ
// (127.0.0.1:5672), Redis (6379) and NATS JetStream (4222). Each message arrives with the
// Standard Webhooks headers of the HTTP delivery, a signature that verifies with the destination's
// secret, and the payload as its body; failures are attempts in the log, retried on the schedule;
// JetStream de-duplicates per destination; the SSRF guard judges broker hosts. Each test uses its
// own queue, stream or subject and removes it afterwards.
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect, type JetStreamManager, type NatsConnection } from 'nats';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, createEventType, sendMessage, startDelivery, uniq, type DeliveryHerald } from './harness.js';
import { until } from '../helpers/wait.js';

const REDIS = 'redis://127.0.0.1:6379';
const AMQP = 'amqp://guest:guest@127.0.0.1:5672';
const NATS = 'nats://127.0.0.1:4222';

let h: DeliveryHerald;
let redis: Redis;
let amqp: ChannelModel;
let nats: NatsConnection;
let jsm: JetStreamManager;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  h = await startDelivery({ env: { HERALD_RETRY_SCHEDULE: '50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms', HERALD_DELIVERY_TIMEOUT: '3s' } });
  redis = new Redis(REDIS);
  amqp = await amqpConnect(AMQP);
  nats = await natsConnect({ servers: NATS });
  jsm = await nats.jetstreamManager();
  await createEventType(h, 'order.paid');
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => undefined);
});
afterAll(async () => {
  await h?.close();
  redis?.disconnect();
  await amqp?.close();
  await nats?.close();
});

async function newQueue(): Promise<string> {
  const queue = uniq('herald-q');
  const ch = await amqp.createChannel();
  await ch.assertQueue(queue, { durable: false, autoDelete: false });
  await ch.close();
  cleanups.push(async () => {
    const c = await amqp.createChannel();
    await c.deleteQueue(queue);
    await c.close();
  });
  return queue;
}

async function newStream(): Promise<string> {
  const subject = uniq('herald-subj').replace(/[^a-zA-Z0-9_-]/g, '_');
  const name = uniq('HERALD_S').replace(/[^a-zA-Z0-9_]/g, '_');
  await jsm.streams.add({ name, subjects: [subject] });
  cleanups.push(() => jsm.streams.delete(name));
  return `${name} ${subject}`;
}

async function destinationOf(appId: string, body: Record<string, unknown>): Promise<{ id: string; secret: string; out: any }> {
  const out = await h.call('POST', `/api/v1/app/${appId}/destination`, 201, body);
  const { key } = await h.call('GET', `/api/v1/app/${appId}/destination/${out.id}/secret`, 200);
  return { id: out.id, secret: key, out };
}

/** The destination's attempts, oldest first. */
async function attempts(appId: string, destId: string): Promise<any[]> {
  const page = await h.call('GET', `/api/v1/app/${appId}/destination/${destId}/attempt?limit=250`, 200);
  return [...page.data].reverse();
}

/** Verifies like any Standard Webhooks receiver: throws unless the signature holds. */
function verify(secret: string, body: string, headers: Record<string, string>): unknown {
  return new Webhook(secret).verify(body, {
    'webhook-id': headers['webhook-id']!,
    'webhook-timestamp': headers['webhook-timestamp']!,
    'webhook-signature': headers['webhook-signature']!,
  });
}

async function setUp(): Promise<string> {
  return (await createApp(h)).id;
}

describe('broker destinations: delivered, signed, acknowledged', () => {
  it('RabbitMQ gets each message on its queue with the webhook headers and a signature that verifies', async () => {
    const appId = await setUp();
    const queue = await newQueue();
    const d = await destinationOf(appId, { type: 'rabbitMq', config: { uri: AMQP, routingKey: queue }, eventTypes: ['order.paid'] });
    const msg = await sendMessage(h, appId, { eventType: 'order.paid', payload: { order: 1 } });
    await sendMessage(h, appId, { eventType: 'order.refunded', payload: { order: 1 } });

    const ch = await amqp.createChannel();
    const got = await until('the message on the queue', async () => (await ch.get(queue, { noAck: true })) || null);
    await ch.close();
    const headers = got.properties.headers as Record<string, string>;
    const body = got.content.toString();
    expect(headers['webhook-id']).toBe(msg.id);
    expect(got.properties.messageId).toBe(msg.id);
    expect(verify(d.secret, body, headers)).toEqual({ order: 1 });
    expect(JSON.parse(body)).toEqual({ order: 1 });

    // The attempt is in the log, as for an endpoint: acknowledged, once; the other event type never went.
    const log = await until('a successful attempt', async () => {
      const a = await attempts(appId, d.id);
      return a.some((x) => x.status === 0) ? a : null;
    });
    expect(log.map((a: any) => [a.msgId, a.status, a.responseStatusCode])).toEqual([[msg.id, 0, 200]]);
    expect(log[0].url).toBe(`amqp://127.0.0.1:5672 routingKey=${queue}`);
    expect(log[0].response).toMatch(/confirmed/);

    // Svix's resend route takes the destination's id: the same message is published again, as a manual attempt.
    await h.call('POST', `/api/v1/app/${appId}/msg/${msg.id}/endpoint/${d.id}/resend`, 202);
    const ch2 = await amqp.createChannel();
    const again = await until('the resent message', async () => (await ch2.get(queue, { noAck: true })) || null);
    await ch2.close();
    expect(again.properties.headers!['webhook-id']).toBe(msg.id);
    await until('the manual attempt', async () => (await attempts(appId, d.id)).some((a) => a.triggerType === 1 && a.status === 0));
  });

  it('Redis Streams gets an entry per message: the webhook headers as fields, then the body', async () => {
    const appId = await setUp();
    const stream = uniq('herald-stream');
    cleanups.push(() => redis.del(stream));
    const d = await destinationOf(appId, { type: 'redisStream', config: { uri: REDIS, stream } });
    const msg = await sendMessage(h, appId, { eventType: 'order.paid', payload: { order: 2 } });

    const [[entryId, fields]] = await until('the stream entry', async () => {
      const e = await redis.xrange(stream, '-', '+');
      return e.length > 0 ? e : null;
    });
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    expect(fields.at(-2)).toBe('body');
    expect(f['webhook-id']).toBe(msg.id);
    expect(verify(d.secret, f.body!, f)).toEqual({ order: 2 });
    const log = await until('a successful attempt', async () => {
      const a = await attempts(appId, d.id);
      return a.some((x) => x.status === 0) ? a : null;
    });
    expect(log[0].response).toBe(`stream ${stream} entry ${entryId}`);
  });

  it('JetStream: two destinations on one stream both get the message (de-dup id <msg>:<destination>), and a repeat is dropped', async () => {
    const appId = await setUp();
    const [name, subject] = (await newStream()).split(' ') as [string, string];
    const a = await destinationOf(appId, { type: 'natsJetStream', config: { servers: [NATS], subject } });
    const b = await destinationOf(appId, { type: 'natsJetStream', config: { uri: NATS, subject } });
    const msg = await sendMessage(h, appId, { eventType: 'order.paid', payload: { order: 3 } });

    await until('two messages in the stream', async () => (await jsm.streams.info(name)).state.messages === 2);
    const ids: string[] = [];
    for (const seq of [1, 2]) {
      const m = await jsm.streams.getMessage(name, { seq });
      const hdr = Object.fromEntries([...m.header.keys()].map((k) => [k, m.header.get(k)]));
      ids.push(hdr['Nats-Msg-Id']!);
      const secret = hdr['Nats-Msg-Id'] === `${msg.id}:${a.id}` ? a.secret : b.secret;
      expect(verify(secret, m.string(), hdr)).toEqual({ order: 3 });
      expect(hdr['webhook-id']).toBe(msg.id);
    }
    expect(ids.sort()).toEqual([`${msg.id}:${a.id}`, `${msg.id}:${b.id}`].sort());

    // A repeat publish of the same message to the same destination carries the same id: the stream keeps one.
    await until('both acknowledged', async () => (await attempts(appId, a.id)).length === 1 && (await attempts(appId, b.id)).length === 1);
    const js = nats.jetstream();
    const again = await js.publish(subject, new TextEncoder().encode('{}'), { msgID: `${msg.id}:${a.id}` });
    expect(again.duplicate).toBe(true);
    expect((await jsm.streams.info(name)).state.messages).toBe(2);
  });
});

describe('broker destinations: failures retry on the schedule', () => {
  it('an unroutable RabbitMQ publish is a failed attempt, retried until a queue is bound, then delivered', async () => {
    const appId = await setUp();
    const queue = uniq('herald-late-q');
    const d = await destinationOf(appId, { type: 'rabbitMq', config: { uri: AMQP, routingKey: queue } });
    const msg = await sendMessage(h, appId, { eventType: 'order.paid', payload: { order: 4 } });
    const failed = await until('two failed attempts', async () => {
      const a = await attempts(appId, d.id);
      return a.filter((x) => x.status === 2).length >= 2 ? a : null;
    });
    expect(failed[0]).toMatchObject({ msgId: msg.id, responseStatusCode: 0 });
    expect(failed[0].response).toMatch(/unroutable/);

    const ch = await amqp.createChannel();
    await ch.assertQueue(queue, { durable: false });
    cleanups.push(async () => {
      const c = await amqp.createChannel();
      await c.deleteQueue(queue);
      await c.close();
    });
    const got = await until('the message once a queue is bound', async () => (await ch.get(queue, { noAck: true })) || null);
    await ch.close();
    expect(got.properties.headers!['webhook-id']).toBe(msg.id);
    await until('a successful attempt after the failures', async () => (await attempts(appId, d.id)).at(-1)?.status === 0);
  });

  it('Redis down: attempts fail with the connection error, and the message arrives once Redis is back', async () => {
    const appId = await setUp();
    const stream = uniq('herald-down');
    cleanups.push(() => redis.del(stream));
    // A relay in front of the real Redis, closed while "down".
    const proxy = new Relay(6379);
    const port = await proxy.listen(0);
    await proxy.close();
    const d = await destinationOf(appId, { type: 'redisStream', config: { uri: `redis://127.0.0.1:${port}`, stream } });
    await sendMessage(h, appId, { eventType: 'order.paid', payload: { order: 5 } });
    const failed = await until('a failed attempt', async () => (await attempts(appId, d.id)).find((x) => x.status === 2));
    expect(failed.responseStatusCode).toBe(0);
    expect(failed.response).toMatch(/XADD|ECONNREFUSED|connect/i);
    expect(await redis.exists(stream)).toBe(0);

    await proxy.listen(port);
    cleanups.push(() => proxy.close());
    await until('the entry once Redis is back', async () => (await redis.xlen(stream)) === 1, 20_000);
    await until('a successful attempt', async () => (await attempts(appId, d.id)).at(-1)?.status === 0, 20_000);
  });

  it('a JetStream subject no stream captures is a failed attempt until a stream exists', async () => {
    const appId = await setUp();
    const subject = uniq('herald-nostream').replace(/[^a-zA-Z0-9_-]/g, '_');
    const d = await destinationOf(appId, { type: 'natsJetStream', config: { servers: [NATS], subject } });
    await sendMessage(h, appId, { eventType: 'order.paid', payload: { order: 6 } });
    await until('a failed attempt', async () => (await attempts(appId, d.id)).some((x) => x.status === 2));
    const name = uniq('HERALD_LATE').replace(/[^a-zA-Z0-9_]/g, '_');
    await jsm.streams.add({ name, subjects: [subject] });
    cleanups.push(() => jsm.streams.delete(name));
    await until('the message in the stream', async () => (await jsm.streams.info(name)).state.messages === 1);
  });
});

describe('broker destinations: the SSRF guard', () => {
  it('refuses a loopback broker when loopback is not allowed: the attempt fails, nothing is published', async () => {
    const strict = await startDelivery({ env: { HERALD_SSRF_ALLOWLIST: '', HERALD_RETRY_SCHEDULE: 'none' } });
    try {
      const app = await createApp(strict);
      const stream = uniq('herald-ssrf');
      // An IP literal is refused at creation (destination-brokers.test.ts); a name is judged as it resolves, at delivery.
      await strict.call('POST', `/api/v1/app/${app.id}/destination`, 422, { type: 'redisStream', config: { uri: REDIS, stream } });
      const dest = await strict.call('POST', `/api/v1/app/${app.id}/destination`, 201, {
        type: 'redisStream',
        config: { uri: 'redis://localhost:6379', stream },
      });
      await sendMessage(strict, app.id, { eventType: 'order.paid', payload: {} });
      const a = await until('the refused attempt', async () => (await strict.call('GET', `/api/v1/app/${app.id}/destination/${dest.id}/attempt`, 200)).data[0]);
      expect(a.status).toBe(2);
      expect(a.response).toMatch(/not a globally routable address/);
      expect(await redis.exists(stream)).toBe(0);
    } finally {
      await strict.close();
    }
  });
});

/** A TCP relay to a local port that can be closed and reopened on the same port. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly target: number) {}
  listen(port: number): Promise<number> {
    const server = createServer((client) => {
      const s = tcpConnect(this.target, '127.0.0.1');
      client.pipe(s).pipe(client);
      for (const x of [client, s]) {
        this.sockets.add(x);
        x.on('error', () => undefined);
        x.on('close', () => this.sockets.delete(x));
      }
    });
    this.server = server;
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const s = this.server;
    this.server = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
