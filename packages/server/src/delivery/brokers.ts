// delivery/brokers: one attempt to a broker destination (domain/destinations.ts). The same request
// the HTTP sender would make (id, timestamp, signature over the same body), published through
// @herald/brokers instead of POSTed: the Standard Webhooks headers become message headers (Redis:
// stream fields) and the payload the message body. Success is the broker's acknowledgement; any
// failure is a retry, like an HTTP attempt without an answer. Knows nothing of the store: the
// destination's connection settings come from a loader the caller passes in.
import { createNatsJetStreamPublisher, createRabbitMqPublisher, createRedisStreamPublisher, type Publisher } from '@herald/brokers';
import { sign } from '@herald/receiver';
import { recordedRequestHeaders } from '../domain/request-headers.js';
import type { BrokerKind, Endpoint } from '../domain/types.js';
import type { SsrfGuard } from '../security/ssrf.js';
import type { DeliveryRequest, DeliveryResult } from './send.js';

export interface BrokerSenderOptions {
  /** Header families to sign with, as for HTTP deliveries (`webhook-*` always, `svix-*` when configured). */
  headerPrefixes: readonly ('svix' | 'webhook')[];
  /** Broker hosts are judged like endpoint URLs; the connection goes to the address it allowed. */
  guard: SsrfGuard;
  /** The longest a connection or one publish may take (a delivery's own timeout may be shorter). */
  timeoutMs: number;
  /** A broker destination's settings (its sealed config, unsealed), or null when it is gone. */
  configOf(appId: string, destinationId: string): Promise<Record<string, unknown> | null>;
  /** A monotonic clock in ms, for closing idle publishers; performance.now() by default (tests inject one). */
  clock?: () => number;
}

/** The status code a broker attempt records: 200 when the broker acknowledged, 0 (no answer) otherwise. */
export const BROKER_ACK_STATUS = 200;

interface Pooled {
  /** The destination's version the publisher was built for (its endpoint row's `updatedAt`). */
  version: number;
  publisher: Promise<Publisher>;
  /** When it last published (the sender's clock). */
  usedAt: number;
}

/** A publisher unused this long is closed (its destination deleted, disabled or quiet); the next delivery reopens it. */
export const IDLE_CLOSE_MS = 10 * 60_000;

/**
 * Publishes deliveries to broker destinations, with one publisher (one connection) per destination,
 * kept between attempts and rebuilt when the destination changes. `close` closes them all.
 */
export class BrokerSender {
  private readonly pool = new Map<string, Pooled>();
  private closed = false;
  private readonly clock: () => number;
  private sweptAt: number;
  /** The signature header families sent: webhook-* always. */
  private readonly prefixes: readonly ('svix' | 'webhook')[];

  constructor(private readonly o: BrokerSenderOptions) {
    this.clock = o.clock ?? (() => performance.now());
    this.sweptAt = this.clock();
    this.prefixes = o.headerPrefixes.includes('webhook') ? o.headerPrefixes : ['webhook', ...o.headerPrefixes];
  }

  private resolveHost = async (host: string): Promise<string> => {
    const [first] = await this.o.guard.resolve(host);
    return first!.address;
  };

  private async build(endpoint: Endpoint, kind: BrokerKind): Promise<Publisher> {
    const c = await this.o.configOf(endpoint.appId, endpoint.id);
    if (!c) throw new Error('the destination is gone');
    const common = { timeoutMs: this.o.timeoutMs, resolveHost: this.resolveHost, connectionName: `herald:${endpoint.id}` };
    switch (kind) {
      case 'rabbitMq':
        return createRabbitMqPublisher({ ...common, uri: String(c.uri), exchange: '', routingKey: String(c.routingKey) });
      case 'redisStream':
        return createRedisStreamPublisher({ ...common, uri: String(c.uri), stream: String(c.stream), maxLen: c.maxLen as number | undefined });
      case 'natsJetStream':
        return createNatsJetStreamPublisher({
          ...common,
          servers: c.servers as string[],
          subject: String(c.subject),
          credentials: c.credentials as string | undefined,
        });
    }
  }

  /** The destination's publisher, built (or rebuilt after a change) on first use. */
  private publisherFor(endpoint: Endpoint, kind: BrokerKind): Promise<Publisher> {
    const now = this.clock();
    if (now - this.sweptAt > IDLE_CLOSE_MS / 10) this.sweep(now);
    const pooled = this.pool.get(endpoint.id);
    if (pooled && pooled.version === endpoint.updatedAt) {
      pooled.usedAt = now;
      return pooled.publisher;
    }
    if (pooled) void pooled.publisher.then((p) => p.close()).catch(() => undefined);
    const publisher = this.build(endpoint, kind);
    const entry = { version: endpoint.updatedAt, publisher, usedAt: now };
    this.pool.set(endpoint.id, entry);
    publisher.catch(() => this.pool.get(endpoint.id) === entry && this.pool.delete(endpoint.id));
    return publisher;
  }

  /** Close the publishers nothing has used for IDLE_CLOSE_MS. */
  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [id, p] of this.pool) {
      if (now - p.usedAt < IDLE_CLOSE_MS) continue;
      this.pool.delete(id);
      void p.publisher.then((x) => x.close()).catch(() => undefined);
    }
  }

  /** The message headers: Standard Webhooks' (and svix-* when configured), as the HTTP delivery would send them. */
  headersFor(req: DeliveryRequest): Record<string, string> {
    const signature = sign({ id: req.msgId, timestamp: req.timestampSeconds, body: req.body, secrets: req.secrets });
    const h: Record<string, string> = { 'content-type': 'application/json' };
    for (const p of this.prefixes) {
      h[`${p}-id`] = req.msgId;
      h[`${p}-timestamp`] = String(req.timestampSeconds);
      h[`${p}-signature`] = signature;
    }
    if (req.traceparent) h.traceparent = req.traceparent;
    return h;
  }

  async send(req: DeliveryRequest, endpoint: Endpoint & { kind: BrokerKind }): Promise<DeliveryResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    const headers = this.headersFor(req);
    const recorded = recordedRequestHeaders(headers, this.prefixes);
    if (this.closed) return { outcome: { kind: 'retry' }, statusCode: 0, response: 'Herald is stopping', durationMs: took() };
    try {
      const publisher = await this.publisherFor(endpoint, endpoint.kind);
      const timeoutMs = req.timeoutMs ?? this.o.timeoutMs;
      const receipt = await deadline(
        publisher.publish({
          body: req.body,
          headers,
          // JetStream de-duplicates by this id within its window: with the destination's id in it,
          // two destinations publishing to one stream both get the message, a repeat does not.
          messageId: endpoint.kind === 'natsJetStream' ? `${req.msgId}:${endpoint.id}` : req.msgId,
          timestampMs: req.timestampSeconds * 1000,
        }),
        timeoutMs,
      );
      return { outcome: { kind: 'success' }, statusCode: BROKER_ACK_STATUS, response: receipt, durationMs: took(), requestHeaders: recorded };
    } catch (e) {
      const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
      const timedOut = err.code === 'ETIMEDOUT_BROKER';
      const refused = err.code === 'ESSRF' ? err.message : err.cause?.code === 'ESSRF' ? err.cause.message : undefined;
      const why = refused ?? (timedOut ? err.message! : `Publish failed: ${err.message ?? String(e)}`);
      return { outcome: { kind: 'retry' }, statusCode: 0, response: why, durationMs: took(), requestHeaders: recorded, ...(timedOut ? { timedOut } : {}) };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(all.map((p) => p.publisher.then((x) => x.close()).catch(() => undefined)));
  }
}

/** Rejects (code ETIMEDOUT_BROKER) after `ms` unless the publish settles first. */
async function deadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`Timed out after ${ms} ms`), { code: 'ETIMEDOUT_BROKER' })), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
