/** What every destination gets: the decrypted event and the id it arrived with. */
export interface ForwardMessage {
  webhookId: string;
  eventType: string;
  /** The decrypted envelope, JSON text. */
  body: string;
  /** When the gateway accepted it, epoch ms. */
  receivedAt: number;
  /**
   * The W3C trace context it arrived in (Herald's attempt span, or the gateway's receive span when
   * it has a tracer): passed on as a `traceparent` header (HTTP, RabbitMQ, NATS) or stream field (Redis).
   */
  traceparent?: string | undefined;
}

/**
 * One internal destination. `send` resolves only when the destination has the message durably
 * (2xx, XADD reply, broker confirm, JetStream ack); anything else rejects and is retried later.
 */
export interface Destination {
  readonly name: string;
  send(message: ForwardMessage): Promise<void>;
  close(): Promise<void>;
}
