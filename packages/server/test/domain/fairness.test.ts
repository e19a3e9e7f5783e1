// The fair claim as a pure rule: applications take turns, then their endpoints, oldest first within
// an endpoint, never more than an endpoint's room; ties break by id.
import { describe, expect, it } from 'vitest';
import { endpointRoom, fairPick, roomOf, type FairCandidate } from '../../src/domain/fairness.js';

const c = (appId: string, endpointId: string, msgId: string, dueAt: number): FairCandidate => ({ appId, endpointId, msgId, dueAt });
const ids = (xs: FairCandidate[]) => xs.map((x) => x.msgId);
const open = (cap: number) => ({ cap, below: new Map<string, number>() });

describe('fairPick', () => {
  it("gives every application a turn before any gets a second, however old one's backlog is", () => {
    const backlog = Array.from({ length: 50 }, (_, i) => c('a', 'ea', `a${String(i).padStart(2, '0')}`, i));
    const fresh = [c('b', 'eb', 'b1', 1000), c('b', 'eb', 'b2', 1001)];
    expect(ids(fairPick([...fresh, ...backlog], 5, open(64)))).toEqual(['a00', 'b1', 'a01', 'b2', 'a02']);
  });

  it('within an application, its endpoints take turns; oldest first within one; the earlier due first within a turn', () => {
    const xs = [c('a', 'e1', 'm3', 3), c('a', 'e1', 'm1', 1), c('a', 'e1', 'm2', 2), c('a', 'e2', 'n9', 9), c('a', 'e2', 'n8', 8)];
    expect(ids(fairPick(xs, 10, open(64)))).toEqual(['m1', 'n8', 'm2', 'n9', 'm3']);
  });

  it('takes no more for an endpoint than its room, and nothing for a full one', () => {
    const xs = [c('a', 'e1', 'm1', 1), c('a', 'e1', 'm2', 2), c('a', 'e1', 'm3', 3), c('a', 'e2', 'n1', 1), c('b', 'e3', 'o1', 1)];
    const room = { cap: 2, below: new Map([['e3', 0]]) };
    expect(ids(fairPick(xs, 10, room))).toEqual(['m1', 'n1', 'm2']);
    expect(roomOf(room, 'e3')).toBe(0);
    expect(roomOf(room, 'e1')).toBe(2);
  });

  it('breaks ties by application, endpoint and message id; a limit of 0 takes nothing', () => {
    const xs = [c('b', 'e2', 'm2', 5), c('a', 'e1', 'm9', 5), c('a', 'e0', 'm1', 5)];
    expect(ids(fairPick(xs, 3, open(1)))).toEqual(['m1', 'm2', 'm9']);
    expect(fairPick(xs, 0, open(1))).toEqual([]);
  });
});

describe('endpointRoom', () => {
  it('is the places left, never below 0', () => {
    expect(endpointRoom(64, 10)).toBe(54);
    expect(endpointRoom(4, 6)).toBe(0);
  });
});
