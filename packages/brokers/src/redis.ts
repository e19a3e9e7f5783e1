/** Redis Streams: XADD to one stream, the headers as fields followed by `body`; the reply is the ack. */
import { Redis, type RedisOptions } from 'ioredis';
import { bareHost, withTimeout, type BrokerMessage, type ConnectOptions, type Publisher } from './types.js';

export interface RedisStreamOptions extends ConnectOptions {
  /** redis:// or rediss:// URL, with user, password and database number. */
  uri: string;
  stream: string;
  /** Approximate cap on the stream's length (XADD MAXLEN ~); absent: no cap. */
  maxLen?: number | undefined;
}

/** ioredis settings from a redis:// URL, connecting to `address` (the URL's host when absent). */
function optionsOf(uri: string, timeoutMs: number, address: string | undefined, name: string | undefined): RedisOptions {
  const u = new URL(uri);
  const host = bareHost(u);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: address ?? host,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number.isInteger(db) ? db : 0,
    ...(u.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
    ...(name ? { connectionName: name } : {}),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // Fail a command fast while Redis is down; the caller's retry schedule is the real retry.
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
  };
}

export function createRedisStreamPublisher(o: RedisStreamOptions): Publisher {
  let client: Promise<Redis> | undefined;
  // Connection errors surface on the commands only as "max retries"; keep the cause for the error.
  let connectionError: string | undefined;

  function open(): Promise<Redis> {
    if (client) return client;
    const current = (async () => {
      const address = o.resolveHost ? await o.resolveHost(bareHost(new URL(o.uri))) : undefined;
      const redis = new Redis(optionsOf(o.uri, o.timeoutMs, address, o.connectionName));
      redis.on('error', (err: Error) => (connectionError = err.message));
      redis.on('ready', () => (connectionError = undefined));
      return redis;
    })();
    client = current;
    current.catch(() => (client === current ? (client = undefined) : undefined));
    return current;
  }

  return {
    async publish(message: BrokerMessage) {
      const fields: string[] = [];
      for (const [k, v] of Object.entries(message.headers)) fields.push(k, v);
      fields.push('body', message.body);
      const cap = o.maxLen === undefined ? [] : ['MAXLEN', '~', String(o.maxLen)];
      let reply: string | null;
      try {
        const redis = await open();
        reply = await withTimeout(redis.xadd(o.stream, ...(cap as ['MAXLEN', '~', string]), '*', ...fields), o.timeoutMs, `XADD ${o.stream}`);
      } catch (err) {
        const cause = connectionError === undefined ? '' : ` (connection: ${connectionError})`;
        throw new Error(`XADD ${o.stream} failed: ${(err as Error).message}${cause}`, { cause: err });
      }
      if (reply === null) throw new Error(`XADD ${o.stream} returned no id`);
      return `stream ${o.stream} entry ${reply}`;
    },
    async close() {
      const current = client;
      client = undefined;
      if (current) await current.then((r) => r.disconnect()).catch(() => undefined);
    },
  };
}
