/** Redis Streams destination: XADD to one stream, fields id, type, body. */
import { Redis } from 'ioredis';
import type { RedisDestinationConfig } from '../config.js';
import { withTimeout, type Destination, type ForwardMessage } from './types.js';

export function createRedisDestination(name: string, config: RedisDestinationConfig): Destination {
  const redis = new Redis(config.url, {
    lazyConnect: true,
    // Fail a command fast while Redis is down; the inbox's retry schedule is the real retry.
    maxRetriesPerRequest: 1,
    commandTimeout: config.timeoutMs,
  });
  // Connection errors surface on the commands only as "max retries"; keep the cause for the log.
  let connectionError: string | undefined;
  redis.on('error', (err: Error) => (connectionError = err.message));
  redis.on('ready', () => (connectionError = undefined));
  return {
    name,
    async send(message: ForwardMessage) {
      const fields = ['id', message.webhookId, 'type', message.eventType, 'body', message.body];
      if (message.traceparent !== undefined) fields.push('traceparent', message.traceparent);
      const cap = config.maxLen === undefined ? [] : ['MAXLEN', '~', String(config.maxLen)];
      let reply: string | null;
      try {
        reply = await withTimeout(redis.xadd(config.stream, ...(cap as ['MAXLEN', '~', string]), '*', ...fields), config.timeoutMs, `XADD ${config.stream}`);
      } catch (err) {
        const cause = connectionError === undefined ? '' : ` (connection: ${connectionError})`;
        throw new Error(`XADD ${config.stream} failed: ${(err as Error).message}${cause}`, { cause: err });
      }
      if (reply === null) throw new Error(`XADD ${config.stream} returned no id`);
    },
    async close() {
      redis.disconnect();
    },
  };
}
