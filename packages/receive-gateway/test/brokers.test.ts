// Forwarding to the real local brokers: Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672, NATS
// JetStream 127.0.0.1:4222. Each test uses its own stream/queue/subject and removes it afterwards.
import { rmSync } from 'node:fs';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { generateSecret } from '@herald/receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config.js';
import { startGateway, type Gateway, type GatewayOptions } from '../src/gateway.js';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { envelope, postSigned, startSink, tempDir, uniqueName, waitFor } from './helpers.js';

const REDIS = 'redis://127.0.0.1:6379';
const AMQP = 'amqp://guest:guest@127.0.0.1:5672';
const NATS = '127.0.0.1:4222';

const dir = tempDir();
const secret = generateSecret();
let redis: Redis;
let amqp: ChannelModel;
let nats: NatsConnection;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS);
  amqp = await amqpConnect(AMQP);
  nats = await natsConnect({ servers: NATS });
});
afterAll(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
  redis.disconnect();
  await amqp.close();
  await nats.close();
  rmSync(dir, { recursive: true, force: true });
});

async function gatewayWith(destinations: Record<string, unknown>, routes?: unknown[], options: GatewayOptions = {}): Promise<Gateway> {
  const gateway = await startGateway(
    validateConfig({
      host: '127.0.0.1',
      port: 0,
      secrets: [secret],
      inboxPath: join(dir, `${uniqueName('inbox')}.db`),
      retry: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 1000 },
      destinations,
      routes: routes ?? [{ events: ['*'], to: Object.keys(destinations) }],
    }),
    options,
  );
  cleanups.unshift(() => gateway.close());
  return gateway;
}

async function newQueue(): Promise<string> {
  const queue = uniqueName('herald-gw-q');
  const ch = await amqp.createChannel();
  await ch.assertQueue(queue, { durable: true });
  await ch.close();
  cleanups.push(async () => {
    const c = await amqp.createChannel();
    await c.deleteQueue(queue);
    await c.close();
  });
  return queue;
}

async function queueIds(queue: string, expected: number): Promise<string[]> {
  const ch = await amqp.createChannel();
  const ids: string[] = [];
  try {
    await waitFor(`${expected} messages on ${queue}`, async () => {
      const msg = await ch.get(queue, { noAck: true });
      if (msg) {
        expect(msg.properties.contentType).toBe('application/json');
        // message_id is the webhook id on every attempt, so consumers can dedupe natively.
        expect(msg.properties.messageId).toBe(msg.properties.headers?.['herald-webhook-id']);
        ids.push(String(msg.properties.messageId));
      }
      return ids.length >= expected;
    });
    // Nothing beyond what was expected.
    expect(await ch.get(queue, { noAck: true })).toBe(false);
  } finally {
    await ch.close();
  }
  return ids;
}

async function newJetStream(): Promise<{ stream: string; subject: string }> {
  const stream = uniqueName('HERALD_GW').replace(/[^A-Za-z0-9_-]/g, '_');
  const subject = `herald.gw.${stream}`;
  const jsm = await nats.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [subject] });
  cleanups.push(() => jsm.streams.delete(stream));
  return { stream, subject };
}

async function jetStreamIds(stream: string): Promise<string[]> {
  const jsm = await nats.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    ids.push(String(m.header.get('herald-webhook-id')));
  }
  return ids;
}

async function streamIds(stream: string): Promise<string[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) => fields[fields.indexOf('id') + 1]);
}

describe('forwarding to the real brokers', () => {
  it('Redis Streams, RabbitMQ and NATS JetStream each get every event once, a repeated id once', async () => {
    const stream = uniqueName('herald-gw-stream');
    cleanups.push(() => redis.del(stream));
    const queue = await newQueue();
    const js = await newJetStream();
    const gateway = await gatewayWith({
      redis: { type: 'redis', url: REDIS, stream, maxLen: 1000 },
      rabbit: { type: 'rabbitmq', url: AMQP, exchange: '', routingKey: queue },
      nats: { type: 'nats', servers: [NATS], subject: js.subject },
    });
    const ids = [uniqueName('msg'), uniqueName('msg'), uniqueName('msg')];
    for (const id of ids) expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id })).status).toBe(200);
    expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id: ids[0] })).body).toEqual({ ok: true, duplicate: true });
    await waitFor('all forwards', () => gateway.inbox.deliveries().every((d) => d.status === 'done'));
    expect(gateway.inbox.deliveries()).toHaveLength(9);

    expect((await streamIds(stream)).sort()).toEqual([...ids].sort());
    const [, fields] = (await redis.xrange(stream, '-', '+'))[0];
    expect(JSON.parse(fields[fields.indexOf('body') + 1])).toMatchObject({ eventType: 'point.balance.updated', isEncrypted: false });
    expect((await queueIds(queue, 3)).sort()).toEqual([...ids].sort());
    expect((await jetStreamIds(js.stream)).sort()).toEqual([...ids].sort());
  });

  it('the traceparent a webhook arrived with goes on to HTTP, Redis, RabbitMQ and NATS; none when none came', async () => {
    const stream = uniqueName('herald-gw-stream');
    cleanups.push(() => redis.del(stream));
    const queue = await newQueue();
    const js = await newJetStream();
    const sink = await startSink();
    cleanups.push(() => sink.close());
    const gateway = await gatewayWith({
      http: { type: 'http', url: sink.url },
      redis: { type: 'redis', url: REDIS, stream },
      rabbit: { type: 'rabbitmq', url: AMQP, exchange: '', routingKey: queue },
      nats: { type: 'nats', servers: [NATS], subject: js.subject },
    });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const [traced, plain] = [uniqueName('msg'), uniqueName('msg')];
    expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id: traced, headers: { traceparent } })).status).toBe(200);
    expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id: plain })).status).toBe(200);
    await waitFor('all forwards', () => gateway.inbox.deliveries().length === 8 && gateway.inbox.deliveries().every((d) => d.status === 'done'));

    const byId = <T>(pairs: [string, T][]) => Object.fromEntries(pairs);
    expect(byId(sink.raw.map((r) => [String(r.headers['herald-webhook-id']), r.headers.traceparent]))).toEqual({ [traced]: traceparent, [plain]: undefined });
    const entries = await redis.xrange(stream, '-', '+');
    const field = (f: string[], name: string) => (f.includes(name) ? f[f.indexOf(name) + 1] : undefined);
    expect(byId(entries.map(([, f]) => [field(f, 'id')!, field(f, 'traceparent')]))).toEqual({ [traced]: traceparent, [plain]: undefined });
    const ch = await amqp.createChannel();
    const rabbit: [string, unknown][] = [];
    for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) {
      rabbit.push([String(m.properties.messageId), m.properties.headers?.traceparent]);
    }
    await ch.close();
    expect(byId(rabbit)).toEqual({ [traced]: traceparent, [plain]: undefined });
    const jsm = await nats.jetstreamManager();
    const natsSeen: [string, string][] = [];
    for (const seq of [1, 2]) {
      const m = await jsm.streams.getMessage(js.stream, { seq });
      natsSeen.push([m.header.get('herald-webhook-id'), m.header.get('traceparent')]);
    }
    // NATS reads an absent header as ''.
    expect(byId(natsSeen)).toEqual({ [traced]: traceparent, [plain]: '' });
  });

  it("with a tracer, destinations get the gateway's receive span, a child of the sender's", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const sink = await startSink();
    cleanups.push(() => sink.close());
    const gateway = await gatewayWith({ http: { type: 'http', url: sink.url } }, undefined, { tracer: provider.getTracer('gateway-test') });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { headers: { traceparent } })).status).toBe(200);
    await waitFor('the forward', () => sink.raw.length === 1);
    const [span] = exporter.getFinishedSpans();
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(sink.raw[0]?.headers.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${span?.spanContext().spanId}-01`);
  });

  it('RabbitMQ: an unroutable publish is a failed attempt, retried until a queue exists', async () => {
    const queue = uniqueName('herald-gw-q');
    const gateway = await gatewayWith({ rabbit: { type: 'rabbitmq', url: AMQP, exchange: '', routingKey: queue } });
    const id = uniqueName('msg');
    await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id });
    await waitFor('a recorded failure', () => (gateway.inbox.deliveries()[0]?.attempts ?? 0) >= 2);
    expect(gateway.inbox.deliveries()[0]).toMatchObject({ status: 'pending' });
    expect(gateway.inbox.deliveries()[0].lastError).toMatch(/unroutable/);
    const ch = await amqp.createChannel();
    await ch.assertQueue(queue, { durable: true });
    await ch.close();
    cleanups.push(async () => {
      const c = await amqp.createChannel();
      await c.deleteQueue(queue);
      await c.close();
    });
    await waitFor('delivery once the queue exists', () => gateway.inbox.deliveries()[0]?.status === 'done');
    expect(await queueIds(queue, 1)).toEqual([id]);
  });

  it('NATS: a subject no stream captures is a failed attempt, retried until a stream exists', async () => {
    const subject = `herald.gw.${uniqueName('nostream').replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const gateway = await gatewayWith({ nats: { type: 'nats', servers: [NATS], subject, timeoutMs: 2000 } });
    const id = uniqueName('msg');
    await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id });
    await waitFor('a recorded failure', () => (gateway.inbox.deliveries()[0]?.attempts ?? 0) >= 1);
    expect(gateway.inbox.deliveries()[0].status).toBe('pending');
    expect(gateway.inbox.deliveries()[0].lastError).toBeTruthy();
    const stream = uniqueName('HERALD_GW').replace(/[^A-Za-z0-9_-]/g, '_');
    const jsm = await nats.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [subject] });
    cleanups.push(() => jsm.streams.delete(stream));
    await waitFor('delivery once the stream exists', () => gateway.inbox.deliveries()[0]?.status === 'done');
    expect(await jetStreamIds(stream)).toEqual([id]);
  });

  it('Redis: a refused XADD is a failed attempt, retried until the stream accepts it, then stored once', async () => {
    const stream = uniqueName('herald-gw-wrongtype');
    cleanups.push(() => redis.del(stream));
    // A plain string under the stream's key: the real server refuses XADD with WRONGTYPE.
    await redis.set(stream, 'not a stream');
    const gateway = await gatewayWith({ redis: { type: 'redis', url: REDIS, stream } });
    const id = uniqueName('msg');
    await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id });
    await waitFor('two recorded failures', () => (gateway.inbox.deliveries()[0]?.attempts ?? 0) >= 2);
    expect(gateway.inbox.deliveries()[0].status).toBe('pending');
    expect(gateway.inbox.deliveries()[0].lastError).toMatch(/WRONGTYPE/);
    await redis.del(stream);
    await waitFor('delivery once the key is free', () => gateway.inbox.deliveries()[0]?.status === 'done');
    expect(await streamIds(stream)).toEqual([id]);
  });

  it('Redis: an unreachable server is a failed attempt with the error kept', async () => {
    const gateway = await gatewayWith({ redis: { type: 'redis', url: 'redis://127.0.0.1:1', stream: 'never', timeoutMs: 2000 } });
    await postSigned(gateway.url, JSON.stringify(envelope()), secret);
    await waitFor('two recorded failures', () => (gateway.inbox.deliveries()[0]?.attempts ?? 0) >= 2);
    expect(gateway.inbox.deliveries()[0].status).toBe('pending');
    expect(gateway.inbox.deliveries()[0].lastError).toMatch(/ECONNREFUSED|connect|closed/i);
  });
});

describe('destination isolation', () => {
  it('a destination that never answers holds only its own slots: every event reaches Redis before its first attempt ends', async () => {
    // A black hole: accepts TCP connections and never answers. Its attempts time out only after
    // two minutes, far beyond this test, so an attempt to it that ended would be a failure row.
    const held: Socket[] = [];
    const hole = createTcpServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const holeUrl = `http://127.0.0.1:${(hole.address() as AddressInfo).port}/events`;
    const stream = uniqueName('herald-gw-isolation');
    cleanups.push(() => redis.del(stream));
    const gateway = await gatewayWith({
      fast: { type: 'redis', url: REDIS, stream },
      stuck: { type: 'http', url: holeUrl, timeoutMs: 120_000, concurrency: 4 },
    });
    cleanups.unshift(async () => {
      // Free the held attempts before the gateway closes (it waits for running attempts).
      for (const s of held) s.destroy();
      await new Promise((r) => hole.close(r));
    });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const id = uniqueName('msg');
      ids.push(id);
      expect((await postSigned(gateway.url, JSON.stringify(envelope()), secret, { id })).status).toBe(200);
    }
    await waitFor('every event in Redis', async () => (await redis.xlen(stream)) === ids.length);
    // The marker: not one attempt to the black hole has ended yet (no attempt counted, no error),
    // while it holds exactly its own four slots.
    const stuck = gateway.inbox.deliveries().filter((d) => d.destination === 'stuck');
    expect(stuck).toHaveLength(ids.length);
    expect(stuck.every((d) => d.status === 'pending' && d.attempts === 0 && d.lastError === null)).toBe(true);
    await waitFor('four connections held', () => held.length === 4);
    expect((await streamIds(stream)).sort()).toEqual([...ids].sort());
  });
});
