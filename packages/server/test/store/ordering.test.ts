// The store's side of ordered delivery per key, on SQLite and on PostgreSQL: each (endpoint, key)
// numbers its deliveries from 1 in the accepting commit; a delivery whose predecessor is open is
// parked (not due) and names it; the end of a delivery, in the same commit, releases the next one.
import { expect, it } from 'vitest';
import { MessageStatus } from '../../src/domain/types.js';
import type { ClaimedTask, Store } from '../../src/store/store.js';
import { eachStore } from './backends.js';
import { app, attemptFor, endpoint, LEASE, message, T0, taskOf } from './records.js';

async function orderedSetup(store: Store) {
  const a = await store.createApplication(app());
  const ep = await store.createEndpoint(endpoint(a.id, { ordering: 'key' }));
  const send = async (orderingKey: string | null, at = T0) => (await store.createMessage(message(a.id, { createdAt: at, orderingKey }), {})).message.id;
  const task = (msgId: string) => taskOf(store, a.id, ep.id, msgId);
  return { appId: a.id, endpointId: ep.id, send, task };
}

/** Claim everything due at `at` and return the claim of `msgId` (failing if it was not due). */
async function claimOf(store: Store, msgId: string, at: number): Promise<ClaimedTask> {
  const claimed = await store.claimDueTasks('w', at, LEASE, 100);
  const c = claimed.find((x) => x.msgId === msgId);
  if (!c) throw new Error(`${msgId} was not due at ${at}; claimed ${claimed.map((x) => x.msgId).join(', ')}`);
  // Put the others back as they were (due), so each test claims only what it means to.
  for (const o of claimed) if (o !== c) await store.deferTask(o, at);
  return c;
}

const ok = (c: ClaimedTask, at: number) => ({ attempt: attemptFor(c, at, true), task: { status: MessageStatus.success, nextAttemptAt: null } });
const failed = (c: ClaimedTask, at: number, retryAt: number | null) => ({
  attempt: attemptFor(c, at, false),
  task: retryAt === null ? { status: MessageStatus.fail, nextAttemptAt: null } : { status: MessageStatus.pending, nextAttemptAt: retryAt },
});

eachStore('store: ordered delivery per key', (t) => {
  it('numbers each key from 1 and parks a delivery behind an open one; other keys and no key are due at once', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const k1 = await o.send('K');
    const k2 = await o.send('K');
    const k3 = await o.send('K');
    const other = await o.send('L');
    const none = await o.send(null);
    expect(await o.task(k1)).toMatchObject({ orderingSeq: 1, waitingFor: null, nextAttemptAt: T0, status: MessageStatus.pending });
    expect(await o.task(k2)).toMatchObject({ orderingSeq: 2, waitingFor: k1, nextAttemptAt: null, status: MessageStatus.pending });
    expect(await o.task(k3)).toMatchObject({ orderingSeq: 3, waitingFor: k2, nextAttemptAt: null });
    expect(await o.task(other)).toMatchObject({ orderingSeq: 1, waitingFor: null, nextAttemptAt: T0 });
    expect(await o.task(none)).toMatchObject({ orderingSeq: null, waitingFor: null, nextAttemptAt: T0 });
    const claimed = await store.claimDueTasks('w', T0, LEASE, 100);
    expect(claimed.map((c) => c.msgId).sort()).toEqual([k1, other, none].sort());
    expect(claimed.find((c) => c.msgId === k1)!.orderingSeq).toBe(1);
    expect(claimed.find((c) => c.msgId === none)!.orderingSeq ?? null).toBeNull();
    // The message keeps its key.
    expect((await store.getMessage(o.appId, k1))!.orderingKey).toBe('K');
  });

  it('beside the other endpoint and message fields: ordering, retry policy and content filter are kept through create and update; key and schema violations too', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const policy = { retrySchedule: ['1s', '1m'], timeout: 5 };
    const ep = await store.createEndpoint(endpoint(a.id, { ordering: 'key', deliveryPolicy: policy, filter: { country: 'SE' } }));
    expect(await store.getEndpoint(a.id, ep.id)).toMatchObject({ ordering: 'key', deliveryPolicy: policy, filter: { country: 'SE' } });
    await store.updateEndpoint({ ...ep, ordering: 'none', deliveryPolicy: null, filter: { country: 'NO' }, updatedAt: T0 + 1 });
    expect(await store.getEndpoint(a.id, ep.id)).toMatchObject({ ordering: 'none', deliveryPolicy: null, filter: { country: 'NO' } });
    await store.updateEndpoint({ ...ep, ordering: 'key', filter: null, updatedAt: T0 + 2 });
    const violations = [{ path: '/email', message: 'must be string' }];
    const first = (await store.createMessage(message(a.id, { orderingKey: 'K', schemaViolations: violations }), {})).message.id;
    const second = (await store.createMessage(message(a.id, { orderingKey: 'K' }), {})).message.id;
    expect(await store.getMessage(a.id, first)).toMatchObject({ orderingKey: 'K', schemaViolations: violations });
    expect(await taskOf(store, a.id, ep.id, first)).toMatchObject({ orderingSeq: 1, waitingFor: null });
    expect(await taskOf(store, a.id, ep.id, second)).toMatchObject({ orderingSeq: 2, waitingFor: first });
  });

  it('an endpoint without ordering, and one key at two endpoints, number independently', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const plain = await store.createEndpoint(endpoint(a.id));
    const e1 = await store.createEndpoint(endpoint(a.id, { ordering: 'key' }));
    const e2 = await store.createEndpoint(endpoint(a.id, { ordering: 'key' }));
    const m1 = (await store.createMessage(message(a.id, { orderingKey: 'K' }), {})).message.id;
    await store.createEndpoint(endpoint(a.id, { ordering: 'key' })); // joins later: its first for K is 1
    const m2 = (await store.createMessage(message(a.id, { orderingKey: 'K' }), {})).message.id;
    expect(await taskOf(store, a.id, plain.id, m2)).toMatchObject({ orderingSeq: null, waitingFor: null, nextAttemptAt: T0 });
    expect(await taskOf(store, a.id, e1.id, m2)).toMatchObject({ orderingSeq: 2, waitingFor: m1 });
    expect(await taskOf(store, a.id, e2.id, m2)).toMatchObject({ orderingSeq: 2, waitingFor: m1 });
  });

  it('a success releases the next one in the same commit; a scheduled retry does not; the tail closes after the last', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const k1 = await o.send('K');
    const k2 = await o.send('K');
    let c = await claimOf(store, k1, T0);
    await store.completeAttempt(c, failed(c, T0 + 1, T0 + 1000), T0 + 1);
    expect(await o.task(k2)).toMatchObject({ waitingFor: k1, nextAttemptAt: null });
    c = await claimOf(store, k1, T0 + 1000);
    await store.completeAttempt(c, ok(c, T0 + 1001), T0 + 1001);
    expect(await o.task(k2)).toMatchObject({ waitingFor: null, nextAttemptAt: T0 + 1001, status: MessageStatus.pending });
    c = await claimOf(store, k2, T0 + 1001);
    expect(c.orderingSeq).toBe(2);
    await store.completeAttempt(c, ok(c, T0 + 1002), T0 + 1002);
    // Nothing open in K any more: the next message is due at once, numbered on.
    const k3 = await o.send('K', T0 + 2000);
    expect(await o.task(k3)).toMatchObject({ orderingSeq: 3, waitingFor: null, nextAttemptAt: T0 + 2000 });
  });

  it('ends of several keys recorded together each release their own next one', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const heads: string[] = [];
    const nexts: string[] = [];
    for (const k of ['A', 'B', 'C', 'D']) heads.push(await o.send(k));
    for (const k of ['A', 'B', 'C', 'D']) nexts.push(await o.send(k));
    const claimed = await store.claimDueTasks('w', T0, LEASE, 100);
    expect(claimed.map((c) => c.msgId).sort()).toEqual([...heads].sort());
    // Arriving together, they are written together (one batch on PostgreSQL).
    const done = await Promise.all(claimed.map((c, i) => store.completeAttempt(c, i % 2 ? ok(c, T0 + 1) : failed(c, T0 + 1, null), T0 + 1)));
    expect(done.every((d) => d.fenced)).toBe(true);
    for (const n of nexts) expect(await o.task(n)).toMatchObject({ waitingFor: null, nextAttemptAt: T0 + 1 });
    const again = await store.claimDueTasks('w', T0 + 1, LEASE, 100);
    expect(again.map((c) => c.orderingSeq)).toEqual([2, 2, 2, 2]);
  });

  it('ending without success releases the next one too: exhausted, aborted, canceled (endpoint disabled, payload gone)', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const [k1, k2, k3] = [await o.send('K'), await o.send('K'), await o.send('K')];
    let c = await claimOf(store, k1, T0);
    await store.completeAttempt(c, failed(c, T0 + 1, null), T0 + 1); // exhausted or aborted: fail, nothing scheduled
    expect(await o.task(k2)).toMatchObject({ waitingFor: null, nextAttemptAt: T0 + 1 });
    expect(await o.task(k3)).toMatchObject({ waitingFor: k2, nextAttemptAt: null });
    c = await claimOf(store, k2, T0 + 1);
    await store.cancelTask(c, T0 + 2); // what the dispatcher does for a disabled endpoint or an expunged payload
    expect(await o.task(k2)).toMatchObject({ status: MessageStatus.canceled });
    expect(await o.task(k3)).toMatchObject({ waitingFor: null, nextAttemptAt: T0 + 2 });
  });

  it('an outcome written by a dispatcher that lost its lease moves nothing', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const [k1, k2] = [await o.send('K'), await o.send('K')];
    const stale = await claimOf(store, k1, T0);
    await claimOf(store, k1, T0 + LEASE); // the lease lapsed: another dispatcher has it now
    expect((await store.completeAttempt(stale, ok(stale, T0 + LEASE + 1), T0 + LEASE + 1)).fenced).toBe(false);
    await store.cancelTask(stale, T0 + LEASE + 1);
    expect(await o.task(k2)).toMatchObject({ waitingFor: k1, nextAttemptAt: null });
  });

  it('a manual resend of a parked delivery is outside the order: sent now, then parked again until its turn', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const [k1, k2] = [await o.send('K'), await o.send('K')];
    await store.requeueDelivery(k2, o.endpointId, o.appId, T0 + 5);
    let c = await claimOf(store, k2, T0 + 5);
    expect(c.triggerType).toBe(1);
    await store.completeAttempt(c, ok(c, T0 + 6), T0 + 6);
    expect(await o.task(k2)).toMatchObject({ waitingFor: k1, nextAttemptAt: null, status: MessageStatus.pending });
    // Its turn comes when k1 ends; it then goes in order, with its own number.
    c = await claimOf(store, k1, T0 + 7);
    await store.completeAttempt(c, ok(c, T0 + 8), T0 + 8);
    c = await claimOf(store, k2, T0 + 8);
    expect(c).toMatchObject({ triggerType: 0, orderingSeq: 2 });
  });

  it('a resend of a finished delivery does not reopen its key', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const k1 = await o.send('K');
    let c = await claimOf(store, k1, T0);
    await store.completeAttempt(c, ok(c, T0 + 1), T0 + 1);
    await store.requeueDelivery(k1, o.endpointId, o.appId, T0 + 2);
    c = await claimOf(store, k1, T0 + 2);
    await store.completeAttempt(c, failed(c, T0 + 3, null), T0 + 3);
    const k2 = await o.send('K', T0 + 4);
    expect(await o.task(k2)).toMatchObject({ orderingSeq: 2, waitingFor: null, nextAttemptAt: T0 + 4 });
  });

  it('the recovery sweep releases a delivery whose predecessor ended without releasing it, and nothing else', async () => {
    const { store, raw } = t();
    const o = await orderedSetup(store);
    const [k1, k2, k3] = [await o.send('K'), await o.send('K'), await o.send('K')];
    expect(await store.sweepOrder(T0 + 1, 100)).toBe(0);
    // An older Herald (no ordering) ends k1 without knowing of the order.
    const c = await claimOf(store, k1, T0);
    await raw('UPDATE delivery_task SET status = $1, next_attempt_at = NULL WHERE msg_id = $2 RETURNING msg_id', [MessageStatus.success, c.msgId]);
    expect(await o.task(k2)).toMatchObject({ waitingFor: k1, nextAttemptAt: null });
    expect(await store.sweepOrder(T0 + 10, 100)).toBe(1);
    expect(await o.task(k2)).toMatchObject({ waitingFor: null, nextAttemptAt: T0 + 10 });
    expect(await o.task(k3)).toMatchObject({ waitingFor: k2, nextAttemptAt: null });
    expect(await store.sweepOrder(T0 + 11, 100)).toBe(0);
  });

  it('deleting the endpoint cancels its parked deliveries with the rest', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const [k1, k2] = [await o.send('K'), await o.send('K')];
    const before = await o.task(k2);
    await store.deleteEndpoint(o.appId, o.endpointId, T0 + 1);
    const rows = await t().raw('SELECT msg_id, status, next_attempt_at, waiting_for FROM delivery_task ORDER BY msg_id');
    expect(before.waitingFor).toBe(k1);
    expect(rows.map((r) => [r.msg_id, Number(r.status), r.next_attempt_at, r.waiting_for])).toEqual([
      [k1, MessageStatus.canceled, null, null],
      [k2, MessageStatus.canceled, null, null],
    ]);
    // Its order tails go with it.
    expect(await t().raw('SELECT endpoint_id FROM delivery_order')).toEqual([]);
  });

  it('deleting the application removes its endpoints’ order tails, and no other application’s', async () => {
    const { store, raw } = t();
    const o = await orderedSetup(store);
    const other = await orderedSetup(store);
    await o.send('K');
    await other.send('K');
    await store.deleteApplication(o.appId, T0 + 1);
    expect((await raw('SELECT endpoint_id FROM delivery_order')).map((r) => r.endpoint_id)).toEqual([other.endpointId]);
  });

  it('the payload of a parked message is kept by the retention purge', async () => {
    const { store } = t();
    const o = await orderedSetup(store);
    const k1 = await o.send('K');
    const k2 = (await store.createMessage(message(o.appId, { orderingKey: 'K', expiresAt: T0 + 1 }), {})).message.id;
    const c = await claimOf(store, k1, T0);
    await store.completeAttempt(c, failed(c, T0 + 1, T0 + 1e9), T0 + 1);
    expect((await store.purgeBatch('payloads', T0 + 10, 100)).purged).toBe(0);
    expect((await store.getMessage(o.appId, k2))!.payload).not.toBeNull();
  });

  it('accepts and ends racing on one key, from two store instances, never strand a delivery', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    const o = await orderedSetup(store);
    // Each round: accept the next message (on one instance) while ending the open one (on the other).
    let open = await o.send('K');
    const sent = [open];
    for (let i = 1; i <= 40; i++) {
      const c = await claimOf(other, open, T0 + i * 10);
      const [next] = await Promise.all([o.send('K', T0 + i * 10), other.completeAttempt(c, ok(c, T0 + i * 10), T0 + i * 10)]);
      sent.push(next);
      const task = await o.task(next);
      // Either it saw the end (due at once) or it was parked and released by the end: due either way.
      expect(task, `round ${i}`).toMatchObject({ orderingSeq: i + 1, waitingFor: null, nextAttemptAt: T0 + i * 10 });
      open = next;
    }
    expect(await store.sweepOrder(T0 + 1e6, 100)).toBe(0);
  });
});
