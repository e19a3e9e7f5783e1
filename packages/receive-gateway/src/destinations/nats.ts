/**
 * NATS destination: JetStream publish and wait for the stream's ack. The webhook id goes in as
 * Nats-Msg-Id, so JetStream's own duplicate window also drops a re-publish after a crash.
 */
import { connect, headers, type NatsConnection } from 'nats';
import type { NatsDestinationConfig } from '../config.js';
import { withTimeout, type Destination, type ForwardMessage } from './types.js';

export function createNatsDestination(name: string, config: NatsDestinationConfig): Destination {
  let connection: Promise<NatsConnection> | undefined;

  function open(): Promise<NatsConnection> {
    if (connection) return connection;
    const current = connect({ servers: config.servers, timeout: config.timeoutMs, name: `herald-receive:${name}` });
    connection = current;
    current.then(
      (nc) => void nc.closed().then(() => (connection === current ? (connection = undefined) : undefined)),
      () => (connection === current ? (connection = undefined) : undefined),
    );
    return current;
  }

  return {
    name,
    async send(message: ForwardMessage) {
      const nc = await withTimeout(open(), config.timeoutMs, `connect to ${name}`);
      const h = headers();
      h.set('herald-webhook-id', message.webhookId);
      h.set('herald-event-type', message.eventType);
      h.set('content-type', 'application/json');
      if (message.traceparent !== undefined) h.set('traceparent', message.traceparent);
      await nc.jetstream().publish(config.subject, new TextEncoder().encode(message.body), {
        msgID: message.webhookId,
        headers: h,
        timeout: config.timeoutMs,
      });
    },
    async close() {
      const current = connection;
      connection = undefined;
      if (current) await current.then((nc) => nc.drain()).catch(() => undefined);
    },
  };
}
