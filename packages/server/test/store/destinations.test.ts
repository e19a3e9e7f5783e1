// The store's destinations contract, on SQLite and on PostgreSQL: records of any type with their
// config sealed at rest, a temporary destination's lease, polling consumers' positions, and the
// attempts a reader reports (recorded with the consumer's position in one commit).
import { expect, it } from 'vitest';
import type { Destination } from '../../src/domain/destinations.js';
import { MessageStatus, type Attempt } from '../../src/domain/types.js';
import { StoreConflictError } from '../../src/store/errors.js';
import { Purger } from '../../src/dispatch/purger.js';
import { eachStore } from './backends.js';
import { app, ids, message, page, T0 } from './records.js';

function destination(appId: string, o: Partial<Destination> = {}): Destination {
  return {
    id: ids.next('destination', T0),
    appId,
    uid: null,
    type: 'pollingEndpoint',
    status: 'enabled',
    eventTypes: null,
    channels: null,
    metadata: {},
    batchSize: 100,
    maxWaitSecs: 0,
    config: { secret: 'whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==' },
    leaseMs: null,
    expiresAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...o,
  };
}

function attempt(appId: string, msgId: string, destinationId: string, at: number, code = 200): Attempt {
  return {
    id: ids.next('attempt', at),
    msgId,
    endpointId: destinationId,
    appId,
    url: 'http://127.0.0.1:9/hook',
    response: 'ok',
    responseStatusCode: code,
    responseDurationMs: 3,
    requestHeaders: null,
    status: code < 300 ? MessageStatus.success : MessageStatus.fail,
    triggerType: 0,
    createdAt: at,
  };
}

eachStore('store: destinations', (t) => {
  it('creates, reads by id and uid, lists, updates and deletes a destination; the config is sealed at rest', async () => {
    const { store, raw } = t();
    const a = await store.createApplication(app());
    const other = await store.createApplication(app());
    const d = await store.createDestination(destination(a.id, { uid: 'pull-1', eventTypes: ['user.created'], channels: ['eu'], metadata: { k: 'v' } }));
    expect(await store.getDestination(a.id, d.id)).toEqual(d);
    expect(await store.getDestination(a.id, 'pull-1')).toEqual(d);
    expect(await store.getDestination(other.id, d.id)).toBeNull();

    const [row] = await raw('SELECT config_sealed FROM destination WHERE id = $1', [d.id]);
    expect(String(row!.config_sealed)).toMatch(/^sealed:v1:/);
    expect(String(row!.config_sealed)).not.toContain('c2VjcmV0');

    await expect(store.createDestination(destination(a.id, { uid: 'pull-1' }))).rejects.toBeInstanceOf(StoreConflictError);
    const d2 = await store.createDestination(destination(a.id));
    const listed = await store.listDestinations(a.id, page({ order: 'ascending' }));
    expect(listed.data.map((x) => x.id)).toEqual([d.id, d2.id]);

    const updated = await store.updateDestination({ ...d, status: 'disabled', eventTypes: null, updatedAt: T0 + 1 });
    expect(await store.getDestination(a.id, d.id)).toEqual(updated);

    await store.deleteDestination(a.id, d.id, T0 + 2);
    expect(await store.getDestination(a.id, d.id)).toBeNull();
    expect(await store.getDestination(a.id, 'pull-1')).toBeNull();
    // The uid is free again.
    await store.createDestination(destination(a.id, { uid: 'pull-1' }));
    await expect(store.updateDestination(updated)).rejects.toBeInstanceOf(StoreConflictError);
  });

  it("keeps each consumer's position; forward-only writes never take it back; a deleted destination forgets them", async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const d = await store.createDestination(destination(a.id));
    const [m1, m2] = [ids.next('message', T0 + 10), ids.next('message', T0 + 20)];
    expect(await store.getConsumerPosition(d.id, 'c')).toBeNull();
    await store.setConsumerPosition(d.id, 'c', m2, T0, true);
    await store.setConsumerPosition(d.id, 'c', m1, T0, true);
    expect(await store.getConsumerPosition(d.id, 'c')).toBe(m2);
    expect(await store.getConsumerPosition(d.id, 'other')).toBeNull();
    await store.setConsumerPosition(d.id, 'c', m1, T0, false);
    expect(await store.getConsumerPosition(d.id, 'c')).toBe(m1);
    await store.deleteDestination(a.id, d.id, T0);
    expect(await store.getConsumerPosition(d.id, 'c')).toBeNull();
    // A read that was in flight when the destination went does not bring a position back.
    await store.setConsumerPosition(d.id, 'c', m2, T0, false);
    expect(await store.getConsumerPosition(d.id, 'c')).toBeNull();
  });

  it("records a reported attempt in the message's attempt log and moves the consumer forward with it", async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const d = await store.createDestination(destination(a.id));
    const { message: m1 } = await store.createMessage(message(a.id, { createdAt: T0 + 10 }), {});
    const { message: m2 } = await store.createMessage(message(a.id, { createdAt: T0 + 20 }), {});
    await store.recordDestinationAttempt(attempt(a.id, m2.id, d.id, T0 + 30), { destinationId: d.id, consumerId: 'listen' });
    expect(await store.getConsumerPosition(d.id, 'listen')).toBe(m2.id);
    // A late report for an older message is recorded but does not take the position back.
    const late = attempt(a.id, m1.id, d.id, T0 + 40, 500);
    await store.recordDestinationAttempt(late, { destinationId: d.id, consumerId: 'listen' });
    expect(await store.getConsumerPosition(d.id, 'listen')).toBe(m2.id);
    const log = await store.listAttemptsByMessage(a.id, m1.id, page());
    expect(log.data).toEqual([late]);
    const byDest = await store.listAttemptsByEndpoint(a.id, d.id, page());
    expect(byDest.data.map((x) => x.msgId)).toEqual([m1.id, m2.id]);
  });

  it('renews a lease only forwards and removes destinations whose lease ran out', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const temp = await store.createDestination(destination(a.id, { leaseMs: 60_000, expiresAt: T0 + 60_000 }));
    const perm = await store.createDestination(destination(a.id));
    await store.setConsumerPosition(temp.id, 'c', ids.next('message', T0), T0, false);
    await store.renewDestinationLease(temp.id, T0 + 90_000);
    await store.renewDestinationLease(temp.id, T0 + 70_000);
    expect((await store.getDestination(a.id, temp.id))!.expiresAt).toBe(T0 + 90_000);
    expect(await store.expireDestinations(T0 + 89_999, 10)).toBe(0);
    expect(await store.expireDestinations(T0 + 90_000, 10)).toBe(1);
    expect(await store.getDestination(a.id, temp.id)).toBeNull();
    expect(await store.getConsumerPosition(temp.id, 'c')).toBeNull();
    expect(await store.getDestination(a.id, perm.id)).not.toBeNull();
  });

  it("is part of the master-key re-seal sweep: a destination's config not under the current key is sealed again", async () => {
    const { store, raw } = t();
    const a = await store.createApplication(app());
    const d = await store.createDestination(destination(a.id));
    // A value the current key did not seal (here: not sealed at all), as a rotation leaves behind.
    await raw('UPDATE destination SET config_sealed = \'{"secret":"whsec_plain"}\' WHERE id = $1 RETURNING id', [d.id]);
    let found = 0;
    let cursor = null;
    do {
      const r: Awaited<ReturnType<typeof store.resealBatch>> = await store.resealBatch(100, cursor);
      found += r.found;
      cursor = r.next;
    } while (cursor);
    expect(found).toBe(1);
    expect((await store.getDestination(a.id, d.id))!.config).toEqual({ secret: 'whsec_plain' });
    const [row] = await raw('SELECT config_sealed FROM destination WHERE id = $1', [d.id]);
    expect(String(row!.config_sealed)).toMatch(/^sealed:v1:/);
  });

  it('the retention pass removes temporary destinations whose lease ran out', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const gone = await Promise.all([1, 2, 3].map(() => store.createDestination(destination(a.id, { leaseMs: 10_000, expiresAt: T0 + 10_000 }))));
    const live = await store.createDestination(destination(a.id, { leaseMs: 10_000, expiresAt: T0 + 20_000 }));
    // A batch of 2 makes the pass go round more than once.
    await new Purger({ store, now: () => T0 + 15_000, attemptRetentionMs: null, batchSize: 2, intervalMs: 3_600_000, minPauseMs: 0 }).runPass();
    for (const d of gone) expect(await store.getDestination(a.id, d.id)).toBeNull();
    expect(await store.getDestination(a.id, live.id)).not.toBeNull();
  });
});
