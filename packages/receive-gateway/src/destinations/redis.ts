/** Redis Streams destination: XADD to one stream, fields id, type, (traceparent,) body (@herald/brokers). */
import { createRedisStreamPublisher } from '@herald/brokers';
import type { RedisDestinationConfig } from '../config.js';
import type { Destination, ForwardMessage } from './types.js';

export function createRedisDestination(name: string, config: RedisDestinationConfig): Destination {
  const publisher = createRedisStreamPublisher({ uri: config.url, stream: config.stream, maxLen: config.maxLen, timeoutMs: config.timeoutMs });
  return {
    name,
    send: async (message: ForwardMessage) => {
      await publisher.publish({
        body: message.body,
        messageId: message.webhookId,
        headers: {
          id: message.webhookId,
          type: message.eventType,
          ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
        },
      });
    },
    close: () => publisher.close(),
  };
}
