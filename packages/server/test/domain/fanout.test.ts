// Fan-out as a pure rule: which endpoints a message goes to, and the task it starts with there.
import { describe, expect, it } from 'vitest';
import { fanOut, type FanOutEndpoint } from '../../src/domain/fanout.js';
import { MessageStatus } from '../../src/domain/types.js';

const msg = { id: 'msg_1', appId: 'app_1', eventType: 'user.created', channels: ['eu'], createdAt: 1_000 };
const ep = (id: string, o: Partial<FanOutEndpoint> = {}): FanOutEndpoint => ({ id, disabled: false, eventTypes: null, channels: null, ...o });

describe('domain: fan-out', () => {
  it('goes to every matching endpoint, each task pending and due at the message time', () => {
    const eps = [
      ep('e_all'),
      ep('e_type', { eventTypes: ['user.created'] }),
      ep('e_other_type', { eventTypes: ['user.deleted'] }),
      ep('e_chan', { channels: ['us', 'eu'] }),
      ep('e_other_chan', { channels: ['us'] }),
      ep('e_off', { disabled: true }),
    ];
    const tasks = fanOut(msg, eps);
    expect(tasks.map((t) => t.endpointId)).toEqual(['e_all', 'e_type', 'e_chan']);
    expect(tasks[0]).toEqual({
      msgId: 'msg_1',
      endpointId: 'e_all',
      appId: 'app_1',
      status: MessageStatus.pending,
      attemptCount: 0,
      nextAttemptAt: 1_000,
      createdAt: 1_000,
      updatedAt: 1_000,
      orderedBy: null,
    });
  });

  it('a message without channels skips endpoints that have channels', () => {
    expect(fanOut({ ...msg, channels: null }, [ep('a', { channels: ['eu'] }), ep('b')]).map((t) => t.endpointId)).toEqual(['b']);
  });

  it('a send-example goes to its one endpoint whatever its filter, but never when disabled', () => {
    const eps = [ep('a'), ep('b', { eventTypes: ['other'] }), ep('c', { disabled: true })];
    expect(fanOut(msg, eps, 'b').map((t) => t.endpointId)).toEqual(['b']);
    expect(fanOut(msg, eps, 'c')).toEqual([]);
    expect(fanOut(msg, eps, 'missing')).toEqual([]);
  });

  it('an ordered endpoint orders only the keyed messages its content filter lets through', () => {
    const keyed = { ...msg, orderingKey: 'c_1' };
    const eps = [ep('ordered', { ordering: 'key', filter: '{"country": "SE"}' }), ep('plain', { filter: '{"country": "SE"}' })];
    const se = fanOut({ ...keyed, payload: '{"country": "SE"}' }, eps);
    expect(se.map((t) => [t.endpointId, t.orderedBy])).toEqual([
      ['ordered', 'c_1'],
      ['plain', null],
    ]);
    // Kept out by its filter, the message gets no task at the ordered endpoint, so takes no turn there.
    expect(fanOut({ ...keyed, payload: '{"country": "NO"}' }, eps)).toEqual([]);
  });
});
