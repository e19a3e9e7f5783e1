// The fair claim, on SQLite and on PostgreSQL: applications take turns, then their endpoints,
// oldest first within an endpoint; a claim takes no more for an endpoint than the room it is
// given; and both stores choose exactly what domain/fairness.ts fairPick chooses.
import { expect, it } from 'vitest';
import { fairPick, type ClaimRoom } from '../../src/domain/fairness.js';
import type { Store } from '../../src/store/store.js';
import { eachStore } from './backends.js';
import { app, endpoint, LEASE, message, T0 } from './records.js';

const noRoomLimit = (cap: number): ClaimRoom => ({ cap, below: new Map() });

/** `n` messages to every endpoint of the application, created (and due) from `from`, 1 ms apart. */
async function send(store: Store, appId: string, n: number, from: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.createMessage(message(appId, { createdAt: from + i }), {});
}

async function tenant(store: Store, endpoints = 1) {
  const a = await store.createApplication(app());
  const eps: string[] = [];
  for (let i = 0; i < endpoints; i++) eps.push((await store.createEndpoint(endpoint(a.id))).id);
  return { appId: a.id, eps };
}

eachStore('store: the fair claim', (t) => {
  it("a tenant's backlog does not keep another's newer deliveries out of a claim", async () => {
    const { store } = t();
    const a = await tenant(store);
    const b = await tenant(store);
    await send(store, a.appId, 400, T0); // older than all of B's
    await send(store, b.appId, 3, T0 + 10_000);
    const claimed = await store.claimDueTasks('w', T0 + 20_000, LEASE, 10);
    expect(claimed).toHaveLength(10);
    // B's three come in the first three turns, A's oldest seven fill the rest.
    expect(claimed.filter((c) => c.appId === b.appId)).toHaveLength(3);
    expect(claimed.slice(0, 6).map((c) => c.appId)).toEqual([a.appId, b.appId, a.appId, b.appId, a.appId, b.appId]);
    const aTimes = claimed.filter((c) => c.appId === a.appId).map((c) => c.msgId);
    expect(aTimes).toEqual([...aTimes].sort());
  });

  it('within an application its endpoints take turns; within an endpoint the oldest goes first', async () => {
    const { store } = t();
    const a = await tenant(store);
    const slowEp = a.eps[0]!;
    // A second endpoint that only gets the later messages (event type filter).
    const other = (await store.createEndpoint(endpoint(a.appId, { eventTypes: ['late.event'] }))).id;
    await send(store, a.appId, 50, T0);
    for (let i = 0; i < 2; i++) await store.createMessage(message(a.appId, { createdAt: T0 + 1000 + i, eventType: 'late.event' }), {});
    const claimed = await store.claimDueTasks('w', T0 + 5000, LEASE, 6);
    // Both endpoints get a share although slowEp's 50 are all older.
    expect(claimed.map((c) => c.endpointId)).toEqual([slowEp, other, slowEp, other, slowEp, slowEp]);
  });

  it('takes no more for an endpoint than its room: none for a full one, the cap for the rest', async () => {
    const { store } = t();
    const a = await tenant(store, 2);
    const [full, open] = a.eps as [string, string];
    const b = await tenant(store);
    await send(store, a.appId, 20, T0);
    await send(store, b.appId, 20, T0);
    const room: ClaimRoom = { cap: 3, below: new Map([[full, 0]]) };
    const claimed = await store.claimDueTasks('w', T0 + 100, LEASE, 100, room);
    const per = (ep: string) => claimed.filter((c) => c.endpointId === ep).length;
    expect(per(full)).toBe(0);
    expect(per(open)).toBe(3);
    expect(per(b.eps[0]!)).toBe(3);
    expect(claimed).toHaveLength(6);
    // An endpoint below the cap gets what is left of its places.
    const again = await store.claimDueTasks('w', T0 + 100, LEASE, 100, { cap: 0, below: new Map([[full, 2]]) });
    expect(again.map((c) => c.endpointId)).toEqual([full, full]);
  });

  it('chooses exactly what domain/fairness.ts fairPick chooses, in its order', async () => {
    const { store, raw } = t();
    // Three tenants with 1–3 endpoints each, messages at scattered times, some tasks due later.
    let seedN = 7;
    const rnd = () => (seedN = (seedN * 48271) % 2147483647) / 2147483647;
    const now = T0 + 500;
    for (let k = 0; k < 3; k++) {
      const x = await tenant(store, k + 1);
      for (let i = 0; i < 25; i++) await store.createMessage(message(x.appId, { createdAt: T0 + Math.floor(rnd() * 700) }), {});
    }
    const due = (await raw('SELECT msg_id, endpoint_id, app_id, next_attempt_at FROM delivery_task WHERE next_attempt_at <= $1', [now])).map((r) => ({
      msgId: String(r.msg_id),
      endpointId: String(r.endpoint_id),
      appId: String(r.app_id),
      dueAt: Number(r.next_attempt_at),
    }));
    const someEp = due[0]!.endpointId;
    const room: ClaimRoom = { cap: 4, below: new Map([[someEp, 1]]) };
    const expected = fairPick(due, 17, room);
    const claimed = await store.claimDueTasks('w', now, LEASE, 17, room);
    expect(claimed.map((c) => `${c.endpointId} ${c.msgId}`)).toEqual(expected.map((c) => `${c.endpointId} ${c.msgId}`));
    // With no room given, a claim is still fair and capped only by its limit.
    const rest = await store.claimDueTasks('w', now, LEASE, 1000);
    const left = due.filter((d) => !claimed.some((c) => c.msgId === d.msgId && c.endpointId === d.endpointId));
    expect(rest.map((c) => `${c.endpointId} ${c.msgId}`)).toEqual(fairPick(left, 1000, noRoomLimit(1000)).map((c) => `${c.endpointId} ${c.msgId}`));
  });

  it('says whether it left due work behind: for want of room, none at all, or beyond its limit', async () => {
    const { store } = t();
    const a = await tenant(store);
    const ep = a.eps[0]!;
    await send(store, a.appId, 3, T0);
    await send(store, (await tenant(store)).appId, 1, T0 + 60_000); // due later: never "left"
    const room = (n: number): ClaimRoom => ({ cap: 10, below: new Map([[ep, n]]) });
    // No room at all at the endpoint: nothing taken, due work left.
    expect(await store.claim('w', T0 + 10, LEASE, 10, room(0))).toMatchObject({ tasks: [], leftDue: true, nextDue: null });
    // Two places for three due.
    const two = await store.claim('w', T0 + 10, LEASE, 10, room(2));
    expect([two.tasks.length, two.leftDue, two.nextDue]).toEqual([2, true, null]);
    // Room for more than is due: the last one taken, nothing left; next due is the other
    // tenant's task (before the leases taken here run out).
    const last = await store.claim('w', T0 + 10, LEASE, 10, room(5));
    expect([last.tasks.length, last.leftDue, last.nextDue]).toEqual([1, false, T0 + 60_000]);
    expect(await store.claim('w', T0 + 20, LEASE, 10)).toMatchObject({ tasks: [], leftDue: false, nextDue: T0 + 60_000 });
    // The claim's own limit leaves the rest: two endpoints due, a claim of one.
    const b = await tenant(store);
    await send(store, b.appId, 1, T0 + 30);
    await send(store, (await tenant(store)).appId, 1, T0 + 30);
    const one = await store.claim('w', T0 + 40, LEASE, 1);
    expect([one.tasks.length, one.leftDue]).toEqual([1, true]);
  });

  it('says when the next task falls due after it, its own leases included, as nextDueAt would', async () => {
    const { store } = t();
    expect(await store.claim('w', T0, LEASE, 10)).toMatchObject({ tasks: [], leftDue: false, nextDue: null });
    const a = await tenant(store);
    await send(store, a.appId, 1, T0);
    // Its only task taken: what falls due next is its own lease's expiry.
    const c = await store.claim('w', T0 + 10, LEASE, 10);
    expect([c.tasks.length, c.leftDue, c.nextDue]).toEqual([1, false, T0 + 10 + LEASE]);
    expect(c.nextDue).toBe(await store.nextDueAt());
    // A task due sooner than that lease.
    await send(store, a.appId, 1, T0 + 5_000);
    const d = await store.claim('w', T0 + 20, LEASE, 10);
    expect(d).toMatchObject({ tasks: [], leftDue: false, nextDue: T0 + 5_000 });
    expect(d.nextDue).toBe(await store.nextDueAt());
  });

  it('a backlog due later is passed over, and a leased task is not claimed again', async () => {
    const { store } = t();
    const a = await tenant(store);
    const b = await tenant(store);
    await send(store, a.appId, 30, T0 + 60_000); // due later than the claim
    await send(store, b.appId, 2, T0);
    const first = await store.claimDueTasks('w', T0 + 10, LEASE, 10);
    expect(first.map((c) => c.appId)).toEqual([b.appId, b.appId]);
    // Leased now: not claimed again before the lease runs out.
    expect(await store.claimDueTasks('w2', T0 + 20, LEASE, 10)).toEqual([]);
  });

  it('concurrent claimers take disjoint tasks, each claim fair', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    const a = await tenant(store);
    const b = await tenant(store);
    await send(store, a.appId, 60, T0);
    await send(store, b.appId, 60, T0 + 100);
    const claims = await Promise.all([store, other, store, other].map((s, i) => s.claimDueTasks(`w${i}`, T0 + 1000, LEASE, 10)));
    const all = claims.flat().map((c) => `${c.endpointId} ${c.msgId}`);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(40);
    for (const c of claims) expect(c.filter((x) => x.appId === b.appId).length).toBe(5);
  });
});

eachStore('store: the fair claim walks a bounded number of endpoints', (t) => {
  it('walks at most claimWalk endpoints per claim, going on where the last claim stopped, and always takes the oldest due work', async () => {
    const { store } = t();
    store.claimWalk = 3;
    // A: 20 due deliveries older than anything else, to one endpoint (the oldest due work).
    const a = await tenant(store);
    await send(store, a.appId, 20, T0);
    // W: 8 endpoints with one due delivery each, all newer than A's.
    const w = await tenant(store, 8);
    await send(store, w.appId, 1, T0 + 1000);
    // The walk's order: (application id, endpoint id), byte-wise; leased tasks still wait, so the
    // same nine pairs are walked by every claim.
    const order = [{ appId: a.appId, endpointId: a.eps[0]! }, ...w.eps.map((endpointId) => ({ appId: w.appId, endpointId }))].sort((x, y) =>
      x.appId + x.endpointId < y.appId + y.endpointId ? -1 : 1,
    );
    const window = (k: number) => new Set([0, 1, 2].map((i) => order[(3 * k + i) % order.length]!.endpointId));
    const room: ClaimRoom = { cap: 2, below: new Map() };
    const seen = new Set<string>();
    for (let k = 0; k < 4; k++) {
      // The fourth claim comes after the first three's leases lapsed (their tasks are due again)
      // and goes round to the start.
      const claimed = await store.claimDueTasks('w', k < 3 ? T0 + 5000 : T0 + 5000 + LEASE + 1, LEASE, 100, room);
      const wEps = claimed.filter((c) => c.appId === w.appId).map((c) => c.endpointId);
      // Only W's endpoints in this claim's window of three, each once (one due delivery each).
      expect(new Set(wEps)).toEqual(new Set([...window(k)].filter((id) => id !== a.eps[0])));
      // A's endpoint holds the oldest due deliveries: in every claim, wherever the window is.
      expect(claimed.filter((c) => c.appId === a.appId)).toHaveLength(2);
      for (const id of wEps) seen.add(id);
    }
    // Claims of three go round all nine pairs: every W endpoint was claimed.
    expect(seen).toEqual(new Set(w.eps));
  });

  it('a due endpoint among more waiting endpoints than one walk visits is found within a round of walks', async () => {
    const { store } = t();
    store.claimWalk = 5;
    // W: 10 endpoints whose deliveries are due an hour later; B: one due delivery, newer than A's.
    const w = await tenant(store, 10);
    await send(store, w.appId, 1, T0 + 3_600_000);
    const a = await tenant(store);
    await send(store, a.appId, 40, T0);
    const b = await tenant(store);
    await send(store, b.appId, 1, T0 + 100);
    const room: ClaimRoom = { cap: 1, below: new Map() };
    let claims = 0;
    let found = false;
    // 12 pairs wait and a walk visits 5: B's pair, the last, is walked by the third claim, which
    // goes round to the start.
    while (!found && claims < 3) {
      const claimed = await store.claimDueTasks('w', T0 + 1000, LEASE, 10, room);
      claims++;
      expect(claimed.some((c) => c.appId === w.appId)).toBe(false);
      found = claimed.some((c) => c.appId === b.appId);
    }
    expect(found).toBe(true);
  });
});
