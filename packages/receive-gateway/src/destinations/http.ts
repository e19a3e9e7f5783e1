/** HTTP destination: POST the decrypted event as JSON; any 2xx is success. */
import type { HttpDestinationConfig } from '../config.js';
import type { Destination, ForwardMessage } from './types.js';

export function createHttpDestination(name: string, config: HttpDestinationConfig): Destination {
  return {
    name,
    async send(message: ForwardMessage) {
      const res = await fetch(config.url, {
        method: 'POST',
        headers: {
          ...config.headers,
          'content-type': 'application/json',
          // Stable across retries, so the internal service can dedupe too.
          'herald-webhook-id': message.webhookId,
          'herald-event-type': message.eventType,
        },
        body: message.body,
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      // Drain the body so the connection goes back to the pool.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) throw new Error(`${config.url} answered ${res.status}`);
    },
    async close() {},
  };
}
