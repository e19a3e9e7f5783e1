/**
 * One message as a broker gets it: the body exactly as given, header (or stream field) values, and
 * the ids brokers use natively. What the headers are called is the caller's choice: the server sends
 * Standard Webhooks' `webhook-id`/`-timestamp`/`-signature`, the inbound gateway its `herald-*` ones.
 */
export interface BrokerMessage {
  /** The message body (JSON text), sent as it is. */
  body: string;
  /** Header names and values (AMQP headers, NATS headers, Redis stream fields before `body`). */
  headers: Readonly<Record<string, string>>;
  /**
   * The broker's own message id: AMQP `message-id`, JetStream `Nats-Msg-Id` (the stream drops a
   * second message with the same id inside its duplicate window). Stable across retries.
   */
  messageId: string;
  /** AMQP `type` property (the event type); absent: none. */
  type?: string | undefined;
  /** AMQP `timestamp` property, epoch ms; absent: none. */
  timestampMs?: number | undefined;
}

/**
 * A destination that is a broker. `publish` resolves only once the broker has the message (RabbitMQ
 * publisher confirm, Redis XADD reply, JetStream PubAck); anything else rejects, and the caller
 * retries on its own schedule. A publisher keeps its connection open between publishes and
 * reconnects on the next publish after a failure. Further brokers (SQS, Pub/Sub, Kafka,
 * EventBridge) are further implementations of this interface.
 */
export interface Publisher {
  /** Resolves with the broker's receipt in words (the stream entry's id, the JetStream sequence), for logs. */
  publish(message: BrokerMessage): Promise<string>;
  /** Closes the connection; a publish after close opens a new one. */
  close(): Promise<void>;
}

/** Settings every publisher takes. */
export interface ConnectOptions {
  /** The longest a connection or one publish may take. */
  timeoutMs: number;
  /**
   * The address to connect to for a host name or IP literal, e.g. after an SSRF check; rejects to
   * refuse the connection. The connection then goes to exactly that address (TLS still checks
   * the certificate against the name). Absent: the name is resolved as usual.
   */
  resolveHost?: ((host: string) => Promise<string>) | undefined;
  /** How the connection introduces itself to the broker (NATS, RabbitMQ), for its operators. */
  connectionName?: string | undefined;
}

/** Rejects after `ms` unless `promise` settles first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A host as a URL writes it: IPv6 literals in brackets. */
export function urlHost(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/** A URL's host name without IPv6 brackets. */
export function bareHost(u: URL): string {
  return u.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * A broker URI as logs, errors and APIs may show it: scheme, host, port and path, without the user
 * name, password or query (which may carry credentials).
 */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(not a URI)';
  }
}
