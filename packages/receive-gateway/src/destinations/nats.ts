/**
 * NATS destination: JetStream publish and wait for the stream's ack (@herald/brokers). The webhook
 * id goes in as Nats-Msg-Id, so JetStream's own duplicate window also drops a re-publish after a crash.
 */
import { createNatsJetStreamPublisher } from '@herald/brokers';
import type { NatsDestinationConfig } from '../config.js';
import type { Destination, ForwardMessage } from './types.js';

export function createNatsDestination(name: string, config: NatsDestinationConfig): Destination {
  const publisher = createNatsJetStreamPublisher({
    servers: config.servers,
    subject: config.subject,
    timeoutMs: config.timeoutMs,
    connectionName: `herald-receive:${name}`,
  });
  return {
    name,
    send: async (message: ForwardMessage) => {
      await publisher.publish({
        body: message.body,
        messageId: message.webhookId,
        headers: {
          'herald-webhook-id': message.webhookId,
          'herald-event-type': message.eventType,
          'content-type': 'application/json',
          ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
        },
      });
    },
    close: () => publisher.close(),
  };
}
