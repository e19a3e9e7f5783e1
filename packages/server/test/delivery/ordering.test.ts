// Ordered delivery per key, through the API and end to end against a loopback receiver: the
// Herald extensions `orderingKey` (message) and `ordering` (endpoint) with their validation, the
// `waitingFor` of a parked delivery in a message's destinations, and at the receiver: one key's
// messages arrive one at a time in acceptance order (the next only after the previous has ended,
// with or without success), each with herald-ordering-key and herald-sequence, while other keys
// and messages without a key flow past.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Clock, isValidationErrorBody } from '../helpers/inproc.js';
import { rawRow, rawRun } from '../helpers/rows.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';
import { createApp, createEndpoint, deliverySuite, destination, sendMessage, startDelivery, until, type DeliveryHerald } from './harness.js';

const RETRIES = 20;

/** Wait until the delivery has ended (success, fail or canceled): a parked one has no due time either. */
const ended = (msgId: string, endpointId: string) =>
  until(`delivery ${msgId} to end`, async () => {
    const d = await destination(h, appId, msgId, endpointId);
    return [0, 2, 4].includes(d.status) ? d : undefined;
  });
const idOf = (r: ReceivedRequest) => r.headers['webhook-id'] ?? r.headers['svix-id'];

let h: DeliveryHerald;
let rx: Receiver;
let appId: string;
beforeAll(async () => {
  rx = await Receiver.start();
  // Twenty quick retries (2 s): room for a first message to keep failing until the test has seen what it checks.
  h = await startDelivery({ env: { HERALD_RETRY_SCHEDULE: Array(RETRIES).fill('100ms').join(',') } });
});
beforeEach(async () => {
  appId = (await createApp(h)).id;
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

describe('ordering: the API', () => {
  it('orderingKey is 1 to 256 characters; anything else is a 422 naming it, and nothing is stored', async () => {
    for (const orderingKey of ['', 'x'.repeat(257), 12, 'a\u0000b', 'line\nbreak']) {
      const r = await h.inject('POST', `/api/v1/app/${appId}/msg`, { body: { eventType: 'a', payload: {}, orderingKey } });
      expect(r.status, JSON.stringify(orderingKey)).toBe(422);
      expect(isValidationErrorBody(r.json)).toBe(true);
      expect(r.json.detail[0].loc, JSON.stringify(orderingKey)).toEqual(['body', 'orderingKey']);
    }
    expect((await h.call('GET', `/api/v1/app/${appId}/msg`, 200)).data).toEqual([]);
    const m = await sendMessage(h, appId, { orderingKey: 'x'.repeat(256) });
    expect(m.orderingKey).toBe('x'.repeat(256));
    expect((await h.call('GET', `/api/v1/app/${appId}/msg/${m.id}`, 200)).orderingKey).toBe('x'.repeat(256));
    // Without a key, the answer is exactly Svix's shape.
    expect('orderingKey' in (await sendMessage(h, appId))).toBe(false);
    expect('orderingKey' in (await sendMessage(h, appId, { orderingKey: null }))).toBe(false);
  });

  it('ordering is "none" by default, set on create, PUT and PATCH; a PUT without it keeps it; other values are a 422', async () => {
    const url = rx.url('/api');
    const plain = await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url });
    expect(plain.ordering).toBe('none');
    const ep = await h.call('POST', `/api/v1/app/${appId}/endpoint`, 201, { url, ordering: 'key' });
    expect(ep.ordering).toBe('key');
    expect((await h.call('GET', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200)).ordering).toBe('key');
    expect((await h.call('PUT', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200, { url, description: 'kept' })).ordering).toBe('key');
    expect((await h.call('PUT', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200, { url, ordering: 'none' })).ordering).toBe('none');
    expect((await h.call('PATCH', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200, { ordering: 'key' })).ordering).toBe('key');
    expect((await h.call('PATCH', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200, { description: 'x' })).ordering).toBe('key');
    for (const [method, path] of [
      ['POST', `/api/v1/app/${appId}/endpoint`],
      ['PUT', `/api/v1/app/${appId}/endpoint/${ep.id}`],
      ['PATCH', `/api/v1/app/${appId}/endpoint/${ep.id}`],
    ] as const) {
      const r = await h.inject(method, path, { body: { url, ordering: 'fifo' } });
      expect(r.status, method).toBe(422);
      expect(r.json.detail[0].loc, method).toEqual(['body', 'ordering']);
    }
    expect((await h.call('GET', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200)).ordering).toBe('key');
  });
});

describe('ordering: delivery', () => {
  it('a key’s second message waits for the first to succeed after failures, showing waitingFor, while another key and no key flow', async () => {
    const ep = await createEndpoint(h, appId, rx, '/ordered', { ordering: 'key' });
    const other = await createEndpoint(h, appId, rx, '/plain'); // ordering none: never waits
    const ids: Record<string, string> = {};
    let k1Attempts = 0;
    let k2SeenWaiting = false;
    const isK1 = (r: ReceivedRequest) => r.headers['herald-ordering-key'] === 'K' && r.headers['herald-sequence'] === '1';
    rx.on('/ordered', async (req) => {
      if (!isK1(req)) return { status: 200 };
      k1Attempts += 1;
      // The first message of K fails until every message of key L, and the one without a key, has
      // arrived (they do not wait for K), and until k2 was seen parked behind it.
      const lArrived =
        rx.received('/ordered', (r) => r.headers['herald-ordering-key'] === 'L').length === 3 &&
        rx.received('/ordered', (r) => r.headers['herald-ordering-key'] === undefined).length === 1;
      if (k1Attempts < 3 || !lArrived || !k2SeenWaiting) return { status: 500 };
      return { status: 200 };
    });
    ids.k1 = (await sendMessage(h, appId, { orderingKey: 'K' })).id;
    ids.k2 = (await sendMessage(h, appId, { orderingKey: 'K' })).id;
    ids.k3 = (await sendMessage(h, appId, { orderingKey: 'K' })).id;
    for (const n of ['l1', 'l2', 'l3']) ids[n] = (await sendMessage(h, appId, { orderingKey: 'L' })).id;
    ids.n = (await sendMessage(h, appId)).id;

    // While k1 is open, k2 is parked and says what it waits for; k3 waits for k2.
    const d2 = await destination(h, appId, ids.k2!, ep.id);
    expect(d2).toMatchObject({ ordering: 'key', status: 1, nextAttempt: null, waitingFor: ids.k1 });
    expect((await destination(h, appId, ids.k3!, ep.id)).waitingFor).toBe(ids.k2);
    expect((await destination(h, appId, ids.k2!, other.id)).waitingFor).toBeNull();
    expect(rx.forMessage('/ordered', ids.k2!)).toEqual([]);
    // The endpoint's message list (what the dashboard's log reads) says the same.
    const listed = (await h.call('GET', `/api/v1/app/${appId}/endpoint/${ep.id}/msg`, 200)).data as { id: string; waitingFor: string | null }[];
    expect(listed.find((m) => m.id === ids.k2)?.waitingFor).toBe(ids.k1);
    expect(listed.find((m) => m.id === ids.k1)?.waitingFor).toBeNull();
    k2SeenWaiting = true;

    await ended(ids.k3!, ep.id);
    const got = rx.received('/ordered');
    const k = (name: string) => got.filter((r) => idOf(r) === ids[name]);
    // Arrival order: every attempt of k1, then k2, then k3.
    expect(k('k1').length).toBeGreaterThanOrEqual(3);
    expect(k('k1').at(-1)!.answeredStatus).toBe(200);
    expect(k('k2')).toHaveLength(1);
    expect(k('k3')).toHaveLength(1);
    expect(k('k2')[0]!.seq).toBeGreaterThan(k('k1').at(-1)!.seq);
    expect(k('k3')[0]!.seq).toBeGreaterThan(k('k2')[0]!.seq);
    // Key L and no key went before k1 ended.
    for (const n of ['l1', 'l2', 'l3', 'n']) expect(k(n)[0]!.seq, n).toBeLessThan(k('k1').at(-1)!.seq);
    // Headers: the key and the number, the same on every attempt; none without a key or at an unordered endpoint.
    expect(k('k1').map((r) => [r.headers['herald-ordering-key'], r.headers['herald-sequence']])).toEqual(k('k1').map(() => ['K', '1']));
    expect([k('k2')[0]!.headers['herald-sequence'], k('k3')[0]!.headers['herald-sequence']]).toEqual(['2', '3']);
    expect(['l1', 'l2', 'l3'].map((n) => k(n)[0]!.headers['herald-sequence'])).toEqual(['1', '2', '3']);
    expect(k('l1')[0]!.headers['herald-ordering-key']).toBe('L');
    expect(k('n')[0]!.headers['herald-sequence']).toBeUndefined();
    const plain = rx.forMessage('/plain', ids.k2!);
    expect(plain).toHaveLength(1);
    expect(plain[0]!.headers['herald-sequence']).toBeUndefined();
    expect((await destination(h, appId, ids.k3!, ep.id)).waitingFor).toBeNull();
  });

  it('a message aborted by its receiver, or out of retries, ends its turn: the next one goes', async () => {
    const ep = await createEndpoint(h, appId, rx, '/ends', { ordering: 'key' });
    const ids: Record<string, string> = {};
    rx.on('/ends', (req) => {
      const seq = req.headers['herald-sequence'];
      if (seq === '1') return { status: 400, headers: { 'webhook-delivery': 'abort-message' } };
      if (seq === '2') return { status: 503 };
      return { status: 200 };
    });
    ids.a1 = (await sendMessage(h, appId, { orderingKey: 'A' })).id;
    ids.a2 = (await sendMessage(h, appId, { orderingKey: 'A' })).id;
    ids.a3 = (await sendMessage(h, appId, { orderingKey: 'A' })).id;
    await ended(ids.a3, ep.id);
    const got = rx.received('/ends');
    const seqs = (name: string) => got.filter((r) => idOf(r) === ids[name]).map((r) => r.seq);
    expect(seqs('a1')).toHaveLength(1); // aborted: one attempt
    expect(seqs('a2')).toHaveLength(RETRIES + 1); // every retry of the schedule, then exhausted
    expect(Math.min(...seqs('a2'))).toBeGreaterThan(Math.max(...seqs('a1')));
    expect(Math.min(...seqs('a3'))).toBeGreaterThan(Math.max(...seqs('a2')));
    expect((await destination(h, appId, ids.a2, ep.id)).status).toBe(2);
    expect((await destination(h, appId, ids.a3, ep.id)).status).toBe(0);
  });

  it('disabling the endpoint ends every open turn: parked deliveries are canceled in order, none stays parked', async () => {
    const ep = await createEndpoint(h, appId, rx, '/disable', { ordering: 'key' });
    // The first attempt fails, and the endpoint is disabled before its answer goes out.
    rx.on('/disable', async () => {
      await h.call('PATCH', `/api/v1/app/${appId}/endpoint/${ep.id}`, 200, { disabled: true });
      return { status: 500 };
    });
    const first = (await sendMessage(h, appId, { orderingKey: 'D' })).id;
    const second = (await sendMessage(h, appId, { orderingKey: 'D' })).id;
    const d = await until('the second to end', async () => {
      const x = await destination(h, appId, second, ep.id);
      return x.status === 4 ? x : undefined;
    });
    expect(d.waitingFor).toBeNull();
    expect((await destination(h, appId, first, ep.id)).status).toBe(4);
    expect(rx.forMessage('/disable', first)).toHaveLength(1);
    expect(rx.forMessage('/disable', second)).toEqual([]);
  });

  it('beside the endpoint’s own retry schedule and content filter: one attempt ends the turn, a filtered-out message takes no number', async () => {
    // The endpoint's schedule `[]` (a single attempt) overrides the server's twenty retries.
    const ep = await createEndpoint(h, appId, rx, '/policy', { ordering: 'key', retrySchedule: [], filter: { country: 'SE' } });
    rx.on('/policy', (req) => ({ status: req.headers['herald-sequence'] === '1' ? 500 : 200 }));
    const first = (await sendMessage(h, appId, { orderingKey: 'P', payload: { country: 'SE', n: 1 } })).id;
    const skipped = (await sendMessage(h, appId, { orderingKey: 'P', payload: { country: 'NO', n: 2 } })).id;
    const third = (await sendMessage(h, appId, { orderingKey: 'P', payload: { country: 'SE', n: 3 } })).id;
    expect((await h.call('GET', `/api/v1/app/${appId}/msg/${skipped}/endpoint`, 200)).data.map((d: { id: string }) => d.id)).not.toContain(ep.id);
    await ended(third, ep.id);
    expect((await destination(h, appId, first, ep.id)).status).toBe(2);
    expect(rx.forMessage('/policy', first)).toHaveLength(1);
    const got = rx.forMessage('/policy', third);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['herald-sequence']).toBe('2');
    expect(rx.forMessage('/policy', skipped)).toEqual([]);
  });
});

describe('ordering: the recovery sweep in a running dispatcher', () => {
  const clock = new Clock('2026-06-01T00:00:00Z');
  const s = deliverySuite({ now: clock.now, env: { HERALD_RETRY_SCHEDULE: '1h' } });

  it('a delivery left parked behind one an older Herald ended is released within 30 s and delivered', async () => {
    const app = (await createApp(s.h)).id;
    const ep = await createEndpoint(s.h, app, s.rx, '/sweep', { ordering: 'key' });
    s.rx.on('/sweep', (req) => ({ status: req.headers['herald-sequence'] === '1' ? 500 : 200 }));
    const first = (await s.h.call('POST', `/api/v1/app/${app}/msg`, 202, { eventType: 'a', payload: {}, orderingKey: 'S' })).id;
    const second = (await s.h.call('POST', `/api/v1/app/${app}/msg`, 202, { eventType: 'a', payload: {}, orderingKey: 'S' })).id;
    // The first fails and waits an hour (the clock stands still); the second waits for it.
    await until(
      'the first attempt to be recorded',
      async () => (await rawRow<{ n: number }>(s.h, 'SELECT attempt_count AS n FROM delivery_task WHERE msg_id = ?', [first]))?.n === 1,
    );
    // An older Herald, which knows nothing of the order, ends the first without releasing the second.
    await rawRun(s.h, 'UPDATE delivery_task SET status = 2, next_attempt_at = NULL WHERE msg_id = ?', [first]);
    expect(await rawRow(s.h, 'SELECT waiting_for, next_attempt_at FROM delivery_task WHERE msg_id = ?', [second])).toEqual({
      waiting_for: first,
      next_attempt_at: null,
    });
    clock.advance(31_000);
    s.h.wake();
    const got = await s.rx.waitForCount(1, { path: '/sweep', where: (r) => idOf(r) === second, timeoutMs: 10_000 });
    expect(got[0]!.headers['herald-sequence']).toBe('2');
    expect((await destination(s.h, app, second, ep.id)).waitingFor).toBeNull();
  });
});
