// An idempotency key's hold, on SQLite and on PostgreSQL: one holder at a time, across stores (as
// processes would be); a lapsed hold (its holder crashed) can be taken over; unlocking frees it.
import { expect, it } from 'vitest';
import { eachStore } from './backends.js';
import { T0 } from './records.js';

eachStore('store: idempotency key holds', (t) => {
  it('one holder at a time, a lapsed hold is taken over, an unlocked key is free again', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    // Concurrent takers, from two stores: exactly one gets the key.
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).lockIdempotencyKey('k1', T0, T0 + 1000)));
    expect(got.filter(Boolean)).toHaveLength(1);
    // Other keys are independent.
    expect(await other.lockIdempotencyKey('k2', T0, T0 + 1000)).toBe(true);
    // Still held just before it lapses; taken over once it has.
    expect(await other.lockIdempotencyKey('k1', T0 + 999, T0 + 2000)).toBe(false);
    expect(await other.lockIdempotencyKey('k1', T0 + 1000, T0 + 2000)).toBe(true);
    expect(await store.lockIdempotencyKey('k1', T0 + 1500, T0 + 3000)).toBe(false);
    await other.unlockIdempotencyKey('k1');
    expect(await store.lockIdempotencyKey('k1', T0 + 1500, T0 + 3000)).toBe(true);
  });
});
