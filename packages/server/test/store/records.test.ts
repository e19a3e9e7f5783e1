// The store's record-keeping contract, on SQLite and on PostgreSQL: applications, event types,
// endpoints (secrets sealed at rest), messages with their delivery tasks and filters, attempts,
// cursor pagination in both directions, idempotent answers, portal sessions, background tasks.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { StoreConflictError } from '../../src/store/errors.js';
import { IdGenerator } from '../../src/domain/ids.js';
import type { Page } from '../../src/domain/pagination.js';
import { MessageStatus } from '../../src/domain/types.js';
import { eachStore } from './backends.js';
import { app, attemptFor, endpoint, eventType, ids, LEASE, message, page, seed, T0, taskOf } from './records.js';

const is409 = (e: unknown) => e instanceof StoreConflictError && e.code === 'conflict';

/** Walk a list forwards to the end, then backwards from the end to the start. */
async function walk<T>(list: (q: ReturnType<typeof page>) => Promise<Page<T>>, limit: number, order: 'ascending' | 'descending', key: (x: T) => string) {
  const forward: string[] = [];
  let p = await list(page({ limit, order }));
  forward.push(...p.data.map(key));
  while (!p.done) {
    p = await list(page({ limit, order, after: p.iterator }));
    forward.push(...p.data.map(key));
  }
  // Back from the last page's start (the last page itself is what we are on).
  const backward: string[] = p.data.map(key);
  let prev = p.prevIterator;
  // Page back from the last page's start until nothing is left.
  for (let i = 0; i < 100 && prev; i++) {
    const b = await list(page({ limit, order, before: prev.slice(1) }));
    backward.unshift(...b.data.map(key));
    if (b.done) break;
    prev = b.prevIterator;
  }
  return { forward, backward };
}

/** Byte-wise order, as both stores must sort ids and names. */
const byteSort = (xs: string[]) => [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

eachStore('store: applications', (t) => {
  it('creates and finds by id and by uid; ids and uids are unique; updates and deletes', async () => {
    const { store } = t();
    const a = await store.createApplication(app({ uid: 'acme', name: 'Acme', metadata: { tier: 'gold', b: '1', a: '2' }, throttleRate: 5 }));
    expect(await store.getApplication(a.id)).toEqual(a);
    expect(await store.getApplication('acme')).toEqual(a);
    expect(Object.keys((await store.getApplication(a.id))!.metadata)).toEqual(['tier', 'b', 'a']);
    await expect(store.createApplication(app({ uid: 'acme' }))).rejects.toSatisfy(is409);
    await expect(store.createApplication(app({ id: a.id }))).rejects.toSatisfy(is409);
    const b = await store.createApplication(app({ uid: 'other' }));
    await expect(store.updateApplication({ ...b, uid: 'acme' })).rejects.toSatisfy(is409);
    const b2 = await store.updateApplication({ ...b, name: 'renamed', uid: 'other2', updatedAt: T0 + 5 });
    expect(await store.getApplication('other2')).toEqual(b2);
    expect(await store.getApplication('other')).toBeNull();

    await store.deleteApplication(a.id, T0 + 10);
    expect(await store.getApplication(a.id)).toBeNull();
    expect(await store.getApplication('acme')).toBeNull();
    await expect(store.updateApplication({ ...a, name: 'x' })).rejects.toSatisfy(is409);
    // The uid is released at once.
    const c = await store.createApplication(app({ uid: 'acme' }));
    expect((await store.getApplication('acme'))!.id).toBe(c.id);
  });

  it('deleting an application cancels its pending deliveries', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 2);
    await store.deleteApplication(appId, T0 + 5);
    expect(await store.claimDueTasks('w', T0 + 10, LEASE, 10)).toHaveLength(0);
    expect(await store.getEndpoint(appId, endpointId)).toBeNull();
    expect(await store.nextDueAt()).toBeNull();
    expect(msgIds).toHaveLength(2);
  });

  it('pages forwards and backwards in both orders, sorting ids byte-wise', async () => {
    const { store } = t();
    // Ids minted by different generators in one millisecond differ in their random part, which
    // mixes upper and lower case: a linguistic collation would order them differently.
    const made: string[] = [];
    for (let i = 0; i < 13; i++) {
      const id = new IdGenerator((n) => randomBytes(n)).next('application', T0);
      await store.createApplication(app({ id }));
      made.push(id);
    }
    const asc = byteSort(made);
    for (const limit of [1, 4, 13, 50]) {
      const a = await walk(
        (q) => store.listApplications(q),
        limit,
        'ascending',
        (x) => x.id,
      );
      expect(a.forward).toEqual(asc);
      expect(a.backward).toEqual(asc);
      const d = await walk(
        (q) => store.listApplications(q),
        limit,
        'descending',
        (x) => x.id,
      );
      expect(d.forward).toEqual([...asc].reverse());
      expect(d.backward).toEqual([...asc].reverse());
    }
    const empty = await store.listApplications(page({ after: asc.at(-1)!, order: 'ascending' }));
    expect(empty).toEqual({ data: [], iterator: asc.at(-1), prevIterator: null, done: true });
  });
});

eachStore('store: event types', (t) => {
  it('puts (insert or replace), lists by name with or without archived, reports missing ones, expunges', async () => {
    const { store } = t();
    const schemas = { '1': { type: 'object', required: ['z', 'a'], properties: { z: { type: 'string' }, a: { type: 'number' } } } };
    await store.putEventType(eventType('user.created', { schemas, groupName: 'user', featureFlag: 'beta' }));
    await store.putEventType(eventType('User.deleted'));
    await store.putEventType(eventType('invoice.paid', { archived: true }));
    const got = await store.getEventType('user.created');
    expect(got).toEqual(eventType('user.created', { schemas, groupName: 'user', featureFlag: 'beta' }));
    expect(JSON.stringify(got!.schemas)).toBe(JSON.stringify(schemas));
    await store.putEventType(eventType('user.created', { description: 'new', deprecated: true, updatedAt: T0 + 1 }));
    expect(await store.getEventType('user.created')).toMatchObject({ description: 'new', deprecated: true, schemas: null, updatedAt: T0 + 1 });

    const live = await store.listEventTypes(page({ order: 'ascending' }), false);
    expect(live.data.map((e) => e.name)).toEqual(['User.deleted', 'user.created']);
    const all = await walk(
      (q) => store.listEventTypes(q, true),
      1,
      'ascending',
      (e) => e.name,
    );
    expect(all.forward).toEqual(['User.deleted', 'invoice.paid', 'user.created']);
    expect(all.backward).toEqual(all.forward);

    expect(await store.missingEventTypes([])).toEqual([]);
    expect(await store.missingEventTypes(['user.created', 'invoice.paid', 'nope'])).toEqual(['invoice.paid', 'nope']);
    await store.expungeEventType('user.created');
    expect(await store.getEventType('user.created')).toBeNull();
  });
});

eachStore('store: endpoints', (t, kind) => {
  it('keeps secrets and headers sealed at rest and returns them in plaintext', async () => {
    const { store, raw } = t();
    const a = await store.createApplication(app());
    const ep = endpoint(a.id, {
      headers: { 'X-Api-Key': 'hunter2-header' },
      previousSecrets: [{ key: 'whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xk', expiresAt: T0 + 1000 }],
      eventTypes: ['a', 'b'],
      channels: ['c'],
      metadata: { k: 'v' },
      uid: 'ep-1',
      throttleRate: 3,
      description: 'd',
    });
    await store.createEndpoint(ep);
    expect(await store.getEndpoint(a.id, ep.id)).toEqual(ep);
    expect(await store.getEndpoint(a.id, 'ep-1')).toEqual(ep);
    const rows = await raw('SELECT headers_sealed, secret_sealed, previous_secrets_sealed FROM endpoint WHERE id = $1', [ep.id]);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(ep.secret);
    expect(stored).not.toContain('hunter2-header');
    expect(stored).not.toContain('b2xkb2xkb2xk');
    expect(rows[0]!.secret_sealed).toMatch(/^sealed:v1:/);
  });

  it("keeps an endpoint's authentication settings sealed at rest, returns them whole, and clears them", async () => {
    const { store, raw } = t();
    const a = await store.createApplication(app());
    const auth = {
      http: { type: 'basic' as const, username: 'u', password: 'hunter2-basic' },
      mtls: { identity: '-----BEGIN PRIVATE KEY-----\nhunter2-key\n-----END PRIVATE KEY-----\n' },
      ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    };
    const ep = await store.createEndpoint(endpoint(a.id, { auth }));
    expect((await store.getEndpoint(a.id, ep.id))?.auth).toEqual(auth);
    const rows = await raw('SELECT auth_sealed FROM endpoint WHERE id = $1', [ep.id]);
    expect(rows[0]!.auth_sealed).toMatch(/^sealed:v1:/);
    expect(JSON.stringify(rows)).not.toContain('hunter2');
    // An update that carries the settings keeps them; one without clears them.
    await store.updateEndpoint({ ...ep, description: 'moved', updatedAt: T0 + 1 });
    expect((await store.getEndpoint(a.id, ep.id))?.auth).toEqual(auth);
    await store.updateEndpoint({ ...ep, auth: null, updatedAt: T0 + 2 });
    expect((await store.getEndpoint(a.id, ep.id))?.auth).toBeNull();
    expect((await raw('SELECT auth_sealed FROM endpoint WHERE id = $1', [ep.id]))[0]!.auth_sealed).toBeNull();
  });

  it("keeps an endpoint's transformation, returns it with the endpoint and with a claimed delivery, and clears it", async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const transformation = { code: 'function handler(webhook) {\n  webhook.payload.n = "ü€";\n  return webhook;\n}', enabled: true, updatedAt: T0 };
    const ep = await store.createEndpoint(endpoint(a.id, { transformation }));
    expect((await store.getEndpoint(a.id, ep.id))?.transformation).toEqual(transformation);
    await store.createMessage(message(a.id), {});
    const claimed = await store.claimDueTasks('w', T0 + 10, LEASE, 10);
    const [loaded] = await store.loadDeliveries(claimed);
    expect(loaded!.endpoint!.transformation).toEqual(transformation);
    // An update that carries it keeps it; one with null clears it.
    await store.updateEndpoint({ ...ep, description: 'moved', updatedAt: T0 + 1 });
    expect((await store.getEndpoint(a.id, ep.id))?.transformation).toEqual(transformation);
    const off = { ...transformation, enabled: false, updatedAt: T0 + 2 };
    await store.updateEndpoint({ ...ep, transformation: off, updatedAt: T0 + 2 });
    expect((await store.getEndpoint(a.id, ep.id))?.transformation).toEqual(off);
    await store.updateEndpoint({ ...ep, transformation: null, updatedAt: T0 + 3 });
    expect((await store.getEndpoint(a.id, ep.id))?.transformation).toBeNull();
  });

  it('uids are unique per application; updates, deletes and lists', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const b = await store.createApplication(app());
    const e1 = await store.createEndpoint(endpoint(a.id, { uid: 'main' }));
    await expect(store.createEndpoint(endpoint(a.id, { uid: 'main' }))).rejects.toSatisfy(is409);
    await expect(store.createEndpoint(endpoint(a.id, { id: e1.id }))).rejects.toSatisfy(is409);
    await store.createEndpoint(endpoint(b.id, { uid: 'main' }));
    // Not visible through another application.
    expect(await store.getEndpoint(b.id, e1.id)).toBeNull();
    const e2 = await store.createEndpoint(endpoint(a.id));
    await expect(store.updateEndpoint({ ...e2, uid: 'main' })).rejects.toSatisfy(is409);
    const e2b = await store.updateEndpoint({ ...e2, url: 'https://example.org/x', secret: 'whsec_new', disabled: true, updatedAt: T0 + 9 });
    expect(await store.getEndpoint(a.id, e2.id)).toEqual(e2b);

    const listed = await walk(
      (q) => store.listEndpoints(a.id, q),
      1,
      'ascending',
      (e) => e.id,
    );
    expect(listed.forward).toEqual([e1.id, e2.id]);
    expect(listed.backward).toEqual([e1.id, e2.id]);

    await store.deleteEndpoint(a.id, e1.id, T0 + 10);
    expect(await store.getEndpoint(a.id, e1.id)).toBeNull();
    await expect(store.updateEndpoint(e1)).rejects.toSatisfy(is409);
    expect((await store.listEndpoints(a.id, page())).data.map((e) => e.id)).toEqual([e2.id]);
    // The uid is free again.
    await store.createEndpoint(endpoint(a.id, { uid: 'main' }));
  });

  it('deleting an endpoint cancels its pending deliveries', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 1);
    await store.deleteEndpoint(appId, endpointId, T0 + 1);
    expect(await store.claimDueTasks('w', T0 + 10, LEASE, 10)).toHaveLength(0);
    expect(await taskOf(store, appId, endpointId, msgIds[0]!)).toMatchObject({ status: MessageStatus.canceled, nextAttemptAt: null });
  });

  it('deleting an endpoint or an application cancels every pending delivery, over many batches, and only theirs', async () => {
    const { store } = t();
    store.cancelBatch = 4;
    const a = await store.createApplication(app());
    const gone = await store.createEndpoint(endpoint(a.id));
    const kept = await store.createEndpoint(endpoint(a.id));
    const b = await store.createApplication(app());
    await store.createEndpoint(endpoint(b.id));
    await store.createEndpoint(endpoint(b.id));
    const msgs = { a: [] as string[], b: [] as string[] };
    for (let i = 0; i < 13; i++) {
      msgs.a.push((await store.createMessage(message(a.id, { createdAt: T0 + i }), {})).message.id);
      msgs.b.push((await store.createMessage(message(b.id, { createdAt: T0 + i }), {})).message.id);
    }
    const statuses = async (appId: string, endpointId: string, ids: string[]) =>
      new Set(await Promise.all(ids.map(async (m) => (await taskOf(store, appId, endpointId, m)).status)));
    await store.deleteEndpoint(a.id, gone.id, T0 + 20);
    expect(await statuses(a.id, gone.id, msgs.a)).toEqual(new Set([MessageStatus.canceled]));
    expect(await statuses(a.id, kept.id, msgs.a)).toEqual(new Set([MessageStatus.pending]));
    await store.deleteApplication(b.id, T0 + 21);
    const bEndpoints = (await store.claimDueTasks('w', T0 + 30, LEASE, 100)).map((c) => c.appId);
    expect(bEndpoints).not.toContain(b.id);
    expect(bEndpoints.filter((x) => x === a.id)).toHaveLength(13);
  });

  it('between the batches of a deletion nothing is held: the tasks not yet canceled stay unlocked, and other writes go in between', async () => {
    const { store, raw } = t();
    store.cancelBatch = 10;
    const { appId, endpointId } = await seed(store, 100);
    const b = await store.createApplication(app());
    await store.createEndpoint(endpoint(b.id));
    const canceled = async () =>
      (await raw('SELECT count(*) AS n FROM delivery_task WHERE endpoint_id = $1 AND status = $2', [endpointId, MessageStatus.canceled]))[0]!.n;
    const seen: { canceled?: unknown; unlocked?: unknown; acceptedFirst?: boolean }[] = [];
    let deletionDone = false;
    if (kind === 'postgres') {
      // Before the second batch's statement: a claim's connection can lock every task not yet canceled.
      const pool = (store as unknown as { pool: { query: (...a: unknown[]) => Promise<unknown> } }).pool;
      const claimPool = (store as unknown as { claimPool: { query: (sql: string, v: unknown[]) => Promise<{ rows: { n: unknown }[] }> } }).claimPool;
      const query = pool.query.bind(pool);
      let batches = 0;
      pool.query = async (...a: unknown[]) => {
        if (typeof a[0] === 'string' && a[0].includes('WITH c AS MATERIALIZED') && ++batches === 2) {
          const r = await claimPool.query(
            'SELECT count(*)::int AS n FROM (SELECT 1 FROM delivery_task WHERE endpoint_id = $1 AND next_attempt_at IS NOT NULL FOR UPDATE SKIP LOCKED) x',
            [endpointId],
          );
          seen.push({ canceled: Number(await canceled()), unlocked: r.rows[0]!.n });
        }
        return query(...a);
      };
    } else {
      // After the first batch's write: another tenant's message is accepted before the deletion ends.
      const writes = (store as unknown as { writes: { run: (fn: () => unknown) => Promise<unknown> } }).writes;
      const run = writes.run.bind(writes);
      let n = 0;
      writes.run = (fn: () => unknown) => {
        const p = run(fn);
        if (++n === 2) {
          void p.then(() => store.createMessage(message(b.id, { createdAt: T0 + 50 }), {})).then(() => seen.push({ acceptedFirst: !deletionDone }));
        }
        return p;
      };
    }
    await store.deleteEndpoint(appId, endpointId, T0 + 40);
    deletionDone = true;
    await expect.poll(() => seen.length).toBe(1);
    if (kind === 'postgres') expect(seen[0]).toEqual({ canceled: 10, unlocked: 90 });
    else expect(seen[0]).toEqual({ acceptedFirst: true });
    expect(Number(await canceled())).toBe(100);
  });
});

eachStore('store: messages', (t) => {
  it('creates one delivery task per matching endpoint, in the same commit, and wakes dispatchers', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const all = await store.createEndpoint(endpoint(a.id));
    const typed = await store.createEndpoint(endpoint(a.id, { eventTypes: ['user.created'] }));
    await store.createEndpoint(endpoint(a.id, { eventTypes: ['invoice.paid'] }));
    const chan = await store.createEndpoint(endpoint(a.id, { channels: ['eu'] }));
    await store.createEndpoint(endpoint(a.id, { disabled: true }));
    let woke = 0;
    store.onTasksDue(() => woke++);
    const payload = '{ "spaced" :  [1, 2.50, "é"] }';
    const r = await store.createMessage(message(a.id, { channels: ['eu', 'us'], payload, createdAt: T0 + 7 }), {});
    expect(woke).toBe(1);
    expect(r.tasks.map((x) => x.endpointId).sort()).toEqual([all.id, typed.id, chan.id].sort());
    expect(r.tasks[0]).toMatchObject({ status: MessageStatus.pending, attemptCount: 0, nextAttemptAt: T0 + 7 });
    // Payloads are kept byte for byte.
    expect((await store.getMessage(a.id, r.message.id))!.payload).toBe(payload);
    const dests = await store.listMessageDestinations(a.id, r.message.id, page({ order: 'ascending' }));
    expect(dests.data.map((d) => d.endpoint.id)).toEqual(byteSort([all.id, typed.id, chan.id]));
    expect(dests.data[0]!.endpoint.secret).toMatch(/^whsec_/);
    // No endpoint matches: no task, no wake-up.
    const none = await store.createMessage(message(a.id, { eventType: 'nothing', channels: ['asia'] }), {});
    expect(none.tasks.map((x) => x.endpointId)).toEqual([all.id]);
    const only = await store.createMessage(message(a.id, { eventType: 'nothing' }), { onlyEndpointId: typed.id, triggerType: 1 });
    expect(only.tasks.map((x) => x.endpointId)).toEqual([typed.id]);
  });

  it('fans out by content filter in the commit, for one message and for several; an edited filter applies at once', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const se = await store.createEndpoint(endpoint(a.id, { filter: { 'customer.country': { $eq: 'SE' } } }));
    const big = await store.createEndpoint(endpoint(a.id, { filter: { total: { $gte: 100 } } }));
    const all = await store.createEndpoint(endpoint(a.id));
    expect((await store.getEndpoint(a.id, se.id))!.filter).toEqual({ 'customer.country': { $eq: 'SE' } });
    const one = await store.createMessage(message(a.id, { payload: '{"customer":{"country":"SE"},"total":5}' }), {});
    expect(one.tasks.map((x) => x.endpointId).sort()).toEqual([se.id, all.id].sort());
    const many = await store.createMessages(
      [message(a.id, { payload: '{"customer":{"country":"NO"},"total":500}' }), message(a.id, { payload: '{"customer":{"country":"SE"},"total":500}' })],
      {},
    );
    expect(
      many.tasks
        .filter((x) => x.msgId === many.messages[0]!.id)
        .map((x) => x.endpointId)
        .sort(),
    ).toEqual([big.id, all.id].sort());
    expect(
      many.tasks
        .filter((x) => x.msgId === many.messages[1]!.id)
        .map((x) => x.endpointId)
        .sort(),
    ).toEqual([se.id, big.id, all.id].sort());
    await store.updateEndpoint({ ...(await store.getEndpoint(a.id, big.id))!, filter: { total: { $lt: 100 } }, updatedAt: T0 + 1 });
    const after = await store.createMessage(message(a.id, { payload: '{"total":5}' }), {});
    expect(after.tasks.map((x) => x.endpointId).sort()).toEqual([big.id, all.id].sort());
  });

  it('keeps an event type’s schema enforcement and a message’s schema violations', async () => {
    const { store } = t();
    await store.putEventType(eventType('checked.one', { schemaEnforcement: 'warn' }));
    expect((await store.getEventType('checked.one'))!.schemaEnforcement).toBe('warn');
    await store.putEventType(eventType('checked.one', { schemaEnforcement: 'reject', updatedAt: T0 + 1 }));
    expect((await store.getEventType('checked.one'))!.schemaEnforcement).toBe('reject');
    const a = await store.createApplication(app());
    const violations = [{ path: '/email', message: 'must match format "email"' }];
    const m = (await store.createMessage(message(a.id, { schemaViolations: violations }), {})).message;
    expect((await store.getMessage(a.id, m.id))!.schemaViolations).toEqual(violations);
    const many = await store.createMessages([message(a.id, { schemaViolations: violations }), message(a.id)], {});
    expect((await store.getMessage(a.id, many.messages[0]!.id))!.schemaViolations).toEqual(violations);
    expect((await store.getMessage(a.id, many.messages[1]!.id))!.schemaViolations).toBeNull();
  });

  it('eventIds are unique per application; find by id or eventId; expunge the payload', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const b = await store.createApplication(app());
    const m = (await store.createMessage(message(a.id, { eventId: 'evt-1' }), {})).message;
    await expect(store.createMessage(message(a.id, { eventId: 'evt-1' }), {})).rejects.toSatisfy(is409);
    await store.createMessage(message(b.id, { eventId: 'evt-1' }), {});
    expect(await store.getMessage(a.id, 'evt-1')).toEqual(m);
    expect(await store.getMessage(a.id, m.id)).toEqual(m);
    expect(await store.getMessage(b.id, m.id)).toBeNull();
    await store.expungeMessageContent(a.id, m.id);
    expect((await store.getMessage(a.id, m.id))!.payload).toBeNull();
    // The failed duplicate left nothing behind.
    expect((await store.listMessages(a.id, page())).data).toHaveLength(1);
  });

  it('createApp creates the application in the same commit, or uses the one that has its uid', async () => {
    const { store } = t();
    const first = app({ uid: 'tenant-9' });
    const r1 = await store.createMessage(message('ignored'), { createApp: first });
    expect(r1.message.appId).toBe(first.id);
    expect(await store.getApplication('tenant-9')).toEqual(first);
    const second = app({ uid: 'tenant-9' });
    const r2 = await store.createMessage(message('ignored'), { createApp: second });
    expect(r2.message.appId).toBe(first.id);
    expect(await store.getApplication(second.id)).toBeNull();
  });

  it('messages creating one application by uid from two processes at once all land in one application', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).createMessage(message('ignored'), { createApp: app({ uid: 'racy' }) })),
    );
    const winner = (await store.getApplication('racy'))!;
    expect(new Set(results.map((r) => r.message.appId))).toEqual(new Set([winner.id]));
    expect((await store.listMessages(winner.id, page())).data).toHaveLength(6);
    expect((await store.listApplications(page())).data).toHaveLength(1);
  });

  it('lists with event type, channel and time filters, paging both ways', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const ep = await store.createEndpoint(endpoint(a.id));
    const ms = [];
    for (let i = 0; i < 6; i++) {
      ms.push(
        (await store.createMessage(message(a.id, { eventType: i % 2 ? 'odd' : 'even', channels: i < 3 ? ['low'] : null, createdAt: T0 + i * 1000 }), {}))
          .message,
      );
    }
    const idsOf = (p: Page<{ id: string }>) => p.data.map((m) => m.id);
    expect(idsOf(await store.listMessages(a.id, page()))).toEqual(ms.map((m) => m.id).reverse());
    expect(idsOf(await store.listMessages(a.id, { ...page({ order: 'ascending' }), eventTypes: ['odd'] }))).toEqual([ms[1]!.id, ms[3]!.id, ms[5]!.id]);
    expect(idsOf(await store.listMessages(a.id, { ...page({ order: 'ascending' }), channel: 'low' }))).toEqual([ms[0]!.id, ms[1]!.id, ms[2]!.id]);
    expect(idsOf(await store.listMessages(a.id, { ...page({ order: 'ascending' }), afterMs: T0 + 1000, beforeMs: T0 + 4000 }))).toEqual([ms[2]!.id, ms[3]!.id]);
    const w = await walk(
      (q) => store.listMessages(a.id, q),
      4,
      'descending',
      (m) => m.id,
    );
    expect(w.forward).toEqual(ms.map((m) => m.id).reverse());
    expect(w.backward).toEqual(w.forward);

    // The endpoint's view: messages with the delivery's state, same filters plus status.
    const em = await store.listEndpointMessages(a.id, ep.id, { ...page({ order: 'ascending' }), eventTypes: ['even'], channel: 'low' });
    expect(em.data.map((d) => d.message.id)).toEqual([ms[0]!.id, ms[2]!.id]);
    expect(em.data[0]!.task).toMatchObject({ endpointId: ep.id, status: MessageStatus.pending });
    const [c] = await store.claimDueTasks('w', T0, LEASE, 1);
    await store.completeAttempt(c!, { attempt: attemptFor(c!, T0 + 1, true), task: { status: MessageStatus.success, nextAttemptAt: null } }, T0 + 1);
    const ok = await store.listEndpointMessages(a.id, ep.id, { ...page(), status: MessageStatus.success });
    expect(ok.data.map((d) => d.message.id)).toEqual([ms[0]!.id]);
    const late = await store.listEndpointMessages(a.id, ep.id, { ...page({ order: 'ascending' }), afterMs: T0 + 3500 });
    expect(late.data.map((d) => d.message.id)).toEqual([ms[4]!.id, ms[5]!.id]);
  });
});

eachStore('store: attempts', (t) => {
  it('lists attempts by endpoint and by message with filters; finds and expunges one', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const e1 = await store.createEndpoint(endpoint(a.id));
    const e2 = await store.createEndpoint(endpoint(a.id));
    const m1 = (await store.createMessage(message(a.id, { eventType: 'x', channels: ['ch'] }), {})).message;
    const m2 = (await store.createMessage(message(a.id, { eventType: 'y', createdAt: T0 + 1 }), {})).message;
    const claimed = await store.claimDueTasks('w', T0 + 10, LEASE, 10);
    expect(claimed).toHaveLength(4);
    const codes = [200, 404, 503, 0];
    const made = [];
    for (const [i, c] of claimed.entries()) {
      const code = codes[i]!;
      const at = T0 + 100 + i * 1000;
      const att = attemptFor(c, at, code === 200, { responseStatusCode: code });
      made.push(att);
      await store.completeAttempt(c, { attempt: att, task: { status: code === 200 ? MessageStatus.success : MessageStatus.fail, nextAttemptAt: null } }, at);
    }
    const byEp1 = await store.listAttemptsByEndpoint(a.id, e1.id, page({ order: 'ascending' }));
    expect(byEp1.data.map((x) => x.id)).toEqual(made.filter((x) => x.endpointId === e1.id).map((x) => x.id));
    const byMsg = await store.listAttemptsByMessage(a.id, m1.id, page());
    expect(byMsg.data).toHaveLength(2);
    expect(byMsg.data.every((x) => x.msgId === m1.id)).toBe(true);
    const onlyE2 = await store.listAttemptsByMessage(a.id, m1.id, { ...page(), endpointId: e2.id });
    expect(onlyE2.data.map((x) => x.endpointId)).toEqual([e2.id]);

    const all = async (q: object) =>
      [
        ...(await store.listAttemptsByEndpoint(a.id, e1.id, { ...page(), ...q })).data,
        ...(await store.listAttemptsByEndpoint(a.id, e2.id, { ...page(), ...q })).data,
      ]
        .map((x) => x.responseStatusCode)
        .sort();
    expect(await all({ status: MessageStatus.success })).toEqual([200]);
    expect(await all({ statusCodeClass: 400 })).toEqual([404]);
    expect(await all({ statusCodeClass: 500 })).toEqual([503]);
    expect(await all({ statusCodeClass: 0 })).toEqual([0]);
    expect((await all({ eventTypes: ['y'] })).length).toBe(2);
    expect((await all({ channel: 'ch' })).length).toBe(2);
    expect(await all({ afterMs: T0 + 1500, beforeMs: T0 + 2500 })).toEqual([503]);

    const one = made[0]!;
    expect(await store.getAttempt(a.id, one.msgId, one.id)).toEqual(one);
    expect(await store.getAttempt(a.id, m2.id === one.msgId ? m1.id : m2.id, one.id)).toBeNull();
    await store.expungeAttemptContent(a.id, one.id);
    expect((await store.getAttempt(a.id, one.msgId, one.id))!.response).toBe('EXPUNGED');
  });
});

eachStore('store: idempotency, sessions and background tasks', (t) => {
  it('keeps the newest answer per key within the window', async () => {
    const { store } = t();
    const key = randomBytes(32).toString('base64url');
    expect(await store.getIdempotentResponse(key, 0)).toBeNull();
    await store.putIdempotentResponse(key, { status: 200, body: '{"n":1}', createdAt: T0 });
    await store.putIdempotentResponse(key, { status: 201, body: '{"n":2}', createdAt: T0 + 5 });
    expect(await store.getIdempotentResponse(key, T0)).toEqual({ status: 201, body: '{"n":2}', createdAt: T0 + 5 });
    expect(await store.getIdempotentResponse(key, T0 + 6)).toBeNull();
    expect(await store.getIdempotentResponse(randomBytes(32).toString('base64url'), 0)).toBeNull();
  });

  it('many look-ups at once each get their own answer, with writes between them', async () => {
    const { store } = t();
    const keys = Array.from({ length: 60 }, () => randomBytes(32).toString('base64url'));
    // Every third key answered, each with its own body; every fifth of those outside the window.
    for (let i = 0; i < keys.length; i += 3) {
      await store.putIdempotentResponse(keys[i]!, { status: 201, body: `{"i":${i}}`, createdAt: i % 5 === 0 ? T0 - 10 : T0 });
    }
    const want = (i: number) => (i % 3 === 0 && i % 5 !== 0 ? { status: 201, body: `{"i":${i}}`, createdAt: T0 } : null);
    // Asked all at once, twice over, with a write queued in the same turn of the event loop.
    const late = randomBytes(32).toString('base64url');
    const [first, , wrote] = await Promise.all([
      Promise.all(keys.map((k) => store.getIdempotentResponse(k, T0))),
      Promise.all(keys.map((k) => store.getIdempotentResponse(k, T0))),
      store.putIdempotentResponse(late, { status: 202, body: '{"late":1}', createdAt: T0 }),
    ]);
    expect(wrote).toBeUndefined();
    first.forEach((r, i) => expect(r, `key ${i}`).toEqual(want(i)));
    const again = await Promise.all([...keys, late].map((k) => store.getIdempotentResponse(k, T0)));
    again.slice(0, -1).forEach((r, i) => expect(r, `key ${i}`).toEqual(want(i)));
    expect(again.at(-1)).toEqual({ status: 202, body: '{"late":1}', createdAt: T0 });
  });

  it('an idempotent write stores its answer in the same commit, and a failed write stores none', async () => {
    const { store } = t();
    const k1 = randomBytes(32).toString('base64url');
    const a = app({ uid: 'u1' });
    await store.createApplication(a, { key: k1, status: 201, body: (r) => JSON.stringify({ id: r.id }), now: T0 });
    expect(await store.getIdempotentResponse(k1, 0)).toEqual({ status: 201, body: JSON.stringify({ id: a.id }), createdAt: T0 });
    const k2 = randomBytes(32).toString('base64url');
    await expect(store.createApplication(app({ uid: 'u1' }), { key: k2, status: 201, body: () => '{}', now: T0 })).rejects.toSatisfy(is409);
    expect(await store.getIdempotentResponse(k2, 0)).toBeNull();
    const k3 = randomBytes(32).toString('base64url');
    const r = await store.createMessage(message(a.id), { idem: { key: k3, status: 202, body: (m) => m.id, now: T0 } });
    expect((await store.getIdempotentResponse(k3, 0))!.body).toBe(r.message.id);
    // A message answer stored by reference: no body at all, the message id to render it from.
    const k4 = randomBytes(32).toString('base64url');
    const body = () => {
      throw new Error('a message answer stored by reference is not serialized');
    };
    const m4 = await store.createMessage(message(a.id), { idem: { key: k4, status: 202, body, msgId: (m) => m.id, now: T0 } });
    expect(await store.getIdempotentResponse(k4, 0)).toEqual({ status: 202, body: '', msgId: m4.message.id, createdAt: T0 });
    for (const [k, write] of [
      ['ep', (idem: never) => store.createEndpoint(endpoint(a.id), idem)],
      ['et', (idem: never) => store.putEventType(eventType('e.t'), idem)],
      [
        'ps',
        (idem: never) =>
          store.createPortalSession(
            { id: ids.next('session', T0), appId: a.id, permissions: ['view'], featureFlags: [], createdAt: T0, expiresAt: T0 + 1, revokedAt: null },
            idem,
          ),
      ],
    ] as const) {
      const key = randomBytes(32).toString('base64url');
      await write({ key, status: 201, body: () => k, now: T0 } as never);
      expect((await store.getIdempotentResponse(key, 0))!.body).toBe(k);
    }
  });

  it('portal sessions: create, find, revoke once', async () => {
    const { store } = t();
    const s = {
      id: ids.next('session', T0),
      appId: 'app_x',
      permissions: ['view', 'manage'] as ('view' | 'manage')[],
      featureFlags: ['f1'],
      createdAt: T0,
      expiresAt: T0 + 3600_000,
      revokedAt: null,
    };
    await store.createPortalSession(s);
    expect(await store.getPortalSession(s.id)).toEqual(s);
    await store.revokePortalSession(s.id, T0 + 5);
    await store.revokePortalSession(s.id, T0 + 9);
    expect((await store.getPortalSession(s.id))!.revokedAt).toBe(T0 + 5);
    expect(await store.getPortalSession('sess_nope')).toBeNull();
  });

  it('background tasks: create, update, find', async () => {
    const { store } = t();
    const bt = {
      id: ids.next('task', T0),
      appId: 'app_1',
      kind: 'endpoint.recover',
      status: 'running' as const,
      data: { z: 1, a: [1, 2] },
      createdAt: T0,
      updatedAt: T0,
    };
    expect(await store.createBackgroundTask(bt)).toEqual(bt);
    expect(await store.getBackgroundTask(bt.id)).toEqual(bt);
    await store.updateBackgroundTask({ ...bt, status: 'finished', data: { n: 3 }, updatedAt: T0 + 1 });
    expect(await store.getBackgroundTask(bt.id)).toEqual({ ...bt, status: 'finished', data: { n: 3 }, updatedAt: T0 + 1 });
    expect(await store.getBackgroundTask('qtask_nope')).toBeNull();
    // The application is recorded (a portal token reads only its own application's tasks).
    const orphan = { ...bt, id: ids.next('task', T0 + 2), appId: null };
    await store.createBackgroundTask(orphan);
    expect((await store.getBackgroundTask(orphan.id))!.appId).toBeNull();
  });

  it('ping answers', async () => {
    const { store } = t();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(['sqlite', 'postgres']).toContain(store.kind);
    expect(store.location).not.toMatch(/password|@/);
  });
});
