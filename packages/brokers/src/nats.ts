/**
 * NATS JetStream: publish and wait for the stream's PubAck. The message id goes in as Nats-Msg-Id,
 * so the stream's duplicate window drops a re-publish of the same id (after a lost ack, a crash).
 */
import { connect, credsAuthenticator, headers, type ConnectionOptions, type NatsConnection } from 'nats';
import { bareHost, urlHost, withTimeout, type BrokerMessage, type ConnectOptions, type Publisher } from './types.js';

export interface NatsJetStreamOptions extends ConnectOptions {
  /** Server URLs (`nats://host:4222`, `tls://…`, or `host:port`), with `user:pass@` or `token@` when the server asks. */
  servers: string[];
  subject: string;
  /** A `.creds` file's text (user JWT and NKey seed), for servers using decentralised auth. */
  credentials?: string | undefined;
}

/** A server entry as a URL (`host:port` gets nats://). */
function serverUrl(s: string): URL {
  return new URL(/^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`);
}

async function connectionOptions(o: NatsJetStreamOptions): Promise<ConnectionOptions> {
  const opts: ConnectionOptions = { timeout: o.timeoutMs };
  if (o.connectionName) opts.name = o.connectionName;
  const servers: string[] = [];
  let tls = false;
  for (const s of o.servers) {
    const u = serverUrl(s);
    if (u.protocol === 'tls:') tls = true;
    if (u.username && u.password) {
      opts.user = decodeURIComponent(u.username);
      opts.pass = decodeURIComponent(u.password);
    } else if (u.username) opts.token = decodeURIComponent(u.username);
    const port = u.port === '' ? '4222' : u.port;
    // Over TLS the name stays, for the certificate check; the guard has judged its addresses.
    const host = o.resolveHost ? await o.resolveHost(bareHost(u)) : bareHost(u);
    servers.push(`${urlHost(tls ? bareHost(u) : host)}:${port}`);
  }
  opts.servers = servers;
  if (tls) opts.tls = {};
  if (o.credentials) opts.authenticator = credsAuthenticator(new TextEncoder().encode(o.credentials));
  return opts;
}

export function createNatsJetStreamPublisher(o: NatsJetStreamOptions): Publisher {
  let connection: Promise<NatsConnection> | undefined;
  const what = `NATS ${JSON.stringify(o.subject)}`;

  function open(): Promise<NatsConnection> {
    if (connection) return connection;
    const current = connectionOptions(o).then((opts) => connect(opts));
    connection = current;
    current.then(
      (nc) => void nc.closed().then(() => (connection === current ? (connection = undefined) : undefined)),
      () => (connection === current ? (connection = undefined) : undefined),
    );
    return current;
  }

  return {
    async publish(message: BrokerMessage) {
      const nc = await withTimeout(open(), o.timeoutMs, `connect to ${what}`);
      const h = headers();
      for (const [k, v] of Object.entries(message.headers)) h.set(k, v);
      if (!h.has('content-type')) h.set('content-type', 'application/json');
      const ack = await nc.jetstream().publish(o.subject, new TextEncoder().encode(message.body), {
        msgID: message.messageId,
        headers: h,
        timeout: o.timeoutMs,
      });
      return `stream ${ack.stream} seq ${ack.seq}${ack.duplicate ? ' (a duplicate: the stream had it)' : ''}`;
    },
    async close() {
      const current = connection;
      connection = undefined;
      if (current) await current.then((nc) => nc.drain()).catch(() => undefined);
    },
  };
}
