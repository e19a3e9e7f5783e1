/**
 * RabbitMQ: publish on a confirm channel and wait for the broker's ack, persistent and mandatory, so
 * an unroutable message (no queue bound) is a failure, not a silent drop. The connection is opened
 * on first use and dropped on any error; the next publish reconnects.
 */
import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { bareHost, urlHost, withTimeout, type BrokerMessage, type ConnectOptions, type Publisher } from './types.js';

export interface RabbitMqOptions extends ConnectOptions {
  /** amqp:// or amqps:// URI, with credentials and virtual host. */
  uri: string;
  /** '' is the default exchange, where the routing key is the queue name. */
  exchange: string;
  routingKey: string;
}

/** Tells a returned (unroutable) publish apart from others: `return` arrives before the ack. */
const ATTEMPT_HEADER = 'herald-attempt-id';

interface Link {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Messages the broker returned as unroutable, by their attempt header. */
  returned: Set<string>;
}

export function createRabbitMqPublisher(o: RabbitMqOptions): Publisher {
  let link: Promise<Link> | undefined;
  const what = `RabbitMQ ${JSON.stringify(o.routingKey)}`;

  function drop(stale: Promise<Link>): void {
    if (link !== stale) return;
    link = undefined;
    stale.then((l) => l.connection.close()).catch(() => undefined);
  }

  async function target(): Promise<{ url: string; socket: Record<string, unknown> }> {
    if (!o.resolveHost) return { url: o.uri, socket: {} };
    const u = new URL(o.uri);
    const name = bareHost(u);
    const address = await o.resolveHost(name);
    u.hostname = urlHost(address);
    // TLS still checks the broker's certificate against its name.
    return { url: u.toString(), socket: u.protocol === 'amqps:' ? { servername: name } : {} };
  }

  function open(): Promise<Link> {
    if (link) return link;
    const current: Promise<Link> = (async () => {
      const { url, socket } = await target();
      const connection = await connect(url, {
        timeout: o.timeoutMs,
        ...socket,
        ...(o.connectionName ? { clientProperties: { connection_name: o.connectionName } } : {}),
      });
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
    async publish(message: BrokerMessage) {
      const current = open();
      try {
        const { channel, returned } = await withTimeout(current, o.timeoutMs, `connect to ${what}`);
        const attemptId = randomUUID();
        const confirmed = new Promise<void>((resolve, reject) => {
          channel.publish(
            o.exchange,
            o.routingKey,
            Buffer.from(message.body),
            {
              persistent: true,
              mandatory: true,
              contentType: 'application/json',
              messageId: message.messageId,
              ...(message.type === undefined ? {} : { type: message.type }),
              ...(message.timestampMs === undefined ? {} : { timestamp: Math.floor(message.timestampMs / 1000) }),
              headers: { ...message.headers, [ATTEMPT_HEADER]: attemptId },
            },
            (err) => (err ? reject(err instanceof Error ? err : new Error(`broker nacked: ${String(err)}`)) : resolve()),
          );
        });
        await withTimeout(confirmed, o.timeoutMs, `publish to ${what}`);
        if (returned.delete(attemptId)) {
          throw new Error(`unroutable: no queue bound to exchange ${JSON.stringify(o.exchange)} with key ${JSON.stringify(o.routingKey)}`);
        }
        return 'confirmed by the broker';
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
