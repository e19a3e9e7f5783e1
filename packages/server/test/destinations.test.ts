// Destinations and polling endpoints through the API: Svix's destination routes (create, get,
// list, update, patch, delete), the poller (what a polling endpoint sees, its iterator, `done`),
// consumers whose position the server keeps (seek, Herald's `commit=false` and reported attempts),
// a temporary destination's lease, and a portal token's reach.
import { describe, expect, it } from 'vitest';
import { POLL_SETTLE_MS } from '../src/domain/destinations.js';
import { createApp, createEventType, portalToken, sendMessage } from './helpers/fixtures.js';
import { Clock, idRe, SECOND, useInProcess } from './helpers/inproc.js';

describe('destinations and polling endpoints', () => {
  const clock = new Clock('2026-01-01T00:00:00Z');
  const h = useInProcess({ now: clock.now });
  const settle = () => clock.advance(POLL_SETTLE_MS + 1);
  const create = async (app: string, body: Record<string, unknown> = {}, token?: string) => {
    const r = await h().inject('POST', `/api/v1/app/${app}/destination`, { body: { type: 'pollingEndpoint', ...body }, token });
    expect(r.status, r.text).toBe(201);
    return r.json;
  };
  const poll = async (app: string, sink: string, q = '', token?: string) => {
    const r = await h().inject('GET', `/api/v1/app/${app}/poller/${sink}${q}`, { token });
    expect(r.status, r.text).toBe(200);
    return r.json as { data: { id: string; eventType: string; payload: unknown }[]; iterator: string; done: boolean };
  };
  const consume = async (app: string, sink: string, consumer: string, q = '') => {
    const r = await h().inject('GET', `/api/v1/app/${app}/poller/${sink}/consumer/${consumer}${q}`);
    expect(r.status, r.text).toBe(200);
    return r.json as { data: { id: string }[]; iterator: string; done: boolean };
  };

  it("creates, reads, lists, updates, patches and deletes a polling endpoint in Svix's shapes, its secret never in them", async () => {
    const app = (await createApp(h())).id;
    const et = (await createEventType(h())).name;
    const d = await create(app, { uid: 'pull-a', eventTypes: [et], metadata: { team: 'x' } });
    expect(d).toMatchObject({
      type: 'pollingEndpoint',
      config: {},
      uid: 'pull-a',
      status: 'enabled',
      eventTypes: [et],
      metadata: { team: 'x' },
      batchSize: 100,
      maxWaitSecs: 0,
      failureReason: null,
      nextRetryAt: null,
      expiresAt: null,
      leaseSecs: null,
    });
    expect(d.id).toMatch(idRe('dest_'));
    expect(typeof d.currentIterator).toBe('string');
    expect((await h().inject('GET', `/api/v1/app/${app}/destination/pull-a`)).json).toEqual(d);
    const list = await h().inject('GET', `/api/v1/app/${app}/destination`);
    expect(list.json.data.map((x: { id: string }) => x.id)).toEqual([d.id]);
    expect(list.text).not.toContain('whsec_');

    const secret = await h().inject('GET', `/api/v1/app/${app}/destination/${d.id}/secret`);
    expect(secret.json.key).toMatch(/^whsec_/);

    clock.advance(SECOND);
    const put = await h().inject('PUT', `/api/v1/app/${app}/destination/${d.id}`, { body: { type: 'pollingEndpoint', uid: 'pull-a', status: 'disabled' } });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ status: 'disabled', metadata: {}, uid: 'pull-a' });
    expect(put.json.eventTypes).toBeUndefined();
    const patch = await h().inject('PATCH', `/api/v1/app/${app}/destination/${d.id}`, { body: { status: 'enabled', channels: ['eu'] } });
    expect(patch.json).toMatchObject({ status: 'enabled', channels: ['eu'], uid: 'pull-a' });
    // The type is fixed; an unknown type is refused by the contract.
    expect((await h().inject('POST', `/api/v1/app/${app}/destination`, { body: { type: 'sqs' } })).status).toBe(422);
    // A PUT to a new uid creates.
    const upserted = await h().inject('PUT', `/api/v1/app/${app}/destination/pull-b`, { body: { type: 'pollingEndpoint' } });
    expect(upserted.status).toBe(201);
    expect(upserted.json.uid).toBe('pull-b');

    expect((await h().inject('DELETE', `/api/v1/app/${app}/destination/${d.id}`)).status).toBe(204);
    expect((await h().inject('GET', `/api/v1/app/${app}/destination/${d.id}`)).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${app}/poller/${d.id}`)).status).toBe(404);
  });

  it("sees the app's matching messages from its creation on, once settled, oldest first, page by page", async () => {
    const app = (await createApp(h())).id;
    const et = (await createEventType(h())).name;
    await sendMessage(h(), app, { eventType: et, payload: { n: 0 } });
    clock.advance(SECOND);
    const all = await create(app);
    const filtered = await create(app, { eventTypes: [et] });
    const eu = await create(app, { channels: ['eu'] });
    clock.advance(SECOND);
    const sent: string[] = [];
    for (let n = 1; n <= 3; n++) sent.push((await sendMessage(h(), app, { eventType: et, payload: { n } })).id);
    const other = (await sendMessage(h(), app, { eventType: 'other.event', channels: ['eu'] })).id;

    // Not yet settled: nothing to read, and `done`.
    expect(await poll(app, all.id)).toMatchObject({ data: [], done: true });
    settle();
    const p1 = await poll(app, all.id, '?limit=2');
    expect(p1.data.map((m) => m.id)).toEqual(sent.slice(0, 2));
    expect(p1.data[0]!.payload).toEqual({ n: 1 });
    expect(p1.done).toBe(false);
    const p2 = await poll(app, all.id, `?limit=2&iterator=${p1.iterator}`);
    expect(p2.data.map((m) => m.id)).toEqual([sent[2], other]);
    const p3 = await poll(app, all.id, `?limit=2&iterator=${p2.iterator}`);
    expect(p3).toEqual({ data: [], iterator: p2.iterator, done: true });

    expect((await poll(app, filtered.id)).data.map((m) => m.id)).toEqual(sent);
    expect((await poll(app, eu.id)).data.map((m) => m.id)).toEqual([other]);
    expect((await poll(app, all.id, '?event_type=other.event')).data.map((m) => m.id)).toEqual([other]);
    // A bad iterator is a 422 naming it.
    const bad = await h().inject('GET', `/api/v1/app/${app}/poller/${all.id}?iterator=nonsense`);
    expect(bad.status).toBe(422);
    expect(bad.json.detail[0].loc).toEqual(['query', 'iterator']);
  });

  it("keeps each consumer's position; seek moves it; commit=false leaves it to the reported attempts", async () => {
    const app = (await createApp(h())).id;
    const d = await create(app);
    clock.advance(SECOND);
    const first = (await sendMessage(h(), app)).id;
    clock.advance(SECOND);
    const seekPoint = new Date(clock.t).toISOString();
    clock.advance(SECOND);
    const second = (await sendMessage(h(), app)).id;
    settle();

    expect((await consume(app, d.id, 'a')).data.map((m) => m.id)).toEqual([first, second]);
    expect((await consume(app, d.id, 'a')).data).toEqual([]);
    // Another consumer has its own position.
    expect((await consume(app, d.id, 'b', '?limit=1')).data.map((m) => m.id)).toEqual([first]);
    expect((await consume(app, d.id, 'b')).data.map((m) => m.id)).toEqual([second]);

    const seek = await h().inject('POST', `/api/v1/app/${app}/poller/${d.id}/consumer/a/seek`, { body: { after: seekPoint } });
    expect(seek.status).toBe(200);
    expect(typeof seek.json.iterator).toBe('string');
    expect((await consume(app, d.id, 'a')).data.map((m) => m.id)).toEqual([second]);

    // commit=false reads without moving; a reported attempt with the consumer moves it.
    expect((await consume(app, d.id, 'c', '?commit=false')).data.map((m) => m.id)).toEqual([first, second]);
    expect((await consume(app, d.id, 'c', '?commit=false')).data.map((m) => m.id)).toEqual([first, second]);
    const report = await h().inject('POST', `/api/v1/app/${app}/destination/${d.id}/attempt`, {
      body: { msgId: first, consumerId: 'c', url: 'http://127.0.0.1:4000/hook', responseStatusCode: 204, response: '', responseDurationMs: 12 },
    });
    expect(report.status, report.text).toBe(201);
    expect(report.json).toMatchObject({ msgId: first, endpointId: d.id, responseStatusCode: 204, status: 0, url: 'http://127.0.0.1:4000/hook' });
    expect((await consume(app, d.id, 'c', '?commit=false')).data.map((m) => m.id)).toEqual([second]);

    // The attempt is in the message's attempt log, and in the destination's.
    const log = await h().inject('GET', `/api/v1/app/${app}/attempt/msg/${first}`);
    expect(log.json.data.map((a: { id: string }) => a.id)).toEqual([report.json.id]);
    const byDest = await h().inject('GET', `/api/v1/app/${app}/destination/${d.id}/attempt`);
    expect(byDest.json.data.map((a: { id: string }) => a.id)).toEqual([report.json.id]);
    const failed = await h().inject('POST', `/api/v1/app/${app}/destination/${d.id}/attempt`, {
      body: { msgId: second, url: 'http://127.0.0.1:4000/hook', responseStatusCode: 500, response: 'boom', responseDurationMs: 3 },
    });
    expect(failed.json.status).toBe(2);
    // Creating the destination is a management change; a reader's seeks and reports are not.
    const audit = await h().inject('GET', `/api/v1/audit-log?app_id=${app}&limit=250`);
    const ops = audit.json.data.map((e: { operationId: string }) => e.operationId);
    expect(ops).toContain('v1.destination.create');
    expect(ops).not.toContain('v1.destination.report-attempt');
    expect(ops).not.toContain('v1.message.poller.consumer-seek');
  });

  it('a long poll answers as soon as a message settles', async () => {
    const app = (await createApp(h())).id;
    const d = await create(app);
    clock.advance(SECOND);
    const waiting = h().inject('GET', `/api/v1/app/${app}/poller/${d.id}/consumer/w?wait=20`);
    const id = (await sendMessage(h(), app)).id;
    settle();
    const r = await waiting;
    expect(r.status).toBe(200);
    expect(r.json.data.map((m: { id: string }) => m.id)).toEqual([id]);
  });

  it('removes a temporary destination once its lease runs out unread; reads renew it', async () => {
    const app = (await createApp(h())).id;
    const d = await create(app, { leaseSecs: 60 });
    expect(d.leaseSecs).toBe(60);
    expect(d.expiresAt).toBe(new Date(clock.t + 60 * SECOND).toISOString());
    clock.advance(45 * SECOND);
    await poll(app, d.id);
    const renewed = (await h().inject('GET', `/api/v1/app/${app}/destination/${d.id}`)).json;
    expect(renewed.expiresAt).toBe(new Date(clock.t + 60 * SECOND).toISOString());
    clock.advance(60 * SECOND);
    expect((await h().inject('GET', `/api/v1/app/${app}/destination`)).json.data).toEqual([]);
    expect((await h().inject('GET', `/api/v1/app/${app}/poller/${d.id}`)).status).toBe(404);
    expect(await h().herald.store.getDestination(app, d.id)).toBeNull();
  });

  it("a portal token reaches only its own application's destinations and pollers", async () => {
    const mine = (await createApp(h())).id;
    const theirs = (await createApp(h())).id;
    const theirDest = await create(theirs);
    const token = await portalToken(h(), mine);
    const own = await create(mine, {}, token);
    expect((await h().inject('GET', `/api/v1/app/${mine}/poller/${own.id}`, { token })).status).toBe(200);
    for (const [method, url] of [
      ['GET', `/api/v1/app/${theirs}/destination`],
      ['GET', `/api/v1/app/${theirs}/destination/${theirDest.id}`],
      ['GET', `/api/v1/app/${theirs}/poller/${theirDest.id}`],
      ['GET', `/api/v1/app/${theirs}/poller/${theirDest.id}/consumer/x`],
      ['DELETE', `/api/v1/app/${theirs}/destination/${theirDest.id}`],
    ] as const) {
      expect((await h().inject(method, url, { token })).status, url).toBe(403);
    }
    // Through its own application's path, another application's destination does not exist.
    expect((await h().inject('GET', `/api/v1/app/${mine}/poller/${theirDest.id}`, { token })).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${mine}/destination/${theirDest.id}/secret`, { token })).status).toBe(404);
    // The signing secret needs the 'secrets' permission.
    const viewer = await portalToken(h(), mine, { permissions: ['view'] } as Record<string, unknown>);
    const denied = await h().inject('GET', `/api/v1/app/${mine}/destination/${own.id}/secret`, { token: viewer });
    expect(denied.status).toBe(403);
  });

  it("documents the routes: Svix's as Svix has them, Herald's additions marked", async () => {
    const doc = (await h().inject('GET', '/api/v1/openapi.json', { token: null })).json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/app/{app_id}/destination',
        '/api/v1/app/{app_id}/destination/{destination_id}',
        '/api/v1/app/{app_id}/poller/{sink_id}',
        '/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}',
        '/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}/seek',
      ]),
    );
    expect(doc.paths['/api/v1/app/{app_id}/destination/{destination_id}/attempt'].post.description).toMatch(/^Herald:/);
    expect(doc.components.schemas.DestinationIn.properties.leaseSecs.description).toMatch(/^Herald:/);
    const consumerParams = doc.paths['/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}'].get.parameters;
    for (const name of ['wait', 'commit']) expect(consumerParams.find((p: { name: string }) => p.name === name).description).toMatch(/^Herald:/);
  });
});
