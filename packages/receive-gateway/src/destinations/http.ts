/**
 * HTTP destination: POST the decrypted event as JSON; any 2xx is success. undici's `request` on a
 * keep-alive pool per destination: far less work per call than `fetch`, which matters because
 * every accepted webhook is one of these.
 */
import { parseSecret, signatureHeaders } from '@herald/receiver';
import { Agent, request } from 'undici';
import type { HttpDestinationConfig } from '../config.js';
import type { Destination, ForwardMessage } from './types.js';

/** The URL as errors and logs show it: no query string, which may carry a token. */
function shownUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}${u.search === '' ? '' : '?…'}`;
}

export function createHttpDestination(name: string, config: HttpDestinationConfig): Destination {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const shown = shownUrl(config.url);
  const secret = config.signingSecret === undefined ? undefined : parseSecret(config.signingSecret);
  return {
    name,
    async send(message: ForwardMessage) {
      const res = await request(config.url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          ...config.headers,
          'content-type': 'application/json',
          // Stable across retries, so the internal service can dedupe too.
          'herald-webhook-id': message.webhookId,
          'herald-event-type': message.eventType,
          ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
          // Standard Webhooks headers under the gateway's own key: the next hop verifies them with
          // the receiver kit (or any Standard Webhooks library). The id is the webhook id.
          ...(secret ? signatureHeaders({ id: message.webhookId, timestamp: new Date(), body: message.body, secrets: secret, prefix: 'webhook' }) : {}),
        },
        body: message.body,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
      });
      // Drain the body so the connection goes back to the pool.
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`${shown} answered ${res.statusCode}`);
    },
    async close() {
      await agent.close();
    },
  };
}
