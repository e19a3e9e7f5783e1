// Polling endpoints through the official `svix` SDK against a real Herald (child process, real
// HTTP): `destination.create/list/get/patch/delete` and `message.poller.poll/consumerPoll/
// consumerSeek` must work unchanged, and a portal token's client reaches only its application.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as amqpConnect } from 'amqplib';
import { ApiException, Svix } from 'svix';
import { Webhook } from 'standardwebhooks';
import { unique } from './helpers/fixtures.js';
import { startHerald, type HeraldProcess } from './helpers/herald-process.js';

let herald: HeraldProcess;
let svix: Svix;

beforeAll(async () => {
  herald = await startHerald();
  svix = new Svix(herald.token, { serverUrl: herald.url });
});

afterAll(async () => {
  await herald?.stop();
});

describe('svix SDK: destinations and the message poller', () => {
  it('creates a polling endpoint, reads its messages page by page, and keeps a consumer position', async () => {
    const app = await svix.application.create({ name: 'pull' });
    await svix.eventType.create({ name: 'order.paid', description: 'paid' });
    const dest = await svix.destination.create(app.id, { type: 'pollingEndpoint', uid: 'pull-sdk', eventTypes: ['order.paid'] });
    expect(dest.type).toBe('pollingEndpoint');
    expect(dest.id).toMatch(/^dest_/);
    expect(dest.createdAt).toBeInstanceOf(Date);
    expect((await svix.destination.get(app.id, 'pull-sdk')).id).toBe(dest.id);
    expect((await svix.destination.list(app.id)).data.map((d) => d.id)).toEqual([dest.id]);

    const sent: string[] = [];
    for (let n = 0; n < 3; n++) sent.push((await svix.message.create(app.id, { eventType: 'order.paid', payload: { n } })).id);
    await svix.message.create(app.id, { eventType: 'order.refunded', payload: {} });

    // Messages become readable once settled: poll until all three are there.
    await expect.poll(async () => (await svix.message.poller.poll(app.id, dest.id)).data.length, { timeout: 10_000 }).toBe(3);
    const first = await svix.message.poller.poll(app.id, dest.id, { limit: 2 });
    expect(first.data.map((m) => m.id)).toEqual(sent.slice(0, 2));
    expect(first.data[0]!.payload).toEqual({ n: 0 });
    expect(first.data[0]!.timestamp).toBeInstanceOf(Date);
    const rest = await svix.message.poller.poll(app.id, dest.id, { iterator: first.iterator });
    expect(rest.data.map((m) => m.id)).toEqual([sent[2]]);
    expect(rest.done).toBe(true);

    const c1 = await svix.message.poller.consumerPoll(app.id, dest.id, 'worker');
    expect(c1.data.map((m) => m.id)).toEqual(sent);
    expect((await svix.message.poller.consumerPoll(app.id, dest.id, 'worker')).data).toEqual([]);
    const seek = await svix.message.poller.consumerSeek(app.id, dest.id, 'worker', { after: new Date(0) });
    expect(typeof seek.iterator).toBe('string');
    expect((await svix.message.poller.consumerPoll(app.id, dest.id, 'worker')).data.map((m) => m.id)).toEqual(sent);

    // `after` starts a read at a time; never before the endpoint's creation.
    expect((await svix.message.poller.poll(app.id, dest.id, { after: new Date(0) })).data.map((m) => m.id)).toEqual(sent);
    expect((await svix.message.poller.poll(app.id, dest.id, { eventType: 'order.refunded' })).data).toEqual([]);

    const upserted = await svix.destination.upsert(app.id, 'pull-sdk-2', { type: 'pollingEndpoint', metadata: { by: 'upsert' } });
    expect(upserted).toMatchObject({ uid: 'pull-sdk-2', metadata: { by: 'upsert' } });
    const patched = await svix.destination.patch(app.id, dest.id, { type: 'pollingEndpoint', status: 'disabled' } as never);
    expect(patched.status).toBe('disabled');
    await svix.destination.delete(app.id, dest.id);
    const gone = await svix.destination.get(app.id, dest.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ApiException);
    expect((gone as ApiException<unknown>).code).toBe(404);
  });

  it("a portal token's client reaches only its own application's destinations", async () => {
    const mine = await svix.application.create({ name: 'mine' });
    const theirs = await svix.application.create({ name: 'theirs' });
    const theirDest = await svix.destination.create(theirs.id, { type: 'pollingEndpoint' });
    const { token } = await svix.authentication.appPortalAccess(mine.id, {});
    const portal = new Svix(token, { serverUrl: herald.url });
    const own = await portal.destination.create(mine.id, { type: 'pollingEndpoint' });
    expect((await portal.message.poller.poll(mine.id, own.id)).data).toEqual([]);
    for (const call of [
      () => portal.destination.list(theirs.id),
      () => portal.destination.get(theirs.id, theirDest.id),
      () => portal.message.poller.poll(theirs.id, theirDest.id),
      () => portal.message.poller.consumerPoll(theirs.id, theirDest.id, 'x'),
    ]) {
      const e = await call().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ApiException);
      expect((e as ApiException<unknown>).code).toBe(403);
    }
  });

  it("creates a rabbitMq destination in Svix's shape that `herald serve` publishes to; list and get still parse with Herald's own types in the app", async () => {
    const app = await svix.application.create({ name: 'brokers' });
    const amqp = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
    const queue = unique('herald-sdk-q');
    const ch = await amqp.createChannel();
    await ch.assertQueue(queue, { durable: false });
    try {
      const rabbit = await svix.destination.create(app.id, { type: 'rabbitMq', config: { uri: 'amqp://guest:guest@127.0.0.1:5672', routingKey: queue } });
      expect(rabbit.type).toBe('rabbitMq');
      // Herald's own type, created over plain HTTP as a non-SDK client would.
      const r = await fetch(`${herald.url}/api/v1/app/${app.id}/destination`, {
        method: 'POST',
        headers: { authorization: `Bearer ${herald.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'redisStream', config: { uri: 'redis://127.0.0.1:6379', stream: unique('herald-sdk-s') } }),
      });
      expect(r.status).toBe(201);
      const poll = await svix.destination.create(app.id, { type: 'pollingEndpoint' });
      const listed = await svix.destination.list(app.id);
      expect(listed.data.map((d) => d.id).sort()).toEqual([rabbit.id, poll.id].sort());
      const got = await svix.destination.get(app.id, rabbit.id);
      expect(got.type === 'rabbitMq' && got.config).toEqual({ routingKey: queue });

      const msg = await svix.message.create(app.id, { eventType: 'order.paid', payload: { via: 'rabbit' } });
      let delivered: Awaited<ReturnType<typeof ch.get>> = false;
      await expect.poll(async () => (delivered = await ch.get(queue, { noAck: true })) !== false, { timeout: 10_000 }).toBe(true);
      if (!delivered) throw new Error('no message');
      const headers = (delivered as { properties: { headers: Record<string, string> } }).properties.headers;
      const secret = (await (
        await fetch(`${herald.url}/api/v1/app/${app.id}/destination/${rabbit.id}/secret`, { headers: { authorization: `Bearer ${herald.token}` } })
      ).json()) as { key: string };
      expect(headers['webhook-id']).toBe(msg.id);
      expect(new Webhook(secret.key).verify((delivered as { content: Buffer }).content.toString(), headers)).toEqual({ via: 'rabbit' });
    } finally {
      await ch.deleteQueue(queue);
      await amqp.close();
    }
  });
});
