// The throttle schedule lives in the store, on SQLite and on PostgreSQL: slots are handed out one
// interval apart from one schedule per endpoint whoever asks (on PostgreSQL, several stores as
// several processes would have), a schedule that fell behind restarts at now, and a slot a task
// was put back with comes back with its next claim, exactly once.
import { expect, it } from 'vitest';
import { slotInterval } from '../../src/domain/throttle.js';
import { eachStore } from './backends.js';
import { LEASE, seed, T0 } from './records.js';

eachStore('store: throttle slots', (t, kind) => {
  it('hands out slots one interval apart from one schedule per endpoint, across stores', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    // 20/s: one slot every 50 ms; all asked at T0, concurrently, from two stores.
    const slots = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : store).reserveThrottleSlot('ep_a', slotInterval(20), T0)));
    expect(slots.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => T0 + i * 50));
    // Another endpoint has its own schedule.
    expect(await store.reserveThrottleSlot('ep_b', slotInterval(20), T0)).toBe(T0);
    // A schedule behind now restarts at now; one ahead continues where it is.
    expect(await store.reserveThrottleSlot('ep_b', slotInterval(20), T0 + 10_000)).toBe(T0 + 10_000);
    expect(await other.reserveThrottleSlot('ep_a', slotInterval(20), T0 + 1000)).toBe(T0 + 2000);
    // Intervals round up to whole milliseconds, so a rate is never exceeded: 3/s is every 334 ms.
    expect(await store.reserveThrottleSlot('ep_c', slotInterval(3), T0)).toBe(T0);
    expect(await store.reserveThrottleSlot('ep_c', slotInterval(3), T0)).toBe(T0 + 334);
    expect(kind === 'postgres' ? other !== store : other === store).toBe(true);
  });

  it('a task put back with its slot gets it back on the next claim, and only then', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    await seed(store, 2);
    const [a, b] = await store.claimDueTasks('w1', T0 + 1, LEASE, 2);
    expect(a!.throttleSlot).toBeNull();
    expect(await store.deferTask(a!, T0 + 5000, T0 + 5000)).toBe(true);
    expect(await store.deferTask(b!, T0 + 5000)).toBe(true);
    const again = await other.claimDueTasks('w2', T0 + 5000, LEASE, 2);
    const slotOf = (id: string) => again.find((c) => c.msgId === id)!.throttleSlot;
    expect(slotOf(a!.msgId)).toBe(T0 + 5000);
    expect(slotOf(b!.msgId)).toBeNull();
    // The lease lapses without an attempt: the next claimer reserves a fresh slot, never reuses one.
    const third = await store.claimDueTasks('w3', T0 + 5000 + LEASE, LEASE, 2);
    expect(third.map((c) => c.throttleSlot)).toEqual([null, null]);
  });
});
