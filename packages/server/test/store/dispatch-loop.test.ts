// The dispatcher's claim loop on both stores. PostgreSQL's claim reads its deliveries' messages and
// endpoints in its own statement; on SQLite the dispatcher reads them after the claim, and that read
// does not hold up the next claim, while the deliveries still being read keep their endpoint's
// places, so the next claim does not take more than the endpoint may have in flight.
import { expect, it } from 'vitest';
import { Sender } from '../../src/delivery/send.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { MessageStatus } from '../../src/domain/types.js';
import { SsrfGuard } from '../../src/security/ssrf.js';
import type { Store } from '../../src/store/store.js';
import { Receiver } from '../helpers/receiver.js';
import { eachStore } from './backends.js';
import { app, endpoint, ids, message, taskOf } from './records.js';

/** A dispatcher on `store` delivering to loopback, 8 in flight, polling every `pollMs`. */
function loopDispatcher(store: Store, perEndpointConcurrency: number, pollMs: number): Dispatcher {
  return new Dispatcher({
    store,
    ids,
    now: Date.now,
    retryScheduleMs: [60_000],
    concurrency: 8,
    perEndpointConcurrency,
    leaseMs: 30_000,
    attemptTimeoutMs: 5_000,
    pollMs,
    sender: new Sender({ timeoutMs: 5_000, headerPrefixes: ['webhook'], userAgent: 'test', guard: new SsrfGuard(['127.0.0.0/8']) }),
  });
}

/**
 * A dispatcher on `store` whose first read of a claim (loadDeliveries) waits until `release()`;
 * `reads()` says how many reads have begun.
 */
async function heldFirstRead(store: Store, perEndpointConcurrency: number) {
  const rx = await Receiver.start();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const read = store.loadDeliveries.bind(store);
  let reads = 0;
  store.loadDeliveries = async (tasks) => {
    if (reads++ === 0) await gate;
    return read(tasks);
  };
  const d = loopDispatcher(store, perEndpointConcurrency, 20);
  d.start();
  const a = await store.createApplication(app());
  const send = async () => (await store.createMessage(message(a.id, { createdAt: Date.now() }), {})).message.id;
  return {
    d,
    rx,
    appId: a.id,
    release,
    reads: () => reads,
    send,
    async close() {
      release();
      await d.stop(1_000);
      await rx.close();
    },
  };
}

/** Counts the dispatcher's calls of store.nextDueAt (answering null): the loop should make none. */
function countNextDueAt(store: Store): () => number {
  let asked = 0;
  store.nextDueAt = () => {
    asked++;
    return Promise.resolve(null);
  };
  return () => asked;
}

eachStore('dispatcher: the claim loop', (t, kind) => {
  it('on PostgreSQL a claim brings what its deliveries need: no other statement reads their messages or endpoints', async () => {
    if (kind !== 'postgres') return;
    const { store } = t();
    const pg = store as unknown as { pool: { query: (...a: unknown[]) => unknown }; claimPool: { query: (...a: unknown[]) => unknown } };
    const statements: string[] = [];
    for (const pool of [pg.pool, pg.claimPool]) {
      const query = pool.query.bind(pool);
      pool.query = (...a: unknown[]) => {
        const q = a[0] as string | { name?: string; text: string };
        statements.push(typeof q === 'string' ? q : (q.name ?? q.text));
        return query(...a);
      };
    }
    const rx = await Receiver.start();
    const d = loopDispatcher(store, 8, 20);
    d.start();
    try {
      const a = await store.createApplication(app());
      await store.createEndpoint(endpoint(a.id, { url: rx.url('/one') }));
      await store.createEndpoint(endpoint(a.id, { url: rx.url('/two') }));
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push((await store.createMessage(message(a.id, { createdAt: Date.now() }), {})).message.id);
      await rx.waitUntil(() => sent.every((id) => rx.forMessage('/one', id).length === 1 && rx.forMessage('/two', id).length === 1));
      expect(statements).toContain('herald_claim');
      expect(statements.filter((q) => /FROM message WHERE|FROM endpoint e/.test(q))).toEqual([]);
    } finally {
      await d.stop(1_000);
      await rx.close();
    }
  });

  it("delivers a new message while the previous claim's read is still out", async () => {
    if (kind === 'postgres') return; // its claim reads its deliveries itself: there is no read to hold
    const { store } = t();
    const x = await heldFirstRead(store, 4);
    try {
      // The first endpoint gets the first message; its claim's read is held.
      const ep1 = await store.createEndpoint(endpoint(x.appId, { url: x.rx.url('/one'), eventTypes: ['first.event'] }));
      const first = (await store.createMessage(message(x.appId, { createdAt: Date.now(), eventType: 'first.event' }), {})).message.id;
      await expect.poll(() => x.reads()).toBe(1);
      // Another endpoint's message goes out meanwhile.
      await store.createEndpoint(endpoint(x.appId, { url: x.rx.url('/two'), eventTypes: ['second.event'] }));
      const second = (await store.createMessage(message(x.appId, { createdAt: Date.now(), eventType: 'second.event' }), {})).message.id;
      await x.rx.waitUntil(() => x.rx.forMessage('/two', second).length === 1);
      expect(x.rx.forMessage('/one', first)).toHaveLength(0);
      x.release();
      await x.rx.waitUntil(() => x.rx.forMessage('/one', first).length === 1);
      await expect.poll(async () => (await taskOf(store, x.appId, ep1.id, first)).status).toBe(MessageStatus.success);
    } finally {
      await x.close();
    }
  });

  it('a delivery still being read keeps its place: the next claim leaves the endpoint alone', async () => {
    if (kind === 'postgres') return; // its claim reads its deliveries itself: there is no read to hold
    const { store } = t();
    const x = await heldFirstRead(store, 1);
    try {
      const ep = await store.createEndpoint(endpoint(x.appId, { url: x.rx.url('/hook') }));
      const first = await x.send();
      await expect.poll(() => x.reads()).toBe(1);
      // The endpoint has one place, taken by the delivery being read: the loop goes round (the
      // new message wakes it) and leaves the second one waiting.
      const turns = x.d.turns;
      const second = await x.send();
      await expect.poll(() => x.d.turns).toBeGreaterThan(turns + 1);
      expect((await taskOf(store, x.appId, ep.id, second)).status).toBe(MessageStatus.pending);
      x.release();
      await x.rx.waitUntil(() => x.rx.forMessage('/hook', second).length === 1);
      expect(x.rx.forMessage('/hook', first)).toHaveLength(1);
    } finally {
      await x.close();
    }
  });

  it('while an endpoint has due work waiting for room, claims follow one another, and the loop never asks nextDueAt', async () => {
    const { store } = t();
    const asked = countNextDueAt(store);
    const rx = await Receiver.start();
    // The endpoint's one place stays taken until its first delivery is answered.
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    rx.on('/hook', async () => {
      await held;
      return { status: 200 };
    });
    const d = loopDispatcher(store, 1, 20);
    d.start();
    try {
      const a = await store.createApplication(app());
      await store.createEndpoint(endpoint(a.id, { url: rx.url('/hook') }));
      await store.createMessage(message(a.id, { createdAt: Date.now() }), {});
      await rx.waitUntil(() => rx.received('/hook').length === 1);
      // The only place is taken; a second message is due and waits. Each claim (one every poll)
      // sees it left behind, and the loop sleeps without another statement.
      await store.createMessage(message(a.id, { createdAt: Date.now() }), {});
      const turns = d.turns;
      await expect.poll(() => d.turns).toBeGreaterThan(turns + 4);
      expect(rx.received('/hook')).toHaveLength(1);
      answer();
      await rx.waitUntil(() => rx.received('/hook').length === 2);
      expect(asked()).toBe(0);
    } finally {
      answer();
      await d.stop(1_000);
      await rx.close();
    }
  });

  it('sleeps until the next due time its last claim reported: a delivery due later goes out then, with a poll interval far longer', async () => {
    const { store } = t();
    const asked = countNextDueAt(store);
    const rx = await Receiver.start();
    const d = loopDispatcher(store, 8, 600_000);
    try {
      const a = await store.createApplication(app());
      await store.createEndpoint(endpoint(a.id, { url: rx.url('/later') }));
      // Due shortly, accepted before the dispatcher starts: no wake-up will announce it falling due.
      const later = (await store.createMessage(message(a.id, { createdAt: Date.now() + 300 }), {})).message.id;
      d.start();
      await rx.waitUntil(() => rx.forMessage('/later', later).length === 1);
      expect(asked()).toBe(0);
    } finally {
      await d.stop(1_000);
      await rx.close();
    }
  });
});
