// Fan-out: which of an application's endpoints a new message goes to, and the delivery task it
// starts with at each. The stores persist the tasks this returns, in the message's own commit.
import { filterFor } from './content-filter.js';
import { endpointMatches, type Matchable } from './filters.js';
import { orderedBy, type EndpointOrdering } from './ordering.js';
import { MessageStatus, type DeliveryTask, type Message } from './types.js';

export interface FanOutEndpoint extends Matchable {
  id: string;
  ordering?: EndpointOrdering;
  /** Its content filter's JSON text (domain/content-filter.ts), or null/absent for none. */
  filter?: string | null;
}

/** The payload as a value for content filters (undefined when there is none or it is not JSON). */
function parsed(text: string | null | undefined): { v: unknown } {
  try {
    return { v: text === null || text === undefined ? undefined : JSON.parse(text) };
  } catch {
    return { v: undefined };
  }
}

/**
 * The delivery tasks of `msg`, one per endpoint of `endpoints` (its application's) that it goes
 * to: every endpoint whose filter it matches (domain/filters.ts) and whose content filter its
 * payload matches (domain/content-filter.ts), or, for a send-example, only `onlyEndpointId`,
 * filters bypassed but never when disabled. Each is pending and due at once; one ordered by a key
 * (`orderedBy`, domain/ordering.ts) is then numbered by the store, and parked instead when the one
 * ahead of it is still open. A message a content filter keeps out of an endpoint takes no number
 * there, so the receiver's sequence has no gaps for it.
 */
export function fanOut(
  msg: Pick<Message, 'id' | 'appId' | 'eventType' | 'channels' | 'createdAt' | 'orderingKey'> & { payload?: string | null },
  endpoints: readonly FanOutEndpoint[],
  onlyEndpointId?: string,
): DeliveryTask[] {
  const tasks: DeliveryTask[] = [];
  // Parsed at most once per message, and only when a content filter asks for it.
  let content: { v: unknown } | undefined;
  for (const ep of endpoints) {
    const goes = onlyEndpointId
      ? ep.id === onlyEndpointId && !ep.disabled
      : endpointMatches(ep, msg.eventType, msg.channels) && (!ep.filter || filterFor(ep.filter)((content ??= parsed(msg.payload)).v));
    if (!goes) continue;
    tasks.push({
      msgId: msg.id,
      endpointId: ep.id,
      appId: msg.appId,
      status: MessageStatus.pending,
      attemptCount: 0,
      nextAttemptAt: msg.createdAt,
      createdAt: msg.createdAt,
      updatedAt: msg.createdAt,
      orderedBy: orderedBy(ep, msg, onlyEndpointId !== undefined),
    });
  }
  return tasks;
}
