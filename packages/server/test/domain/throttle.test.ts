// The endpoint throttle as pure rules: slot spacing, reservation, and what a dispatcher does with a slot.
import { describe, expect, it } from 'vitest';
import { reserveSlot, slotInterval, throttleDecision } from '../../src/domain/throttle.js';

describe('domain: endpoint throttle', () => {
  it('spaces slots in whole milliseconds, rounded up so the rate is never exceeded', () => {
    expect(slotInterval(20)).toBe(50);
    expect(slotInterval(3)).toBe(334);
    expect(slotInterval(0.5)).toBe(2000);
  });

  it('takes the next free slot, or now when the schedule fell behind', () => {
    let free: number | undefined;
    const slots: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = reserveSlot(free, 1_000, 50);
      slots.push(r.slot);
      free = r.nextFreeAt;
    }
    expect(slots).toEqual([1_000, 1_050, 1_100]);
    expect(reserveSlot(free, 10_000, 50)).toEqual({ slot: 10_000, nextFreeAt: 10_050 });
  });

  it('sends a slot that has come or is within the hold, and puts back one further away', () => {
    expect(throttleDecision(900, 1_000, 1_000)).toEqual({ kind: 'send', waitMs: 0 });
    expect(throttleDecision(1_400, 1_000, 1_000)).toEqual({ kind: 'send', waitMs: 400 });
    expect(throttleDecision(2_000, 1_000, 1_000)).toEqual({ kind: 'send', waitMs: 1_000 });
    expect(throttleDecision(2_001, 1_000, 1_000)).toEqual({ kind: 'defer', until: 2_001 });
  });
});
