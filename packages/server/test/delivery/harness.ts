// Shared set-up for the delivery tests: an in-process Herald with its dispatcher running (real
// store: a SQLite file, or a PostgreSQL database under HERALD_TEST_DATABASE=postgres; real undici
// sends to a loopback Receiver), API calls through the full Fastify stack, and polling helpers
// with deadlines. Nothing here is mocked.

import { afterAll, beforeAll } from 'vitest';
import * as fixtures from '../helpers/fixtures.js';
import { startInProcess, type InProcess, type InjectOptions, type Method } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import { rawRow } from '../helpers/rows.js';
import { until } from '../helpers/wait.js';

export interface DeliveryHerald extends InProcess {
  /** Call the API; throws unless it answers `status`. Returns the parsed JSON body. */
  call(method: Method, url: string, status: number, body?: unknown, opts?: InjectOptions): Promise<any>;
  /** Make the dispatcher look for due work now (e.g. after moving an injected clock). */
  wake(): void;
}

export interface StartOptions {
  env?: Record<string, string>;
  now?: () => number;
  dataDir?: string;
  /** The store; default HERALD_TEST_DATABASE's (see helpers/inproc.ts). */
  database?: 'sqlite' | 'postgres';
}

/**
 * A Herald with the dispatcher on. Polls every 20 ms so moved clocks are noticed promptly. The
 * circuit breaker is on as in production, with cool-downs of milliseconds (unless a test sets its
 * own): an endpoint a test fails on purpose opens its circuit after five failures in a row, and
 * retries a few milliseconds apart still go out (each as the probe) instead of waiting 30 s.
 */
export async function startDelivery(opts: StartOptions = {}): Promise<DeliveryHerald> {
  const h = await startInProcess({
    dispatch: true,
    now: opts.now,
    dataDir: opts.dataDir,
    database: opts.database,
    env: { HERALD_POLL_INTERVAL: '20ms', HERALD_LOG_LEVEL: 'silent', HERALD_CIRCUIT_COOLDOWN: '10ms', HERALD_CIRCUIT_MAX_COOLDOWN: '40ms', ...opts.env },
  });
  return Object.assign(h, {
    async call(method: Method, url: string, status: number, body?: unknown, o: InjectOptions = {}) {
      const r = await h.inject(method, url, { body, ...o });
      if (r.status !== status) throw new Error(`${method} ${url} answered ${r.status} (wanted ${status}): ${r.text}`);
      return r.json;
    },
    wake() {
      h.herald.dispatcher?.wake();
    },
  });
}

/** What a `describe` block of delivery tests works with; both are there from its first hook on. */
export interface DeliverySuite {
  readonly h: DeliveryHerald;
  readonly rx: Receiver;
}

/**
 * Starts a Receiver, then a Herald (`startDelivery(opts)`), before the block's tests and closes the
 * Herald, then the Receiver, after them. Hooks the block registers after this call run after the
 * start and before the close (vitest runs after-hooks in reverse), so they can set up routes or
 * replace parts of the Herald and tear them down first.
 */
export function deliverySuite(opts?: StartOptions): DeliverySuite {
  let h: DeliveryHerald | undefined;
  let rx: Receiver | undefined;
  beforeAll(async () => {
    rx = await Receiver.start();
    h = await startDelivery(opts);
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
  });
  const started = <T>(what: string, v: T | undefined): T => {
    if (v === undefined) throw new Error(`deliverySuite: the ${what} is not started yet (use it in a hook or a test)`);
    return v;
  };
  return {
    get h() {
      return started('Herald', h);
    },
    get rx() {
      return started('Receiver', rx);
    },
  };
}

export { createApp, sendMessage, unique as uniq } from '../helpers/fixtures.js';

/** An event type named `name` (helpers/fixtures.ts's createEventType, with the name chosen). */
export function createEventType(h: DeliveryHerald, name: string, body: Record<string, unknown> = {}): Promise<any> {
  return fixtures.createEventType(h, { name, description: `${name} (test)`, ...body });
}

/** An endpoint pointing at `rx` on `path` (helpers/fixtures.ts's createEndpoint, addressed to a receiver). */
export function createEndpoint(h: DeliveryHerald, appId: string, rx: Receiver, path: string, body: Record<string, unknown> = {}): Promise<any> {
  return fixtures.createEndpoint(h, appId, { url: rx.url(path), ...body });
}

export async function getSecret(h: DeliveryHerald, appId: string, epId: string): Promise<string> {
  return (await h.call('GET', `/api/v1/app/${appId}/endpoint/${epId}/secret`, 200)).key;
}

/** Attempts of a message (optionally to one endpoint), oldest first, through the API. */
export async function attemptsOf(h: DeliveryHerald, appId: string, msgId: string, endpointId?: string): Promise<any[]> {
  const q = endpointId ? `&endpoint_id=${endpointId}` : '';
  const page = await h.call('GET', `/api/v1/app/${appId}/attempt/msg/${msgId}?limit=250${q}`, 200);
  return [...page.data].sort((a: any, b: any) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The message's delivery state at one endpoint, from list-attempted-destinations. */
export async function destination(h: DeliveryHerald, appId: string, msgId: string, endpointId: string): Promise<any> {
  const page = await h.call('GET', `/api/v1/app/${appId}/msg/${msgId}/endpoint?limit=250`, 200);
  return page.data.find((d: any) => d.id === endpointId);
}

export type { TaskRow } from '../helpers/fixtures.js';

/** The delivery-task row straight from the database (either store). */
export function taskRow(h: DeliveryHerald, msgId: string, endpointId: string): Promise<fixtures.TaskRow | undefined> {
  return rawRow<fixtures.TaskRow>(h, 'SELECT * FROM delivery_task WHERE msg_id = ? AND endpoint_id = ?', [msgId, endpointId]);
}

export { until } from '../helpers/wait.js';

/** Wait until the delivery is finished (no next attempt, no lease) and return its row. */
export function settled(h: DeliveryHerald, msgId: string, endpointId: string, timeoutMs = 10_000): Promise<fixtures.TaskRow> {
  return until(
    `delivery ${msgId} → ${endpointId} to finish`,
    async () => {
      const t = await taskRow(h, msgId, endpointId);
      return t && t.next_attempt_at === null && t.lease_owner === null ? t : undefined;
    },
    timeoutMs,
  );
}

/** Wait until the `n`-th attempt of the delivery is recorded and its lease released; returns the row. */
export function attemptRecorded(h: DeliveryHerald, msgId: string, endpointId: string, n: number, timeoutMs = 10_000): Promise<fixtures.TaskRow> {
  return until(
    `attempt ${n} of ${msgId} → ${endpointId}`,
    async () => {
      const t = await taskRow(h, msgId, endpointId);
      return t && t.attempt_count === n && t.lease_owner === null ? t : undefined;
    },
    timeoutMs,
  );
}

/**
 * An endpoint's deliveries by state: `sent` (delivered), `waiting` (not leased and not due before
 * `after`: no dispatcher can take them until the clock passes it) and `other` (due or in flight).
 */
export async function deliveryStates(h: DeliveryHerald, endpointId: string, after: number): Promise<{ sent: number; waiting: number; other: number }> {
  const r = (await rawRow<{ sent: number | null; waiting: number | null; total: number }>(
    h,
    `SELECT SUM(CASE WHEN status = 0 THEN 1 ELSE 0 END) AS sent,
            SUM(CASE WHEN status <> 0 AND lease_owner IS NULL AND next_attempt_at > ? THEN 1 ELSE 0 END) AS waiting,
            COUNT(*) AS total
       FROM delivery_task WHERE endpoint_id = ?`,
    [after, endpointId],
  ))!;
  const sent = Number(r.sent ?? 0);
  const waiting = Number(r.waiting ?? 0);
  return { sent, waiting, other: Number(r.total) - sent - waiting };
}

/**
 * How many of a throttled endpoint's slots a frozen clock lets through `seconds` after the first
 * reservation: slot i is at start + i * (1000 / rate) ms; while the clock stands still the
 * dispatcher sends the slots up to one second ahead (it holds those in memory), and after that a
 * slot goes out when the clock reaches it.
 */
export function slotsUsed(rate: number, seconds: number, total: number): number {
  return Math.min(total, Math.floor((Math.max(seconds, 1) * 1000) / Math.ceil(1000 / rate)) + 1);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
