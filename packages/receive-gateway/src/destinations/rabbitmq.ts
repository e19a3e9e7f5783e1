/**
 * RabbitMQ destination: publish on a confirm channel and wait for the broker's ack (@herald/brokers).
 * message_id is the webhook id, the same on every attempt, so consumers can dedupe on it natively.
 */
import { createRabbitMqPublisher } from '@herald/brokers';
import type { RabbitMqDestinationConfig } from '../config.js';
import type { Destination, ForwardMessage } from './types.js';

export function createRabbitMqDestination(name: string, config: RabbitMqDestinationConfig): Destination {
  const publisher = createRabbitMqPublisher({
    uri: config.url,
    exchange: config.exchange,
    routingKey: config.routingKey,
    timeoutMs: config.timeoutMs,
  });
  return {
    name,
    send: async (message: ForwardMessage) => {
      await publisher.publish({
        body: message.body,
        messageId: message.webhookId,
        type: message.eventType,
        timestampMs: message.receivedAt,
        headers: {
          'herald-webhook-id': message.webhookId,
          'herald-event-type': message.eventType,
          ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
        },
      });
    },
    close: () => publisher.close(),
  };
}
