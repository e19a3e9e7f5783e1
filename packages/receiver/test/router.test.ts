import { describe, expect, it } from 'vitest';
import { createRouter, parseEnvelope, type DeliveryContext } from '../src/index.js';

const ctx: DeliveryContext = { webhookId: 'msg_1', timestamp: 1 };
const balanceEvent = parseEnvelope({
  eventId: 'e1',
  eventType: 'point.balance.updated',
  isEncrypted: false,
  payload: { balance: 1000.1234, contactId: 'c', accountId: 1, definitionId: 1, balanceExpires: null },
  tenant: 'acme',
});

describe('router', () => {
  it('calls the handler for the event type with the event and the delivery context', async () => {
    const seen: unknown[] = [];
    const router = createRouter().on('point.balance.updated', (e, c) => {
      seen.push(e.payload.balance, c.webhookId);
    });
    expect(await router.dispatch(balanceEvent, ctx)).toEqual({ handlers: 1 });
    expect(seen).toEqual([1000.1234, 'msg_1']);
  });

  it('runs several handlers in registration order, awaiting each, then onAny', async () => {
    const order: string[] = [];
    const router = createRouter()
      .onAny(() => void order.push('any'))
      .on('point.balance.updated', async () => {
        await new Promise((r) => setImmediate(r));
        order.push('first');
      })
      .on('point.balance.updated', () => void order.push('second'))
      .on('contact.deleted', () => void order.push('wrong'));
    await router.dispatch(balanceEvent, ctx);
    expect(order).toEqual(['first', 'second', 'any']);
  });

  it('sends events nobody subscribed to (known or unknown types) to onUnhandled', async () => {
    const unhandled: string[] = [];
    const router = createRouter()
      .on('contact.deleted', () => undefined)
      .onUnhandled((e) => void unhandled.push(e.eventType));
    await router.dispatch(balanceEvent, ctx);
    await router.dispatch({ ...balanceEvent, eventType: 'order.shipped' }, ctx);
    expect(unhandled).toEqual(['point.balance.updated', 'order.shipped']);
  });

  it('reports zero handlers when nothing matches', async () => {
    expect(await createRouter().dispatch(balanceEvent, ctx)).toEqual({ handlers: 0 });
  });

  it('rejects with the first handler error and runs no later handler', async () => {
    let later = false;
    const router = createRouter()
      .on('point.balance.updated', () => {
        throw new Error('downstream unavailable');
      })
      .on('point.balance.updated', () => {
        later = true;
      });
    await expect(router.dispatch(balanceEvent, ctx)).rejects.toThrow('downstream unavailable');
    expect(later).toBe(false);
  });

  it('refuses a handler that is not a function', () => {
    expect(() => createRouter().on('contact.deleted', 'nope' as never)).toThrow(TypeError);
  });
});
