/**
 * RabbitMQ destination: publish on a confirm channel and wait for the broker's ack, persistent and
 * mandatory, so an unroutable message (no queue bound) is a failure, not a silent drop. The
 * connection is opened on first use and dropped on any error; the next attempt reconnects.
 */
import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import type { RabbitMqDestinationConfig } from '../config.js';
import { withTimeout, type Destination, type ForwardMessage } from './types.js';

const ATTEMPT_HEADER = 'herald-attempt-id';

interface Link {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Messages the broker returned as unroutable, by their attempt header. */
  returned: Set<string>;
}

export function createRabbitMqDestination(name: string, config: RabbitMqDestinationConfig): Destination {
  let link: Promise<Link> | undefined;

  function drop(stale: Promise<Link>): void {
    if (link !== stale) return;
    link = undefined;
    stale.then((l) => l.connection.close()).catch(() => undefined);
  }

  function open(): Promise<Link> {
    if (link) return link;
    const current: Promise<Link> = (async () => {
      const connection = await connect(config.url, { timeout: config.timeoutMs });
      connection.on('error', () => undefined);
      connection.on('close', () => drop(current));
      const channel = await connection.createConfirmChannel();
      const returned = new Set<string>();
      channel.on('error', () => undefined);
      channel.on('close', () => drop(current));
      channel.on('return', (msg: Message) => {
        const attempt: unknown = msg.properties.headers?.[ATTEMPT_HEADER];
        if (typeof attempt === 'string') returned.add(attempt);
      });
      return { connection, channel, returned };
    })();
    link = current;
    current.catch(() => drop(current));
    return current;
  }

  return {
    name,
    async send(message: ForwardMessage) {
      const current = open();
      try {
        const { channel, returned } = await withTimeout(current, config.timeoutMs, `connect to ${name}`);
        // message_id is the webhook id, the same on every attempt, so consumers can dedupe on it
        // natively. A per-attempt header tells returns apart: `return` arrives before the ack, so
        // we can tell this publish was unroutable.
        const attemptId = randomUUID();
        const confirmed = new Promise<void>((resolve, reject) => {
          channel.publish(
            config.exchange,
            config.routingKey,
            Buffer.from(message.body),
            {
              persistent: true,
              mandatory: true,
              contentType: 'application/json',
              messageId: message.webhookId,
              type: message.eventType,
              timestamp: Math.floor(message.receivedAt / 1000),
              headers: {
                'herald-webhook-id': message.webhookId,
                'herald-event-type': message.eventType,
                [ATTEMPT_HEADER]: attemptId,
                ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
              },
            },
            (err) => (err ? reject(err instanceof Error ? err : new Error(`broker nacked: ${String(err)}`)) : resolve()),
          );
        });
        await withTimeout(confirmed, config.timeoutMs, `publish to ${name}`);
        if (returned.delete(attemptId)) {
          throw new Error(`unroutable: no queue bound to exchange ${JSON.stringify(config.exchange)} with key ${JSON.stringify(config.routingKey)}`);
        }
      } catch (err) {
        drop(current);
        throw err;
      }
    },
    async close() {
      const current = link;
      link = undefined;
      if (current) await current.then((l) => l.connection.close()).catch(() => undefined);
    },
  };
}
