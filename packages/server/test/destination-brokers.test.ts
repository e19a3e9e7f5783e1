// Broker destinations through the API (no broker is contacted here; delivery is in
// delivery/brokers.test.ts): each type's config checked with a 422 naming the field, connection
// secrets sealed and never in an answer, Herald's own types listed only when asked, the endpoint row
// a broker destination is delivered through invisible to the endpoint routes, and updates and
// deletes carried to it.
import { describe, expect, it } from 'vitest';
import { createApp, sendMessage, tasksOf } from './helpers/fixtures.js';
import { useInProcess } from './helpers/inproc.js';

const CREDS = `-----BEGIN NATS USER JWT-----
eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQUJDIn0.c2ln
------END NATS USER JWT------

-----BEGIN USER NKEY SEED-----
SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4
------END USER NKEY SEED------
`;

describe('broker destinations through the API', () => {
  const h = useInProcess();
  const post = (app: string, body: Record<string, unknown>) => h().inject('POST', `/api/v1/app/${app}/destination`, { body });

  it("checks each type's config and answers 422 naming the field", async () => {
    const app = (await createApp(h())).id;
    const cases: [Record<string, unknown>, (string | number)[]][] = [
      [{ type: 'rabbitMq' }, ['body', 'config']],
      [{ type: 'rabbitMq', config: { uri: 'http://x', routingKey: 'q' } }, ['body', 'config', 'uri']],
      [{ type: 'rabbitMq', config: { uri: 'amqp://h', routingKey: '' } }, ['body', 'config', 'routingKey']],
      [{ type: 'rabbitMq', config: { uri: 'amqp://h', routingKey: 'q', exchange: 'x' } }, ['body', 'config', 'exchange']],
      [{ type: 'redisStream', config: { uri: 'redis://h', stream: 's', maxLen: 0 } }, ['body', 'config', 'maxLen']],
      [{ type: 'redisStream', config: { uri: 'not a uri', stream: 's' } }, ['body', 'config', 'uri']],
      [{ type: 'natsJetStream', config: { servers: [], subject: 's' } }, ['body', 'config', 'servers']],
      [{ type: 'natsJetStream', config: { servers: ['nats://h', 'amqp://h'], subject: 's' } }, ['body', 'config', 'servers', 1]],
      [{ type: 'natsJetStream', config: { servers: ['nats://h'], subject: 'a.*' } }, ['body', 'config', 'subject']],
      [{ type: 'natsJetStream', config: { servers: ['nats://h'], subject: 'a', credentials: 'hunter2' } }, ['body', 'config', 'credentials']],
      [{ type: 'redisStream', config: { uri: 'redis://h', stream: 's' }, leaseSecs: 60 }, ['body', 'leaseSecs']],
    ];
    for (const [body, loc] of cases) {
      const r = await post(app, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.json.detail[0].loc, JSON.stringify(body)).toEqual(loc);
    }
    expect((await post(app, { type: 'kafka', config: {} })).status).toBe(422);

    // A private IP literal is refused at once, as for endpoint URLs (names are judged as they resolve).
    const ssrf = await post(app, { type: 'natsJetStream', config: { servers: ['nats://127.0.0.1:4222', 'nats://10.1.2.3:4222'], subject: 's' } });
    expect(ssrf.status).toBe(422);
    expect(ssrf.json.detail[0]).toMatchObject({ loc: ['body', 'config', 'servers', 1], type: 'value_error.url.ssrf' });
    expect((await post(app, { type: 'rabbitMq', config: { uri: 'amqp://u:p@[fd00::1]:5672', routingKey: 'q' } })).json.detail[0].loc).toEqual([
      'body',
      'config',
      'uri',
    ]);
  });

  it('seals the connection settings: answers show redacted URIs and `credentialsSet`, never a password, token or credentials', async () => {
    const app = (await createApp(h())).id;
    const rabbit = await post(app, { type: 'rabbitMq', config: { uri: 'amqps://herald:s3cret-amqp@rabbit.example.com:5671/prod', routingKey: 'orders' } });
    expect(rabbit.status, rabbit.text).toBe(201);
    expect(rabbit.json.config).toEqual({ uri: 'amqps://rabbit.example.com:5671/prod', routingKey: 'orders' });
    const redis = await post(app, { type: 'redisStream', config: { uri: 'rediss://:s3cret-redis@redis.example.com:6380/2', stream: 'events', maxLen: 1000 } });
    expect(redis.json.config).toEqual({ uri: 'rediss://redis.example.com:6380/2', stream: 'events', maxLen: 1000 });
    const nats = await post(app, {
      type: 'natsJetStream',
      config: { uri: 'nats://tok3n-nats@nats.example.com:4222', subject: 'herald.events', credentials: CREDS },
    });
    expect(nats.json.config).toEqual({ servers: ['nats://nats.example.com:4222'], subject: 'herald.events', credentialsSet: true });

    const answers = [
      rabbit.text,
      redis.text,
      nats.text,
      (await h().inject('GET', `/api/v1/app/${app}/destination?include_herald_types=true`)).text,
      (await h().inject('GET', `/api/v1/app/${app}/destination/${nats.json.id}`)).text,
    ];
    for (const text of answers) for (const secret of ['s3cret', 'tok3n', 'NKEY SEED', 'SUAIBDP', 'whsec_']) expect(text).not.toContain(secret);

    // Sent back as shown, the URI keeps the stored one, and left-out credentials stay set.
    const patched = await h().inject('PATCH', `/api/v1/app/${app}/destination/${nats.json.id}`, {
      body: { config: { servers: ['nats://nats.example.com:4222'], subject: 'herald.other' } },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.config).toEqual({ servers: ['nats://nats.example.com:4222'], subject: 'herald.other', credentialsSet: true });
    const stored = await h().herald.store.getDestination(app, nats.json.id);
    expect(stored!.config).toMatchObject({ servers: ['nats://tok3n-nats@nats.example.com:4222'], credentials: CREDS });
    const put = await h().inject('PUT', `/api/v1/app/${app}/destination/${rabbit.json.id}`, {
      body: { type: 'rabbitMq', config: { uri: 'amqps://rabbit.example.com:5671/prod', routingKey: 'orders-2' } },
    });
    expect(put.status, put.text).toBe(200);
    expect((await h().herald.store.getDestination(app, rabbit.json.id))!.config).toMatchObject({
      uri: 'amqps://herald:s3cret-amqp@rabbit.example.com:5671/prod',
      routingKey: 'orders-2',
    });
  });

  it("lists Herald's own types only when asked, so Svix's SDKs can read the list; a get answers any type", async () => {
    const app = (await createApp(h())).id;
    const poll = await post(app, { type: 'pollingEndpoint' });
    const rabbit = await post(app, { type: 'rabbitMq', config: { uri: 'amqp://rabbit.example.com', routingKey: 'q' } });
    const redis = await post(app, { type: 'redisStream', config: { uri: 'redis://redis.example.com', stream: 's' } });
    const ids = async (q: string) => (await h().inject('GET', `/api/v1/app/${app}/destination${q}`)).json.data.map((d: { id: string }) => d.id).sort();
    expect(await ids('')).toEqual([poll.json.id, rabbit.json.id].sort());
    expect(await ids('?include_herald_types=true')).toEqual([poll.json.id, rabbit.json.id, redis.json.id].sort());
    expect((await h().inject('GET', `/api/v1/app/${app}/destination/${redis.json.id}`)).json.type).toBe('redisStream');
  });

  it('is delivered through an endpoint row the endpoint routes never show; disabling and deleting carry over', async () => {
    const app = (await createApp(h())).id;
    const d = (await post(app, { type: 'redisStream', config: { uri: 'redis://redis.example.com', stream: 's' } })).json;
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint`)).json.data).toEqual([]);
    expect((await h().inject('GET', `/api/v1/app/${app}/endpoint/${d.id}`)).status).toBe(404);
    expect((await h().inject('DELETE', `/api/v1/app/${app}/endpoint/${d.id}`)).status).toBe(404);

    // A message gets a delivery task at the destination, as at an endpoint.
    const m1 = await sendMessage(h(), app, { eventType: 'order.paid', payload: {} });
    expect([...(await tasksOf(h(), m1.id)).keys()]).toEqual([d.id]);
    // Disabled, it gets none; deleted, neither, and its endpoint row is gone with it.
    await h().inject('PATCH', `/api/v1/app/${app}/destination/${d.id}`, { body: { status: 'disabled' } });
    const m2 = await sendMessage(h(), app, { eventType: 'order.paid', payload: {} });
    expect((await tasksOf(h(), m2.id)).size).toBe(0);
    await h().inject('PATCH', `/api/v1/app/${app}/destination/${d.id}`, { body: { status: 'enabled', eventTypes: null } });
    expect([...(await tasksOf(h(), (await sendMessage(h(), app, { eventType: 'order.paid', payload: {} })).id)).keys()]).toEqual([d.id]);
    // Disabled by Herald (its endpoint row auto-disabled), it shows as disabled with the reason; enabling it again clears that.
    const row = (await h().herald.store.getEndpoint(app, d.id))!;
    await h().herald.store.updateEndpoint({ ...row, disabled: true, disabledReason: 'failing since 2026-01-01' });
    const off = (await h().inject('GET', `/api/v1/app/${app}/destination/${d.id}`)).json;
    expect(off).toMatchObject({ status: 'disabled', failureReason: 'failing since 2026-01-01' });
    await h().inject('PATCH', `/api/v1/app/${app}/destination/${d.id}`, { body: { status: 'enabled' } });
    expect((await h().inject('GET', `/api/v1/app/${app}/destination/${d.id}`)).json).toMatchObject({ status: 'enabled', failureReason: null });
    expect((await h().herald.store.getEndpoint(app, d.id))!.disabled).toBe(false);
    expect((await h().inject('DELETE', `/api/v1/app/${app}/destination/${d.id}`)).status).toBe(204);
    expect(await h().herald.store.getEndpoint(app, d.id)).toBeNull();
    const m3 = await sendMessage(h(), app, { eventType: 'order.paid', payload: {} });
    expect((await tasksOf(h(), m3.id)).size).toBe(0);
  });
});
