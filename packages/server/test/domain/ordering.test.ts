// Ordered delivery per key: the rules in domain/ordering.ts, with no store.
import { describe, expect, it } from 'vitest';
import { fanOut } from '../../src/domain/fanout.js';
import { afterRecord, orderedBy, orderingHeaders, orderingKeyProblem, passTurn, takeTurn } from '../../src/domain/ordering.js';
import { MessageStatus } from '../../src/domain/types.js';

describe('ordering keys', () => {
  it('accepts 1 to 256 characters (counted as characters, not UTF-16 units) without control characters', () => {
    expect(orderingKeyProblem('a')).toBeNull();
    expect(orderingKeyProblem('x'.repeat(256))).toBeNull();
    expect(orderingKeyProblem('😀'.repeat(256))).toBeNull();
    expect(orderingKeyProblem('')).toMatch(/1 to 256/);
    expect(orderingKeyProblem('x'.repeat(257))).toMatch(/1 to 256/);
    expect(orderingKeyProblem('a\nb')).toMatch(/control/);
    expect(orderingKeyProblem(12)).toMatch(/string/);
  });

  it('orders a delivery only at an endpoint with ordering "key", for a message with a key, never a send-example', () => {
    expect(orderedBy({ ordering: 'key' }, { orderingKey: 'k' })).toBe('k');
    expect(orderedBy({ ordering: 'none' }, { orderingKey: 'k' })).toBeNull();
    expect(orderedBy({}, { orderingKey: 'k' })).toBeNull();
    expect(orderedBy({ ordering: 'key' }, { orderingKey: null })).toBeNull();
    expect(orderedBy({ ordering: 'key' }, { orderingKey: 'k' }, true)).toBeNull();
  });

  it('fan-out marks each task with the key that orders it', () => {
    const msg = { id: 'msg_1', appId: 'app_1', eventType: 'a', channels: null, createdAt: 5, orderingKey: 'k' };
    const eps = [
      { id: 'ep_1', disabled: false, eventTypes: null, channels: null, ordering: 'key' as const },
      { id: 'ep_2', disabled: false, eventTypes: null, channels: null, ordering: 'none' as const },
    ];
    expect(fanOut(msg, eps).map((t) => [t.endpointId, t.orderedBy])).toEqual([
      ['ep_1', 'k'],
      ['ep_2', null],
    ]);
    expect(fanOut(msg, eps, 'ep_1')[0]!.orderedBy).toBeNull();
  });
});

describe('turns', () => {
  it('numbers a key from 1; a message waits for the previous one only while that one is open', () => {
    const first = takeTurn(null, 'm1');
    expect(first).toEqual({ seq: 1, waitingFor: null, tail: { lastSeq: 1, lastMsgId: 'm1', lastOpen: true } });
    const second = takeTurn(first.tail, 'm2');
    expect(second).toEqual({ seq: 2, waitingFor: 'm1', tail: { lastSeq: 2, lastMsgId: 'm2', lastOpen: true } });
    // m2 ended: the tail closed; the next goes at once, and numbers are never reused.
    expect(takeTurn({ ...second.tail, lastOpen: false }, 'm3')).toEqual({ seq: 3, waitingFor: null, tail: { lastSeq: 3, lastMsgId: 'm3', lastOpen: true } });
  });

  it('an ending delivery closes the tail when it is the last, and releases the one behind it otherwise', () => {
    expect(passTurn({ lastSeq: 1, lastMsgId: 'm1', lastOpen: true }, 'm1')).toEqual({ kind: 'close' });
    expect(passTurn({ lastSeq: 2, lastMsgId: 'm2', lastOpen: true }, 'm1')).toEqual({ kind: 'release', waitingFor: 'm1' });
    // Ending twice (a resend of a finished delivery) changes nothing.
    expect(passTurn({ lastSeq: 1, lastMsgId: 'm1', lastOpen: false }, 'm1')).toEqual({ kind: 'none' });
    expect(passTurn(null, 'm1')).toEqual({ kind: 'none' });
  });

  it('after an outcome: a final task in its turn passes it on; a retry keeps it', () => {
    const s = (status: number, o: Partial<Parameters<typeof afterRecord>[0]> = {}) =>
      afterRecord({ status, nextAttemptAt: null, waitingFor: null, waitingForStatus: null, ...o });
    expect(s(MessageStatus.success)).toBe('pass');
    expect(s(MessageStatus.fail)).toBe('pass');
    expect(s(MessageStatus.canceled)).toBe('pass');
    expect(s(MessageStatus.pending, { nextAttemptAt: 10 })).toBe('none');
  });

  it('after a manual resend of a parked delivery: it waits again, or goes when the one ahead has ended', () => {
    const parked = { waitingFor: 'm1', nextAttemptAt: null };
    expect(afterRecord({ status: MessageStatus.success, ...parked, waitingForStatus: MessageStatus.pending })).toBe('park');
    expect(afterRecord({ status: MessageStatus.fail, ...parked, waitingForStatus: MessageStatus.sending })).toBe('park');
    expect(afterRecord({ status: MessageStatus.success, ...parked, waitingForStatus: MessageStatus.fail })).toBe('release');
    expect(afterRecord({ status: MessageStatus.success, ...parked, waitingForStatus: null })).toBe('release');
    expect(afterRecord({ status: MessageStatus.pending, ...parked, waitingForStatus: MessageStatus.pending })).toBe('none');
  });
});

describe('headers', () => {
  it('carry the key and the sequence number; a key that is not printable ASCII is percent-encoded', () => {
    expect(orderingHeaders('cont_1', 7)).toEqual({ 'herald-ordering-key': 'cont_1', 'herald-sequence': '7' });
    expect(orderingHeaders('jürgen', 1)['herald-ordering-key']).toBe('j%C3%BCrgen');
    expect(orderingHeaders(' padded', 1)['herald-ordering-key']).toBe('%20padded');
  });
});
