/**
 * Prometheus metrics for `GET /metrics`, on a registry of the gateway's own (never prom-client's
 * global one, so several gateways in one process, as in the tests, do not mix). The inbox counts
 * are read when scraped, so they are the inbox's truth, not a tally that a restart would reset.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Inbox } from './inbox.js';

export interface GatewayMetrics {
  readonly registry: Registry;
  /** One webhook answered: `stored`, `duplicate`, or the refusal code. */
  received(outcome: string): void;
  /** One forwarding attempt finished. */
  attempt(destination: string, ok: boolean): void;
}

export function createGatewayMetrics(inbox: Inbox, destinations: readonly string[]): GatewayMetrics {
  const registry = new Registry();
  const received = new Counter({
    name: 'herald_receive_webhooks_total',
    help: 'Webhooks answered, by outcome: stored, duplicate, or the refusal code',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'herald_receive_forward_attempts_total',
    help: 'Forwarding attempts, by destination and result (ok or error)',
    labelNames: ['destination', 'result'],
    registers: [registry],
  });
  const deliveries = (status: 'pending' | 'failed', help: string) =>
    new Gauge({
      name: `herald_receive_deliveries_${status}`,
      help,
      labelNames: ['destination'],
      registers: [registry],
      collect() {
        const counts = inbox.countsByDestination();
        for (const name of new Set([...destinations, ...Object.keys(counts)])) this.set({ destination: name }, counts[name]?.[status] ?? 0);
      },
    });
  deliveries('pending', 'Deliveries waiting for an attempt, by destination');
  deliveries('failed', 'Deliveries that ran out of attempts and wait for requeue-failed, by destination');
  return {
    registry,
    received: (outcome) => received.inc({ outcome }),
    attempt: (destination, ok) => attempts.inc({ destination, result: ok ? 'ok' : 'error' }),
  };
}
