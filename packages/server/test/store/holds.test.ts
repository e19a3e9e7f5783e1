// Held deliveries and endpoint circuits in the store, on SQLite and on PostgreSQL (several stores
// there, as several worker processes would have): a claim sees the module switch and the circuit, a
// hold puts the task back marked and the switch releases it, a hold that lost the race with the
// switch leaves the task due, circuit changes never lose a count, a closing circuit releases what
// it held, and exactly one of many concurrent claimers gets the probe.
import { expect, it } from 'vitest';
import { afterAttempt, CLOSED_CIRCUIT, type CircuitPolicy } from '../../src/domain/hold.js';
import { eachStore } from './backends.js';
import { LEASE, page, seed, T0 } from './records.js';

const policy: CircuitPolicy = { failures: 3, cooldownMs: 30_000, maxCooldownMs: 600_000 };

eachStore('store: held deliveries and circuits', (t) => {
  it('a claim reads the module switch (null without Engage settings) and the circuit', async () => {
    const { store } = t();
    const { appId, endpointId } = await seed(store, 1);
    let [task] = await store.claimDueTasks('w1', T0 + 1, LEASE, 1);
    let [ctx] = await store.loadDeliveries([task!]);
    expect(ctx!.moduleEnabled).toBeNull();
    expect(ctx!.circuit).toEqual(CLOSED_CIRCUIT);

    await store.setEngageModule(appId, false, T0);
    await store.updateCircuit(appId, endpointId, T0, (c) => afterAttempt(c, true, false, T0, policy));
    [ctx] = await store.loadDeliveries([task!]);
    expect(ctx!.moduleEnabled).toBe(false);
    expect(ctx!.circuit).toMatchObject({ state: 'closed', consecutiveFailures: 1, version: 1 });
    await store.setEngageModule(appId, true, T0);
    [task] = [task!];
    [ctx] = await store.loadDeliveries([task]);
    expect(ctx!.moduleEnabled).toBe(true);
  });

  it('holds a task marked, without an attempt, and switching the module on makes it due now', async () => {
    const { store, raw } = t();
    const { appId, endpointId, msgIds } = await seed(store, 2);
    await store.setEngageModule(appId, false, T0);
    const tasks = await store.claimDueTasks('w1', T0 + 1, LEASE, 2);
    for (const task of tasks) expect(await store.holdTask(task, 'module', T0 + 3_600_000, T0 + 1)).toBe(true);
    const rows = await raw('SELECT held_by, status, attempt_count, next_attempt_at, lease_owner FROM delivery_task WHERE endpoint_id = $1', [endpointId]);
    expect(rows.map((r) => ({ ...r, next_attempt_at: Number(r.next_attempt_at) }))).toEqual([
      { held_by: 'module', status: 1, attempt_count: 0, next_attempt_at: T0 + 3_600_000, lease_owner: null },
      { held_by: 'module', status: 1, attempt_count: 0, next_attempt_at: T0 + 3_600_000, lease_owner: null },
    ]);
    const dests = await store.listMessageDestinations(appId, msgIds[0]!, page({ limit: 10 }));
    expect(dests.data[0]!.task.heldBy).toBe('module');
    expect(await store.claimDueTasks('w1', T0 + 2, LEASE, 2)).toEqual([]);

    await store.setEngageModule(appId, true, T0 + 10);
    const again = await store.claimDueTasks('w2', T0 + 10, LEASE, 2);
    expect(again.map((a) => a.msgId).sort()).toEqual([...msgIds].sort());
    // A claim clears the mark: the delivery is no longer held.
    expect((await raw('SELECT COUNT(*) AS n FROM delivery_task WHERE held_by IS NOT NULL')).map((r) => Number(r.n))).toEqual([0]);
  });

  it('a module hold that lost the race with the switch turning on leaves the task due now, unmarked', async () => {
    const { store, raw } = t();
    const { appId, endpointId } = await seed(store, 1);
    await store.setEngageModule(appId, true, T0);
    const [task] = await store.claimDueTasks('w1', T0 + 1, LEASE, 1);
    expect(await store.holdTask(task!, 'module', T0 + 3_600_000, T0 + 5)).toBe(false);
    const [row] = await raw('SELECT held_by, next_attempt_at, lease_owner FROM delivery_task WHERE endpoint_id = $1', [endpointId]);
    expect({ ...row, next_attempt_at: Number(row!.next_attempt_at) }).toEqual({ held_by: null, next_attempt_at: T0 + 5, lease_owner: null });
  });

  it('counts failures from several stores without losing one, and opens at the threshold', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    const { appId, endpointId } = await seed(store, 0);
    const changes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).updateCircuit(appId, endpointId, T0, (c) => afterAttempt(c, true, false, T0, policy))),
    );
    expect(changes.filter((c) => c.change === 'opened')).toHaveLength(1);
    const c = await store.getCircuit(endpointId);
    expect(c).toMatchObject({ state: 'open', consecutiveFailures: 10, since: T0, nextProbeAt: T0 + 30_000, cooldownMs: 30_000, version: 10 });
  });

  it('exactly one of many concurrent claimers gets the probe; closing releases the deliveries it held', async () => {
    const { store, sibling, raw } = t();
    const other = await sibling();
    const { appId, endpointId } = await seed(store, 3);
    for (let i = 0; i < 3; i++) await store.updateCircuit(appId, endpointId, T0, (c) => afterAttempt(c, true, false, T0, policy));
    const open = await store.getCircuit(endpointId);
    expect(open.state).toBe('open');
    const tasks = await store.claimDueTasks('w1', T0 + 10, LEASE, 3);
    expect(tasks).toHaveLength(3);
    for (const task of tasks) await store.holdTask(task, 'circuit', open.nextProbeAt!, T0 + 10);

    const at = open.nextProbeAt!;
    const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).claimProbe(endpointId, open.version, at + LEASE, at)));
    expect(wins.filter((w) => w !== null)).toHaveLength(1);
    const probing = await store.getCircuit(endpointId);
    expect(probing).toMatchObject({ state: 'half-open', probeUntil: at + LEASE, version: open.version + 1 });

    // The probe succeeds: closed, and the held deliveries are due at once.
    const closed = await other.updateCircuit(appId, endpointId, at + 100, (c) => afterAttempt(c, false, true, at + 100, policy));
    expect(closed.change).toBe('closed');
    expect(closed.circuit).toMatchObject({ state: 'closed', consecutiveFailures: 0, since: at + 100 });
    const rows = await raw('SELECT held_by, next_attempt_at FROM delivery_task WHERE endpoint_id = $1', [endpointId]);
    expect(rows.map((r) => [r.held_by, Number(r.next_attempt_at)])).toEqual([
      [null, at + 100],
      [null, at + 100],
      [null, at + 100],
    ]);
  });

  it('a failed probe re-opens the circuit with the cool-down doubled, up to the maximum', async () => {
    const { store } = t();
    const { appId, endpointId } = await seed(store, 0);
    const small: CircuitPolicy = { failures: 1, cooldownMs: 30_000, maxCooldownMs: 100_000 };
    await store.updateCircuit(appId, endpointId, T0, (c) => afterAttempt(c, true, false, T0, small));
    const cooldowns: number[] = [];
    let at = T0;
    for (let i = 0; i < 3; i++) {
      const c = await store.getCircuit(endpointId);
      at = c.nextProbeAt!;
      expect(await store.claimProbe(endpointId, c.version, at + LEASE, at)).not.toBeNull();
      const r = await store.updateCircuit(appId, endpointId, at, (x) => afterAttempt(x, true, true, at, small));
      expect(r.change).toBeNull();
      cooldowns.push(r.circuit.nextProbeAt! - at);
    }
    expect(cooldowns).toEqual([60_000, 100_000, 100_000]);
    expect((await store.getCircuit(endpointId)).since).toBe(T0);
  });
});
