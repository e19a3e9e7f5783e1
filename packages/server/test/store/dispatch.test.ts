// The store's dispatch contract, on SQLite and on PostgreSQL: claims take a lease and bump the
// fencing token, an expired lease makes the task claimable again, a writer holding a stale fence
// can neither overwrite the newer owner's outcome nor lose the attempt it made, manual resends are
// one extra attempt beside the schedule, and exhausted endpoints are disabled once.
import { expect, it } from 'vitest';
import { exhausted } from '../../src/domain/outcome.js';
import { MessageStatus } from '../../src/domain/types.js';
import type { ClaimedTask } from '../../src/store/store.js';
import { eachStore } from './backends.js';
import { app, attemptFor, DAY, endpoint, LEASE, message, page, seed, T0, taskOf } from './records.js';

eachStore('store: claims, leases and fencing', (t) => {
  it('claims only due tasks, each once, and reports when the next one falls due', async () => {
    const { store } = t();
    expect(await store.nextDueAt()).toBeNull();
    await seed(store, 5);
    expect(await store.nextDueAt()).toBe(T0);
    const first = await store.claimDueTasks('w1', T0 + 10, LEASE, 3);
    expect(first).toHaveLength(3);
    // Oldest due first.
    expect(first.map((c) => c.leaseExpiresAt)).toEqual([T0 + 10 + LEASE, T0 + 10 + LEASE, T0 + 10 + LEASE]);
    const second = await store.claimDueTasks('w2', T0 + 10, LEASE, 10);
    expect(second).toHaveLength(2);
    expect(new Set([...first, ...second].map((c) => c.msgId)).size).toBe(5);
    expect(await store.claimDueTasks('w3', T0 + 10, LEASE, 10)).toHaveLength(0);
    // Leased tasks fall due again when their lease runs out.
    expect(await store.nextDueAt()).toBe(T0 + 10 + LEASE);
  });

  it('a claimed delivery brings the traceparent its message was accepted under, for the attempt to continue', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const ep = await store.createEndpoint(endpoint(a.id));
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = (await store.createMessage(message(a.id, { traceparent }), {})).message;
    const plain = (await store.createMessage(message(a.id), {})).message;
    expect((await store.getMessage(a.id, traced.id))?.traceparent).toBe(traceparent);
    const claims = await store.claimDueTasks('w1', T0 + 1, LEASE, 10);
    const loaded = await store.loadDeliveries(claims);
    const byMsg = new Map(claims.map((c, i) => [c.msgId, loaded[i]?.message?.traceparent]));
    expect(Object.fromEntries(byMsg)).toEqual({ [traced.id]: traceparent, [plain.id]: null });
    expect(ep.id).toBe(claims[0]?.endpointId);
  });

  it('a claim carries what the dispatcher needs and shows the task as sending', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 1);
    const [c] = await store.claimDueTasks('w1', T0 + 1, LEASE, 10);
    expect(c).toMatchObject({ msgId: msgIds[0], endpointId, appId, attemptCount: 0, triggerType: 0, leaseExpiresAt: T0 + 1 + LEASE });
    expect(typeof c!.fence).toBe('number');
    const task = await taskOf(store, appId, endpointId, msgIds[0]!);
    expect(task.status).toBe(MessageStatus.sending);
    expect(task.nextAttemptAt).toBe(T0 + 1 + LEASE);
  });

  it('does not claim tasks due later', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    await store.createEndpoint(endpoint(a.id));
    await store.createMessage(message(a.id, { createdAt: T0 + 1000 }), {});
    expect(await store.claimDueTasks('w', T0 + 999, LEASE, 10)).toHaveLength(0);
    expect(await store.claimDueTasks('w', T0 + 1000, LEASE, 10)).toHaveLength(1);
  });

  it('an expired lease is reclaimed with a higher fence; the old owner cannot overwrite the outcome', async () => {
    const { store } = t();
    const { appId, endpointId } = await seed(store, 1);
    const [a] = await store.claimDueTasks('w1', T0, LEASE, 1);
    expect(await store.claimDueTasks('w2', T0 + LEASE - 1, LEASE, 1)).toHaveLength(0);
    const [b] = await store.claimDueTasks('w2', T0 + LEASE, LEASE, 1);
    expect(b!.fence).toBe(a!.fence + 1);

    const won = await store.completeAttempt(
      b!,
      { attempt: attemptFor(b!, T0 + LEASE + 5, true), task: { status: MessageStatus.success, nextAttemptAt: null } },
      T0 + LEASE + 5,
    );
    expect(won.fenced).toBe(true);
    const lost = await store.completeAttempt(
      a!,
      { attempt: attemptFor(a!, T0 + LEASE + 6, false), task: { status: MessageStatus.pending, nextAttemptAt: T0 + 1e6 } },
      T0 + LEASE + 6,
    );
    expect(lost.fenced).toBe(false);

    const task = await taskOf(store, appId, endpointId, a!.msgId);
    expect(task).toMatchObject({ status: MessageStatus.success, nextAttemptAt: null, attemptCount: 1 });
    // Both attempts happened, so both are in the log.
    const log = await store.listAttemptsByMessage(a!.appId, a!.msgId, page());
    expect(log.data.map((x) => x.responseStatusCode).sort()).toEqual([200, 500]);
    // The request's headers are kept as given (JSON text), through the batched write too.
    const kept = `{"webhook-id":"${a!.msgId}","x-api-key":"••••"}`;
    expect(log.data.map((x) => x.requestHeaders)).toEqual([kept, kept]);
    expect(await store.claimDueTasks('w3', T0 + 1e7, LEASE, 10)).toHaveLength(0);
  });

  it('a retry is scheduled by completeAttempt and counted', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 1);
    const [a] = await store.claimDueTasks('w1', T0, LEASE, 1);
    await store.completeAttempt(a!, { attempt: attemptFor(a!, T0 + 1, false), task: { status: MessageStatus.pending, nextAttemptAt: T0 + 5000 } }, T0 + 1);
    expect(await taskOf(store, appId, endpointId, msgIds[0]!)).toMatchObject({ status: MessageStatus.pending, nextAttemptAt: T0 + 5000, attemptCount: 1 });
    expect(await store.claimDueTasks('w1', T0 + 4999, LEASE, 1)).toHaveLength(0);
    const [b] = await store.claimDueTasks('w1', T0 + 5000, LEASE, 1);
    expect(b!.attemptCount).toBe(1);
  });

  it('a deferred task comes back at its time; a stale fence cannot defer or cancel', async () => {
    const { store } = t();
    const { appId, endpointId } = await seed(store, 1);
    const [a] = await store.claimDueTasks('w1', T0, LEASE, 1);
    expect(await store.deferTask(a!, T0 + 500)).toBe(true);
    expect(await store.claimDueTasks('w1', T0 + 499, LEASE, 1)).toHaveLength(0);
    const [b] = await store.claimDueTasks('w1', T0 + 500, LEASE, 1);
    expect(b!.msgId).toBe(a!.msgId);
    expect(await store.deferTask(a!, T0 + 1)).toBe(false);
    await store.cancelTask(a!, T0 + 2);
    expect((await taskOf(store, appId, endpointId, a!.msgId)).status).toBe(MessageStatus.sending);
    // The current owner can cancel.
    await store.cancelTask(b!, T0 + 3);
    expect(await taskOf(store, appId, endpointId, a!.msgId)).toMatchObject({ status: MessageStatus.canceled, nextAttemptAt: null });
  });

  it('releasing leases on shutdown makes them due at once for anyone', async () => {
    const { store } = t();
    await seed(store, 2);
    expect(await store.claimDueTasks('w1', T0 + 1, LEASE, 10)).toHaveLength(2);
    expect(await store.claimDueTasks('w2', T0 + 2, LEASE, 10)).toHaveLength(0);
    await store.releaseLeases('w2', T0 + 2);
    expect(await store.claimDueTasks('w2', T0 + 2, LEASE, 10)).toHaveLength(0);
    await store.releaseLeases('w1', T0 + 2);
    expect(await store.claimDueTasks('w2', T0 + 2, LEASE, 10)).toHaveLength(2);
  });

  it('exhausting deliveries for long enough disables the endpoint, durably, with a reason; a success resets the streak', async () => {
    const { store } = t();
    const { appId, endpointId } = await seed(store, 3);
    const exhaust = async (c: ClaimedTask, at: number) =>
      store.completeAttempt(
        c,
        { attempt: attemptFor(c, at, false), task: { status: MessageStatus.fail, nextAttemptAt: null }, endpoint: exhausted(at, 5 * DAY) },
        at,
      );
    const [t1, t2, t3] = await store.claimDueTasks('w', T0 + 2, LEASE, 3);
    expect(await exhaust(t1!, T0 + 1)).toEqual({ fenced: true, disabled: false, failSince: T0 + 1 });
    await store.completeAttempt(
      t2!,
      { attempt: attemptFor(t2!, T0 + 2, true), task: { status: MessageStatus.success, nextAttemptAt: null }, endpoint: { kind: 'success' } },
      T0 + 2,
    );
    expect((await exhaust(t3!, T0 + 5 * DAY + 1)).disabled).toBe(false);
    await store.createMessage(message(appId, { createdAt: T0 + 10 }), {});
    await store.createMessage(message(appId, { createdAt: T0 + 11 }), {});
    const [t4, t5] = await store.claimDueTasks('w', T0 + 10 * DAY + 2, LEASE, 2);
    const r = await exhaust(t4!, T0 + 10 * DAY + 2);
    expect(r.disabled).toBe(true);
    expect(r.failSince).toBe(T0 + 5 * DAY + 1);
    const ep = await store.getEndpoint(appId, endpointId);
    expect(ep!.disabled).toBe(true);
    expect(ep!.disabledReason).toMatch(/failed for 5 days/);
    // Disabled once: a later exhausted delivery does not report it again.
    expect((await exhaust(t5!, T0 + 10 * DAY + 3)).disabled).toBe(false);
    // A disabled endpoint receives no new deliveries.
    expect((await store.createMessage(message(appId, { createdAt: T0 + 12 }), {})).tasks).toHaveLength(0);
  });

  it('two dispatchers (processes) exhausting one endpoint at once: it is disabled, and reported, once', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    const { appId, endpointId } = await seed(store, 6);
    const claimed = await store.claimDueTasks('w', T0 + 10, LEASE, 6);
    const exhaust = (s: typeof store, c: ClaimedTask) =>
      s.completeAttempt(
        c,
        { attempt: attemptFor(c, T0 + 6 * DAY, false), task: { status: MessageStatus.fail, nextAttemptAt: null }, endpoint: exhausted(T0 + 6 * DAY, 5 * DAY) },
        T0 + 6 * DAY,
      );
    // The streak started long ago.
    await exhaust(store, claimed[0]!).then((r) => expect(r.disabled).toBe(false));
    const rest = await Promise.all(claimed.slice(1).map((c, i) => exhaust(i % 2 ? store : other, c)));
    expect(rest.every((r) => r.fenced)).toBe(true);
    expect(rest.filter((r) => r.disabled)).toHaveLength(0);
    // Same instant as the first failure: 0 days. Now move on past 5 days with fresh deliveries.
    await store.createMessage(message(appId, { createdAt: T0 + 20 }), {});
    await store.createMessage(message(appId, { createdAt: T0 + 21 }), {});
    await store.createMessage(message(appId, { createdAt: T0 + 22 }), {});
    const late = await store.claimDueTasks('w', T0 + 12 * DAY, LEASE, 3);
    const at = T0 + 12 * DAY;
    const results = await Promise.all(
      late.map((c, i) =>
        (i % 2 ? other : store).completeAttempt(
          c,
          { attempt: attemptFor(c, at, false), task: { status: MessageStatus.fail, nextAttemptAt: null }, endpoint: exhausted(at, 5 * DAY) },
          at,
        ),
      ),
    );
    expect(results.filter((r) => r.disabled)).toHaveLength(1);
    expect((await store.getEndpoint(appId, endpointId))!.disabled).toBe(true);
  });

  it('an outright disable (e.g. a 410) disables at once with its reason', async () => {
    const { store } = t();
    const { appId, endpointId } = await seed(store, 1);
    const [c] = await store.claimDueTasks('w', T0, LEASE, 1);
    const r = await store.completeAttempt(
      c!,
      { attempt: attemptFor(c!, T0 + 1, false), task: { status: MessageStatus.fail, nextAttemptAt: null }, endpoint: { kind: 'disable', reason: 'gone' } },
      T0 + 1,
    );
    expect(r.disabled).toBe(true);
    expect(await store.getEndpoint(appId, endpointId)).toMatchObject({ disabled: true, disabledReason: 'gone' });
  });
});

eachStore('store: manual resend and recover', (t) => {
  it('a resend of a finished delivery is one manual attempt that does not count against the budget', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 1);
    const [a] = await store.claimDueTasks('w', T0, LEASE, 1);
    await store.completeAttempt(a!, { attempt: attemptFor(a!, T0 + 1, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, T0 + 1);
    let woke = 0;
    store.onTasksDue(() => woke++);
    await store.requeueDelivery(msgIds[0]!, endpointId, appId, T0 + 100);
    expect(woke).toBe(1);
    const [m] = await store.claimDueTasks('w', T0 + 100, LEASE, 1);
    expect(m).toMatchObject({ triggerType: 1, attemptCount: 1 });
    await store.completeAttempt(m!, { attempt: attemptFor(m!, T0 + 101, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, T0 + 101);
    expect(await taskOf(store, appId, endpointId, msgIds[0]!)).toMatchObject({ status: MessageStatus.fail, attemptCount: 1, nextAttemptAt: null });
    const log = await store.listAttemptsByMessage(appId, msgIds[0]!, page({ order: 'ascending' }));
    expect(log.data.map((x) => x.triggerType)).toEqual([0, 1]);
  });

  it('a resend that jumps ahead of a scheduled retry hands back to that retry when it fails', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 1);
    const [a] = await store.claimDueTasks('w', T0, LEASE, 1);
    await store.completeAttempt(a!, { attempt: attemptFor(a!, T0 + 1, false), task: { status: MessageStatus.pending, nextAttemptAt: T0 + 1e6 } }, T0 + 1);
    await store.requeueDelivery(msgIds[0]!, endpointId, appId, T0 + 10);
    const [m] = await store.claimDueTasks('w', T0 + 10, LEASE, 1);
    expect(m!.triggerType).toBe(1);
    // The manual attempt fails, and the dispatcher would call it final; the schedule resumes.
    await store.completeAttempt(m!, { attempt: attemptFor(m!, T0 + 11, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, T0 + 11);
    expect(await taskOf(store, appId, endpointId, msgIds[0]!)).toMatchObject({ status: MessageStatus.pending, nextAttemptAt: T0 + 1e6, attemptCount: 1 });
    const [s] = await store.claimDueTasks('w', T0 + 1e6, LEASE, 1);
    expect(s).toMatchObject({ triggerType: 0, attemptCount: 1 });
  });

  it('a resend while an attempt is in flight fences that attempt out', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 1);
    const [a] = await store.claimDueTasks('w', T0, LEASE, 1);
    await store.requeueDelivery(msgIds[0]!, endpointId, appId, T0 + 5);
    const late = await store.completeAttempt(a!, { attempt: attemptFor(a!, T0 + 6, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, T0 + 6);
    expect(late.fenced).toBe(false);
    const [m] = await store.claimDueTasks('w', T0 + 6, LEASE, 1);
    expect(m).toMatchObject({ triggerType: 1 });
    await store.completeAttempt(m!, { attempt: attemptFor(m!, T0 + 7, true), task: { status: MessageStatus.success, nextAttemptAt: null } }, T0 + 7);
    expect(await taskOf(store, appId, endpointId, msgIds[0]!)).toMatchObject({ status: MessageStatus.success });
  });

  it('a resend to an endpoint the message never went to creates that delivery', async () => {
    const { store } = t();
    const a = await store.createApplication(app());
    const e1 = await store.createEndpoint(endpoint(a.id, { eventTypes: ['other'] }));
    const { message: m } = await store.createMessage(message(a.id), {});
    expect((await store.listMessageDestinations(a.id, m.id, page())).data).toHaveLength(0);
    await store.requeueDelivery(m.id, e1.id, a.id, T0 + 1);
    const [c] = await store.claimDueTasks('w', T0 + 1, LEASE, 5);
    expect(c).toMatchObject({ msgId: m.id, endpointId: e1.id, triggerType: 1, attemptCount: 0 });
  });

  it('recover makes the failed deliveries in the window due again, and only those', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 3);
    const claimed = await store.claimDueTasks('w', T0 + 5, LEASE, 3);
    for (const c of claimed) {
      const ok = c.msgId === msgIds[1];
      await store.completeAttempt(
        c,
        { attempt: attemptFor(c, T0 + 6, ok), task: { status: ok ? MessageStatus.success : MessageStatus.fail, nextAttemptAt: null } },
        T0 + 6,
      );
    }
    let woke = 0;
    store.onTasksDue(() => woke++);
    expect(await store.recoverEndpoint(appId, endpointId, T0 + 1000, T0 + 2000, T0 + 10)).toBe(0);
    expect(woke).toBe(0);
    expect(await store.recoverEndpoint(appId, endpointId, T0 - 1000, T0 + 1000, T0 + 10)).toBe(2);
    expect(woke).toBe(1);
    const again = await store.claimDueTasks('w', T0 + 10, LEASE, 10);
    expect(again.map((c) => c.msgId).sort()).toEqual([msgIds[0], msgIds[2]].sort());
    expect(again.every((c) => c.triggerType === 1)).toBe(true);
  });
});

eachStore('store: stats', (t) => {
  it('endpointStats counts deliveries by state in the window; queueStats sees waiting and due work', async () => {
    const { store } = t();
    const { appId, endpointId } = await seed(store, 4);
    await store.createMessage(message(appId, { createdAt: T0 + 60_000 }), {});
    expect(await store.queueStats(T0 + 10)).toEqual({ waiting: 5, due: 4, oldestDueAgeMs: 10 });
    const [a, b] = await store.claimDueTasks('w', T0 + 10, LEASE, 2);
    await store.completeAttempt(a!, { attempt: attemptFor(a!, T0 + 11, true), task: { status: MessageStatus.success, nextAttemptAt: null } }, T0 + 11);
    expect(b).toBeDefined();
    const [c] = await store.claimDueTasks('w', T0 + 12, LEASE, 1);
    await store.completeAttempt(c!, { attempt: attemptFor(c!, T0 + 13, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, T0 + 13);
    expect(await store.endpointStats(appId, endpointId, T0 - 1000, T0 + 1000)).toEqual({ success: 1, pending: 1, sending: 1, fail: 1, canceled: 0 });
    expect(await store.endpointStats(appId, endpointId, T0 - 1000, T0 + 120_000)).toEqual({ success: 1, pending: 2, sending: 1, fail: 1, canceled: 0 });
    expect(await store.queueStats(T0 + 20)).toEqual({ waiting: 3, due: 1, oldestDueAgeMs: 17 });
  });
});

eachStore('store: reading a claim and completing many at once', (t, kind) => {
  it('a claim that reads its deliveries itself (PostgreSQL) gives each task, in claim order, what loadDeliveries reads', async () => {
    const { store } = t();
    const a = await store.createApplication(app({ throttleRate: 7, deliveryPolicy: { timeout: 9 } }));
    await store.createEndpoint(endpoint(a.id, { throttleRate: 3, headers: { 'x-tenant': 'one' } }));
    await store.createEndpoint(endpoint(a.id, { deliveryPolicy: { retrySchedule: [] } }));
    const other = await store.createApplication(app());
    await store.createEndpoint(endpoint(other.id));
    for (let i = 0; i < 3; i++) await store.createMessage(message(a.id, { createdAt: T0 + i, payload: `{"n":${i}}` }), {});
    await store.createMessage(message(other.id, { createdAt: T0 + 5 }), {});
    const c = await store.claim('w', T0 + 10, LEASE, 100);
    // Each message goes to both of its application's endpoints: messages and endpoints repeat.
    expect(c.tasks).toHaveLength(7);
    if (kind === 'postgres') expect(c.contexts).toHaveLength(7);
    if (!c.contexts) return;
    expect(c.contexts).toEqual(await store.loadDeliveries(c.tasks));
    expect(new Set(c.contexts.map((x) => x.endpoint!.id)).size).toBe(3);
  });

  it('loadDeliveries gives each claimed task, in claim order, its endpoint, its message and the rate that applies', async () => {
    const { store } = t();
    const a = await store.createApplication(app({ throttleRate: 7 }));
    const own = await store.createEndpoint(endpoint(a.id, { throttleRate: 3, headers: { 'x-tenant': 'one' } }));
    const inherits = await store.createEndpoint(endpoint(a.id));
    const doomed = await store.createEndpoint(endpoint(a.id));
    const other = await store.createApplication(app());
    const elsewhere = await store.createEndpoint(endpoint(other.id));
    const m1 = (await store.createMessage(message(a.id, { createdAt: T0 }), {})).message;
    const m2 = (await store.createMessage(message(a.id, { createdAt: T0 + 1, payload: '{"b":2}' }), {})).message;
    await store.createMessage(message(other.id, { createdAt: T0 + 2 }), {});
    const claimed = await store.claimDueTasks('w', T0 + 10, LEASE, 100);
    expect(claimed).toHaveLength(7);
    // After the claim: one endpoint is deleted, one message's payload purged.
    await store.deleteEndpoint(a.id, doomed.id, T0 + 11);
    await store.expungeMessageContent(a.id, m2.id);
    const loaded = await store.loadDeliveries(claimed);
    expect(loaded).toHaveLength(claimed.length);
    claimed.forEach((c, i) => {
      const ctx = loaded[i]!;
      if (c.endpointId === doomed.id) {
        expect(ctx.endpoint).toBeNull();
        return;
      }
      expect(ctx.endpoint!.id).toBe(c.endpointId);
      expect(ctx.message!.id).toBe(c.msgId);
      expect(ctx.message!.payload).toBe(c.msgId === m1.id ? '{"a":1}' : c.msgId === m2.id ? null : '{"a":1}');
      if (c.endpointId === own.id) {
        expect(ctx.throttleRate).toBe(3);
        expect(ctx.endpoint!.headers).toEqual({ 'x-tenant': 'one' });
        expect(ctx.endpoint!.secret).toBe(own.secret);
      } else if (c.endpointId === inherits.id) {
        expect(ctx.throttleRate).toBe(7);
      } else {
        expect(c.endpointId).toBe(elsewhere.id);
        expect(ctx.throttleRate).toBeNull();
      }
    });
    expect(await store.loadDeliveries([])).toEqual([]);
  });

  it('keeps applications’ and endpoints’ delivery policies, and gives each claimed task its application’s', async () => {
    const { store } = t();
    const a = await store.createApplication(app({ deliveryPolicy: { retrySchedule: ['1m', '2h'], timeout: 9 } }));
    const ep = await store.createEndpoint(endpoint(a.id, { deliveryPolicy: { retrySchedule: [] } }));
    expect((await store.getApplication(a.id))!.deliveryPolicy).toEqual({ retrySchedule: ['1m', '2h'], timeout: 9 });
    expect((await store.getEndpoint(a.id, ep.id))!.deliveryPolicy).toEqual({ retrySchedule: [] });
    const plain = await store.createApplication(app());
    const plainEp = await store.createEndpoint(endpoint(plain.id));
    await store.createMessage(message(a.id, { createdAt: T0 }), {});
    await store.createMessage(message(plain.id, { createdAt: T0 + 1 }), {});
    const claimed = await store.claimDueTasks('w', T0 + 10, LEASE, 100);
    const loaded = await store.loadDeliveries(claimed);
    const byEndpoint = new Map(claimed.map((c, i) => [c.endpointId, loaded[i]!]));
    expect(byEndpoint.get(ep.id)!.appPolicy).toEqual({ retrySchedule: ['1m', '2h'], timeout: 9 });
    expect(byEndpoint.get(ep.id)!.endpoint!.deliveryPolicy).toEqual({ retrySchedule: [] });
    expect(byEndpoint.get(plainEp.id)!.appPolicy).toBeNull();
    expect(byEndpoint.get(plainEp.id)!.endpoint!.deliveryPolicy).toBeNull();
    // A change is read by the next claim.
    await store.updateApplication({ ...a, deliveryPolicy: { timeout: 3 }, updatedAt: T0 + 20 });
    await store.updateEndpoint({ ...(await store.getEndpoint(a.id, ep.id))!, deliveryPolicy: null, updatedAt: T0 + 20 });
    const again = await store.loadDeliveries(claimed.filter((c) => c.endpointId === ep.id));
    expect(again[0]!.appPolicy).toEqual({ timeout: 3 });
    expect(again[0]!.endpoint!.deliveryPolicy).toBeNull();
  });

  it('completions arriving together each get their own outcome: success, retry, fenced out, failed resend handed back', async () => {
    const { store } = t();
    const { appId, endpointId, msgIds } = await seed(store, 40);
    // Message 0 has a scheduled retry that a manual resend jumps ahead of.
    const [first] = await store.claimDueTasks('w', T0 + 100, LEASE, 1);
    expect(first!.msgId).toBe(msgIds[0]);
    await store.completeAttempt(
      first!,
      { attempt: attemptFor(first!, T0 + 101, false), task: { status: MessageStatus.pending, nextAttemptAt: T0 + 1e6 } },
      T0 + 101,
    );
    await store.requeueDelivery(msgIds[0]!, endpointId, appId, T0 + 102);
    const stale = await store.claimDueTasks('old', T0 + 103, LEASE, 5);
    // The old owner's leases lapse; a new owner takes everything, stale tasks included.
    const claimed = await store.claimDueTasks('w', T0 + 103 + LEASE, LEASE, 100);
    expect(claimed).toHaveLength(40);
    const at = T0 + 104 + LEASE;
    const outcome = (i: number) => (i % 3 === 0 ? 'retry' : 'success');
    const results = await Promise.all([
      ...claimed.map((c) => {
        const i = msgIds.indexOf(c.msgId);
        if (c.triggerType === 1) {
          return store.completeAttempt(c, { attempt: attemptFor(c, at, false), task: { status: MessageStatus.fail, nextAttemptAt: null } }, at);
        }
        return outcome(i) === 'retry'
          ? store.completeAttempt(c, { attempt: attemptFor(c, at, false), task: { status: MessageStatus.pending, nextAttemptAt: T0 + 2e6 + i } }, at)
          : store.completeAttempt(
              c,
              { attempt: attemptFor(c, at, true), task: { status: MessageStatus.success, nextAttemptAt: null }, endpoint: { kind: 'success' } },
              at,
            );
      }),
      ...stale.map((c) => store.completeAttempt(c, { attempt: attemptFor(c, at, true), task: { status: MessageStatus.success, nextAttemptAt: null } }, at)),
    ]);
    expect(results.slice(0, claimed.length).every((r) => r.fenced && !r.disabled)).toBe(true);
    expect(results.slice(claimed.length).map((r) => r.fenced)).toEqual(stale.map(() => false));
    for (const c of claimed) {
      const i = msgIds.indexOf(c.msgId);
      const task = await taskOf(store, appId, endpointId, c.msgId);
      if (i === 0) expect(task).toMatchObject({ status: MessageStatus.pending, nextAttemptAt: T0 + 1e6, attemptCount: 1 });
      else if (outcome(i) === 'retry') expect(task).toMatchObject({ status: MessageStatus.pending, nextAttemptAt: T0 + 2e6 + i, attemptCount: 1 });
      else expect(task).toMatchObject({ status: MessageStatus.success, nextAttemptAt: null, attemptCount: 1 });
    }
    // Every attempt is logged, the fenced-out ones too.
    const [n] = await t().raw('SELECT COUNT(*) AS n FROM attempt WHERE app_id = $1', [appId]);
    expect(Number(n!.n)).toBe(1 + claimed.length + stale.length);
  });
});
