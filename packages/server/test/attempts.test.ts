// Attempt routes: empty pages before any delivery, then pages, filters, get, expunge and resend
// over attempt rows written straight into the real SQLite database (deliveries, which write them,
// come with a later issue). svix.md §1.5, §2.2 "Message attempt".
import { describe, expect, it } from 'vitest';
import { createApp, createEndpoint, insertAttempt, sendMessage, tasksOf } from './helpers/fixtures.js';
import { Clock, HOUR, idRe, listAll, MINUTE, SECOND, useInProcess } from './helpers/inproc.js';
import { rawRun } from './helpers/rows.js';

const ATTEMPT_FIELDS = [
  'endpointId',
  'id',
  'msgId',
  'requestHeaders',
  'response',
  'responseDurationMs',
  'responseStatusCode',
  'status',
  'statusText',
  'timestamp',
  'triggerType',
  'url',
];

describe('attempts: empty pages', () => {
  const h = useInProcess();

  it('every attempt list answers {data: [], done: true} before anything was attempted', async () => {
    const app = (await createApp(h())).id;
    const ep = (await createEndpoint(h(), app)).id;
    const lonely = (await createEndpoint(h(), app, { disabled: true })).id;
    const msg = (await sendMessage(h(), app)).id;
    const unrouted = (await createApp(h())).id;
    const msgNowhere = (await sendMessage(h(), unrouted)).id;
    const urls = [
      `/api/v1/app/${app}/attempt/endpoint/${ep}`,
      `/api/v1/app/${app}/attempt/msg/${msg}`,
      `/api/v1/app/${app}/endpoint/${lonely}/msg`,
      `/api/v1/app/${unrouted}/msg/${msgNowhere}/endpoint`,
    ];
    for (const url of urls) {
      const r = await h().inject('GET', url);
      expect(r.status, url).toBe(200);
      expect(r.json.data, url).toEqual([]);
      expect(r.json.done, url).toBe(true);
      expect(r.json.iterator ?? null, url).toBeNull();
    }
  });

  it('an unknown endpoint or message is 404 on the attempt lists', async () => {
    const app = (await createApp(h())).id;
    expect((await h().inject('GET', `/api/v1/app/${app}/attempt/endpoint/ep_2aVHbyVjDtmnqf4k3nwCrUnPwQe`)).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${app}/attempt/msg/msg_2aVHbyVjDtmnqf4k3nwCrUnPwQe`)).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/no-such-event/endpoint`)).status).toBe(404);
  });
});

describe('attempts: lists, filters, get, expunge', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;
  let ep: string;
  let ep2: string;
  let msg: string;
  const ids: string[] = [];
  // status / code per attempt, oldest first
  const plan: [number, number][] = [
    [2, 500],
    [2, 503],
    [2, 0],
    [2, 404],
    [0, 200],
    [0, 204],
  ];

  it("lists an endpoint's attempts newest first, paging to done with every attempt once", async () => {
    app = (await createApp(h())).id;
    ep = (await createEndpoint(h(), app)).id;
    ep2 = (await createEndpoint(h(), app)).id;
    msg = (await sendMessage(h(), app)).id;
    for (const [status, code] of plan) {
      clock.advance(SECOND);
      ids.push(await insertAttempt(h(), { appId: app, msgId: msg, endpointId: ep, status, responseStatusCode: code, response: `body ${code}` }));
    }
    clock.advance(SECOND);
    const other = await insertAttempt(h(), { appId: app, msgId: msg, endpointId: ep2, status: 0, responseStatusCode: 200 });

    const { items, pages } = await listAll(h(), `/api/v1/app/${app}/attempt/endpoint/${ep}?limit=4`);
    expect(items.map((a) => a.id)).toEqual([...ids].reverse());
    expect(pages.map((p) => p.data.length)).toEqual([4, 2]);
    expect(pages.map((p) => p.done)).toEqual([false, true]);
    expect(items.map((a) => a.id)).not.toContain(other);
  });

  it('an attempt has the MessageAttemptOut shape', async () => {
    const a = (await h().inject('GET', `/api/v1/app/${app}/attempt/endpoint/${ep}?limit=1`)).json.data[0];
    for (const f of ATTEMPT_FIELDS) expect(a, f).toHaveProperty(f);
    expect(a).toMatchObject({
      id: ids.at(-1),
      msgId: msg,
      endpointId: ep,
      url: 'https://example.com/hook',
      response: 'body 204',
      responseStatusCode: 204,
      responseDurationMs: 12,
      status: 0,
      statusText: 'success',
      triggerType: 0,
    });
    expect(a.id).toMatch(idRe('atmpt_'));
    expect(Date.parse(a.timestamp)).toBe(clock.t - SECOND);
  });

  it('filters by status', async () => {
    const fail = (await listAll(h(), `/api/v1/app/${app}/attempt/endpoint/${ep}?status=2`)).items;
    expect(fail.map((a) => a.id)).toEqual(ids.slice(0, 4).reverse());
    expect(fail.every((a) => a.status === 2 && a.statusText === 'fail')).toBe(true);
    const ok = (await listAll(h(), `/api/v1/app/${app}/attempt/endpoint/${ep}?status=0`)).items;
    expect(ok.map((a) => a.id)).toEqual(ids.slice(4).reverse());
  });

  it('filters by status_code_class (0 = no response, 200, 400, 500)', async () => {
    const codes = async (cls: number) =>
      (await listAll(h(), `/api/v1/app/${app}/attempt/endpoint/${ep}?status_code_class=${cls}`)).items.map((a) => a.responseStatusCode);
    expect(await codes(500)).toEqual([503, 500]);
    expect(await codes(400)).toEqual([404]);
    expect(await codes(200)).toEqual([204, 200]);
    expect(await codes(0)).toEqual([0]);
    expect(await codes(300)).toEqual([]);
  });

  it('an unknown status or status_code_class value is 422', async () => {
    expect((await h().inject('GET', `/api/v1/app/${app}/attempt/endpoint/${ep}?status=9`)).status).toBe(422);
    expect((await h().inject('GET', `/api/v1/app/${app}/attempt/endpoint/${ep}?status_code_class=250`)).status).toBe(422);
  });

  it("lists a message's attempts, optionally for one endpoint", async () => {
    const all = (await listAll(h(), `/api/v1/app/${app}/attempt/msg/${msg}`)).items;
    expect(all).toHaveLength(7);
    const one = (await listAll(h(), `/api/v1/app/${app}/attempt/msg/${msg}?endpoint_id=${ep2}`)).items;
    expect(one.map((a) => a.endpointId)).toEqual([ep2]);
  });

  it('with_content=false hides the response body', async () => {
    const r = await h().inject('GET', `/api/v1/app/${app}/attempt/endpoint/${ep}?with_content=false&limit=1`);
    expect(r.json.data[0].response).toBe('{}');
  });

  it("gets one attempt; another message's path or an unknown id is 404", async () => {
    const r = await h().inject('GET', `/api/v1/app/${app}/msg/${msg}/attempt/${ids[0]}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: ids[0], msgId: msg, status: 2, statusText: 'fail', responseStatusCode: 500, response: 'body 500' });
    const otherMsg = (await sendMessage(h(), app)).id;
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/${otherMsg}/attempt/${ids[0]}`)).status).toBe(404);
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/${msg}/attempt/atmpt_2aVHbyVjDtmnqf4k3nwCrUnPwQe`)).status).toBe(404);
  });

  it('the message can be addressed by its eventId on the attempt routes', async () => {
    const m = await sendMessage(h(), app, { eventId: 'evt-attempts' });
    const a = await insertAttempt(h(), { appId: app, msgId: m.id, endpointId: ep });
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/evt-attempts/attempt/${a}`)).json.id).toBe(a);
    expect((await listAll(h(), `/api/v1/app/${app}/attempt/msg/evt-attempts`)).items.map((x) => x.id)).toEqual([a]);
  });

  it("expunging an attempt's content answers 204 and the response reads EXPUNGED", async () => {
    const del = await h().inject('DELETE', `/api/v1/app/${app}/msg/${msg}/attempt/${ids[1]}/content`);
    expect(del.status).toBe(204);
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/${msg}/attempt/${ids[1]}`)).json.response).toBe('EXPUNGED');
    // Other attempts keep theirs.
    expect((await h().inject('GET', `/api/v1/app/${app}/msg/${msg}/attempt/${ids[0]}`)).json.response).toBe('body 500');
  });

  it('attempts before/after filter by time', async () => {
    // ids[2] was written at start + 3 s; list strictly after it, and strictly before it.
    const t2 = Date.parse((await h().inject('GET', `/api/v1/app/${app}/msg/${msg}/attempt/${ids[2]}`)).json.timestamp);
    const after = (await listAll(h(), `/api/v1/app/${app}/attempt/endpoint/${ep}?after=${new Date(t2).toISOString()}`)).items.map((a) => a.id);
    const before = (await listAll(h(), `/api/v1/app/${app}/attempt/endpoint/${ep}?before=${new Date(t2).toISOString()}`)).items.map((a) => a.id);
    // (A later test's attempt on this endpoint also comes after; keep to this test's attempts.)
    expect(after.filter((id) => ids.includes(id))).toEqual(ids.slice(3).reverse());
    expect(before).toEqual(ids.slice(0, 2).reverse());
  });
});

describe('attempts: resend and delivery state', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });
  let app: string;
  let ep: string;
  let msg: string;

  it('resend answers 202 {} and makes the delivery pending again as a manual one, due now', async () => {
    app = (await createApp(h())).id;
    ep = (await createEndpoint(h(), app)).id;
    msg = (await sendMessage(h(), app)).id;
    await rawRun(h(), 'UPDATE delivery_task SET status = 2, next_attempt_at = NULL, attempt_count = 8 WHERE msg_id = ?', [msg]);
    clock.advance(MINUTE);
    const r = await h().inject('POST', `/api/v1/app/${app}/msg/${msg}/endpoint/${ep}/resend`);
    expect(r.status).toBe(202);
    expect(r.json).toEqual({});
    const t = (await tasksOf(h(), msg)).get(ep)!;
    // The next attempt is the manual one; a finished delivery has no schedule to go back to.
    expect(t).toMatchObject({ status: 1, manual_next: 1, resume_at: null, next_attempt_at: clock.t });
  });

  it('resend of a delivery still waiting for a retry keeps that retry to fall back on', async () => {
    const m = (await sendMessage(h(), app)).id;
    const retryAt = clock.t + HOUR;
    await rawRun(h(), 'UPDATE delivery_task SET status = 1, next_attempt_at = ?, attempt_count = 2 WHERE msg_id = ?', [retryAt, m]);
    expect((await h().inject('POST', `/api/v1/app/${app}/msg/${m}/endpoint/${ep}/resend`)).status).toBe(202);
    expect((await tasksOf(h(), m)).get(ep)).toMatchObject({ status: 1, manual_next: 1, resume_at: retryAt, next_attempt_at: clock.t, attempt_count: 2 });
  });

  it('resend to an endpoint the message never matched still creates a manual delivery (filters are bypassed)', async () => {
    const filtered = (await createEndpoint(h(), app, { channels: ['elsewhere'] })).id;
    expect((await tasksOf(h(), msg)).has(filtered)).toBe(false);
    const r = await h().inject('POST', `/api/v1/app/${app}/msg/${msg}/endpoint/${filtered}/resend`, { body: {} });
    expect(r.status).toBe(202);
    expect((await tasksOf(h(), msg)).get(filtered)).toMatchObject({ status: 1, trigger_type: 1, manual_next: 1, next_attempt_at: clock.t });
  });

  it('resend of an expunged message is 400 missing_payload and changes nothing', async () => {
    const m = (await sendMessage(h(), app)).id;
    await rawRun(h(), 'UPDATE delivery_task SET status = 2, next_attempt_at = NULL WHERE msg_id = ?', [m]);
    expect((await h().inject('DELETE', `/api/v1/app/${app}/msg/${m}/content`)).status).toBe(204);
    const r = await h().inject('POST', `/api/v1/app/${app}/msg/${m}/endpoint/${ep}/resend`);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('missing_payload');
    expect((await tasksOf(h(), m)).get(ep)).toMatchObject({ status: 2, next_attempt_at: null });
  });

  it('resend for an unknown endpoint or message is 404', async () => {
    expect((await h().inject('POST', `/api/v1/app/${app}/msg/${msg}/endpoint/ep_2aVHbyVjDtmnqf4k3nwCrUnPwQe/resend`)).status).toBe(404);
    expect((await h().inject('POST', `/api/v1/app/${app}/msg/msg_2aVHbyVjDtmnqf4k3nwCrUnPwQe/endpoint/${ep}/resend`)).status).toBe(404);
  });

  it('list-attempted-messages shows each message with its delivery status, statusText and nextAttempt', async () => {
    const a2 = (await createApp(h())).id;
    const e2 = (await createEndpoint(h(), a2)).id;
    clock.advance(SECOND);
    const failed = (await sendMessage(h(), a2, { eventType: 'a.failed' })).id;
    clock.advance(SECOND);
    const pending = (await sendMessage(h(), a2, { eventType: 'a.pending' })).id;
    clock.advance(SECOND);
    const delivered = (await sendMessage(h(), a2, { eventType: 'a.delivered' })).id;
    const retryAt = clock.t + 5 * MINUTE;
    await rawRun(h(), 'UPDATE delivery_task SET status = 2, next_attempt_at = NULL WHERE msg_id = ?', [failed]);
    await rawRun(h(), 'UPDATE delivery_task SET status = 1, next_attempt_at = ? WHERE msg_id = ?', [retryAt, pending]);
    await rawRun(h(), 'UPDATE delivery_task SET status = 0, next_attempt_at = NULL WHERE msg_id = ?', [delivered]);

    const { items } = await listAll(h(), `/api/v1/app/${a2}/endpoint/${e2}/msg`);
    expect(items.map((m) => m.id)).toEqual([delivered, pending, failed]);
    const by = new Map(items.map((m) => [m.id, m]));
    expect(by.get(failed)).toMatchObject({ eventType: 'a.failed', status: 2, statusText: 'fail', nextAttempt: null, payload: { hello: 'world' } });
    expect(by.get(pending)).toMatchObject({ status: 1, statusText: 'pending', nextAttempt: new Date(retryAt).toISOString() });
    expect(by.get(delivered)).toMatchObject({ status: 0, statusText: 'success', nextAttempt: null });

    const onlyFailed = (await listAll(h(), `/api/v1/app/${a2}/endpoint/${e2}/msg?status=2`)).items;
    expect(onlyFailed.map((m) => m.id)).toEqual([failed]);
    const byType = (await listAll(h(), `/api/v1/app/${a2}/endpoint/${e2}/msg?event_types=a.pending`)).items;
    expect(byType.map((m) => m.id)).toEqual([pending]);
    const paged = await listAll(h(), `/api/v1/app/${a2}/endpoint/${e2}/msg?limit=1`);
    expect(paged.items.map((m) => m.id)).toEqual([delivered, pending, failed]);
    expect(paged.pages).toHaveLength(3);
  });

  it("list-attempted-destinations shows each endpoint with the message's delivery status there", async () => {
    const a3 = (await createApp(h())).id;
    const ok = (await createEndpoint(h(), a3, { url: 'https://ok.example.com' })).id;
    const bad = (await createEndpoint(h(), a3, { url: 'https://bad.example.com' })).id;
    const m = (await sendMessage(h(), a3)).id;
    const retryAt = clock.t + 30 * MINUTE;
    await rawRun(h(), 'UPDATE delivery_task SET status = 0, next_attempt_at = NULL WHERE msg_id = ? AND endpoint_id = ?', [m, ok]);
    await rawRun(h(), 'UPDATE delivery_task SET status = 2, next_attempt_at = ? WHERE msg_id = ? AND endpoint_id = ?', [retryAt, m, bad]);
    const { items } = await listAll(h(), `/api/v1/app/${a3}/msg/${m}/endpoint`);
    const by = new Map(items.map((e) => [e.id, e]));
    expect([...by.keys()].sort()).toEqual([ok, bad].sort());
    expect(by.get(ok)).toMatchObject({ url: 'https://ok.example.com', status: 0, statusText: 'success', nextAttempt: null });
    expect(by.get(bad)).toMatchObject({ url: 'https://bad.example.com', status: 2, statusText: 'fail', nextAttempt: new Date(retryAt).toISOString() });
    for (const e of items) {
      for (const f of ['id', 'url', 'description', 'createdAt', 'updatedAt', 'status', 'statusText']) expect(e, f).toHaveProperty(f);
    }
  });
});
