/**
 * The gateway: node:http → the receiver pipeline (source IP, size, signature, dedupe, decrypt) →
 * the inbox commit → 2xx. Forwarding runs behind the inbox, never on the request path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReceiver, createRouter, handleNodeRequest, type DedupeStore, type ReceiverOptions } from '@herald/receiver';
import { destinationsFor, type GatewayConfig } from './config.js';
import { createDestination } from './destinations/index.js';
import type { Destination } from './destinations/types.js';
import { startForwarder, type Forwarder } from './forwarder.js';
import { openInbox, type Inbox } from './inbox.js';
import { createGatewayMetrics } from './metrics.js';

export interface GatewayOptions {
  now?: () => number;
  log?: (entry: Record<string, unknown>) => void;
  /**
   * An OpenTelemetry tracer: each webhook is a `herald.receive` span continuing Herald's
   * traceparent, and destinations get that span's traceparent. Without one they get Herald's.
   */
  tracer?: ReceiverOptions['tracer'];
}

export interface Gateway {
  /** Where webhooks are posted, e.g. http://127.0.0.1:8080/webhooks. */
  readonly url: string;
  readonly inbox: Inbox;
  /** Stops listening, lets running attempts finish, closes the destinations and the inbox. */
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? Date.now;
  const inbox = openInbox(config.inboxPath, now);
  const destinations = new Map<string, Destination>();
  for (const [name, d] of Object.entries(config.destinations)) destinations.set(name, createDestination(name, d));
  const metrics = createGatewayMetrics(inbox, Object.keys(config.destinations));

  let forwarder: Forwarder | undefined;
  // The inbox is the dedupe memory: an id is "seen" once its event is committed, for as long as
  // the inbox keeps it. `add` has nothing to do, because the route handler's commit already did it.
  // A repeat is answered only once the original is on disk, as the original's own 2xx is.
  const dedupe: DedupeStore = {
    has: (id) => {
      if (!inbox.has(id)) return false;
      metrics.received('duplicate');
      return inbox.synced().then(() => true);
    },
    add: () => undefined,
  };
  const router = createRouter().onAny(async (event, context) => {
    const targets = destinationsFor(config.routes, event.eventType);
    // Destinations get the plain envelope: the payload is decrypted, so it says so.
    const body = JSON.stringify({ ...event, isEncrypted: false });
    const result = await inbox.accept({
      webhookId: context.webhookId,
      eventType: event.eventType,
      body,
      destinations: targets,
      traceparent: context.traceparent,
    });
    // Success is not logged per event (the inbox is the record); refusals and retries are.
    metrics.received(result);
    if (result === 'stored') forwarder?.wake();
  });
  const receiver = createReceiver({
    secrets: config.secrets,
    encryptionKey: config.encryptionKey,
    allowlist: config.allowlist,
    trustedProxies: config.trustedProxies,
    maxBodyBytes: config.maxBodyBytes,
    toleranceSeconds: config.toleranceSeconds,
    router,
    dedupe,
    now,
    tracer: options.tracer,
    onError: (err) => {
      metrics.received(err.code);
      log({ msg: 'refused', code: err.code, status: err.status, detail: err.message });
    },
  });

  /**
   * Health, for monitoring: per destination, deliveries pending and failed for good. Not ok (503)
   * while any delivery has failed for good, until `requeue-failed` puts it back in line: those
   * events reach their destination only when someone acts. Pending deliveries alone are normal.
   */
  function health(res: ServerResponse): void {
    const counts = inbox.countsByDestination();
    const perDestination: Record<string, { pending: number; failed: number }> = {};
    for (const name of new Set([...Object.keys(config.destinations), ...Object.keys(counts)])) {
      perDestination[name] = counts[name] ?? { pending: 0, failed: 0 };
    }
    const all = Object.values(perDestination);
    const pendingDeliveries = all.reduce((n, c) => n + c.pending, 0);
    const failedDeliveries = all.reduce((n, c) => n + c.failed, 0);
    const ok = failedDeliveries === 0;
    json(res, ok ? 200 : 503, { ok, pendingDeliveries, failedDeliveries, destinations: perDestination });
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    // Probes and monitoring; never the webhook path, which only takes POST.
    if (path !== config.path && (req.method === 'GET' || req.method === 'HEAD')) {
      // Liveness, for load balancers: the gateway accepts webhooks. Forwarding trouble must not
      // take it out of rotation, or the sender's retries would pile up too.
      if (path === '/livez') return json(res, 200, { ok: true });
      if (path === '/healthz') return health(res);
      if (path === '/metrics') {
        metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(text);
          },
          (err: unknown) => json(res, 500, { code: 'metrics_failed', detail: String(err) }),
        );
        return;
      }
    }
    if (path !== config.path) return json(res, 404, { code: 'not_found', detail: `webhooks are posted to ${config.path}` });
    if (req.method !== 'POST') {
      return json(res, 405, { code: 'method_not_allowed', detail: 'webhooks are delivered with POST' }, { allow: 'POST' });
    }
    handleNodeRequest(receiver, req, res).catch((err: unknown) => {
      // Only stream errors (the client went away) reach here. The cause goes to the log, never to
      // the sender, which would store it in its attempt log.
      log({ msg: 'request failed', error: String(err) });
      if (!res.headersSent) json(res, 500, { code: 'handler_failed', detail: 'the webhook could not be processed' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  forwarder = startForwarder({
    inbox,
    destinations,
    retry: config.retry,
    concurrency: config.concurrency,
    destinationConcurrency: Object.fromEntries(Object.entries(config.destinations).map(([name, d]) => [name, d.concurrency])),
    now,
    log,
    onAttempt: metrics.attempt,
  });
  // Prune fully forwarded events past their retention, a bounded batch at a time.
  const prune = (): void => {
    try {
      const before = now() - config.retentionHours * 3_600_000;
      let removed = 0;
      for (let n = inbox.prune(before); n > 0 && removed < 100_000; n = inbox.prune(before)) removed += n;
      if (removed > 0) log({ msg: 'pruned', events: removed });
    } catch (err) {
      log({ msg: 'prune failed', error: String(err) });
    }
  };
  const pruneTimer = setInterval(prune, 10 * 60_000);
  pruneTimer.unref();
  const firstPrune = setImmediate(prune);

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${config.path}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    inbox,
    close() {
      closing ??= (async () => {
        clearInterval(pruneTimer);
        clearImmediate(firstPrune);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await forwarder?.stop();
        await Promise.allSettled([...destinations.values()].map((d) => d.close()));
        inbox.close();
      })();
      return closing;
    },
  };
}
