/**
 * Typed fan-out of Engage events: `createRouter().on('point.balance.updated', e => e.payload.balance)`.
 * Handler payload types come from @herald/engage's payload map.
 */
import type { EngageEvent, EngageEventType, UnknownEngageEnvelope } from '@herald/engage';

/** What the handler gets besides the event: the verified delivery's metadata. */
export interface DeliveryContext {
  /** The webhook id (`svix-id` / `webhook-id`), stable across retries. */
  webhookId: string;
  /** Unix seconds of this attempt's signature. */
  timestamp: number;
  /**
   * The W3C trace context this delivery belongs to: the receiver's `herald.receive` span when it
   * has a tracer, else the `traceparent` header as the sender sent it (absent when there was none).
   * Pass it on (a header, a message field) to carry the trace further.
   */
  traceparent?: string | undefined;
}

export type EventHandler<T extends EngageEventType> = (event: EngageEvent<T>, context: DeliveryContext) => unknown | Promise<unknown>;

/** For event types this version does not know: the payload is untyped. */
export type FallbackHandler = (event: UnknownEngageEnvelope, context: DeliveryContext) => unknown | Promise<unknown>;

export interface DispatchResult {
  /** How many handlers ran (0: nothing subscribed to this event type). */
  handlers: number;
}

export interface EngageRouter {
  /** Subscribe to one event type. Several handlers per type run in registration order. */
  on<T extends EngageEventType>(eventType: T, handler: EventHandler<T>): EngageRouter;
  /** Runs for every event, after the type-specific handlers. */
  onAny(handler: FallbackHandler): EngageRouter;
  /** Runs for events that have no type-specific handler (unknown types included). */
  onUnhandled(handler: FallbackHandler): EngageRouter;
  /**
   * Runs the handlers for a decrypted envelope, one after another; the first failure rejects (so
   * the delivery is answered with an error and the sender retries).
   */
  dispatch(event: UnknownEngageEnvelope, context: DeliveryContext): Promise<DispatchResult>;
}

export function createRouter(): EngageRouter {
  const byType = new Map<string, FallbackHandler[]>();
  const any: FallbackHandler[] = [];
  const unhandled: FallbackHandler[] = [];

  const router: EngageRouter = {
    on(eventType, handler) {
      if (typeof handler !== 'function') throw new TypeError('a handler must be a function');
      const list = byType.get(eventType) ?? [];
      // The envelope was verified and decrypted; its payload is trusted to match its event type.
      list.push(handler as unknown as FallbackHandler);
      byType.set(eventType, list);
      return router;
    },
    onAny(handler) {
      any.push(handler);
      return router;
    },
    onUnhandled(handler) {
      unhandled.push(handler);
      return router;
    },
    async dispatch(event, context) {
      const specific = byType.get(event.eventType) ?? [];
      const run = [...(specific.length > 0 ? specific : unhandled), ...any];
      for (const handler of run) await handler(event, context);
      return { handlers: run.length };
    },
  };
  return router;
}
