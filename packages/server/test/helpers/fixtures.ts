// Small builders for the in-process API tests. Each goes through the real API (and fails loudly
// when the API does not answer as expected), except `insertAttempt`, which writes an attempt row
// straight into the database (SQLite or PostgreSQL, whichever the Herald runs on) because these
// tests run without the dispatcher that writes attempts.

import type { InProcess, InjectOptions } from './inproc.js';
import { rawRow, rawRows, rawRun } from './rows.js';

let counter = 0;
/** A unique, uid-safe name: `${prefix}-${n}`. */
export function unique(prefix = 'x'): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

async function expectStatus(h: InProcess, method: 'POST' | 'PUT' | 'PATCH' | 'GET', url: string, status: number, opts: InjectOptions): Promise<any> {
  const r = await h.inject(method, url, opts);
  if (r.status !== status) throw new Error(`${method} ${url} answered ${r.status} (wanted ${status}): ${r.text}`);
  return r.json;
}

export function createApp(h: InProcess, body: Record<string, unknown> = {}, token?: string): Promise<any> {
  return expectStatus(h, 'POST', '/api/v1/app', 201, { body: { name: unique('app'), ...body }, token });
}

export function createEventType(h: InProcess, body: Record<string, unknown> = {}): Promise<any> {
  return expectStatus(h, 'POST', '/api/v1/event-type', 201, {
    body: { name: unique('evt').replaceAll('-', '.'), description: 'a test event type', ...body },
  });
}

export function createEndpoint(h: InProcess, app: string, body: Record<string, unknown> = {}, token?: string): Promise<any> {
  return expectStatus(h, 'POST', `/api/v1/app/${app}/endpoint`, 201, {
    body: { url: 'https://example.com/hook', ...body },
    token,
  });
}

export function sendMessage(h: InProcess, app: string, body: Record<string, unknown> = {}): Promise<any> {
  return expectStatus(h, 'POST', `/api/v1/app/${app}/msg`, 202, {
    body: { eventType: 'test.event', payload: { hello: 'world' }, ...body },
  });
}

export async function portalToken(h: InProcess, app: string, body: Record<string, unknown> = {}): Promise<string> {
  const out = await expectStatus(h, 'POST', `/api/v1/auth/app-portal-access/${app}`, 200, { body });
  return out.token as string;
}

export interface AttemptRow {
  msgId: string;
  endpointId: string;
  appId: string;
  status?: number;
  responseStatusCode?: number;
  response?: string;
  url?: string;
  durationMs?: number;
  triggerType?: number;
  /** Epoch ms; default the Herald's clock. */
  at?: number;
}

/** Insert one attempt row into the real database and return its id. */
export async function insertAttempt(h: InProcess, a: AttemptRow): Promise<string> {
  const at = a.at ?? h.herald.deps.now();
  const id = h.herald.deps.ids.next('attempt', at);
  await rawRun(
    h,
    `INSERT INTO attempt (id, msg_id, endpoint_id, app_id, url, response, response_status_code, response_duration_ms,
       status, trigger_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id,
      a.msgId,
      a.endpointId,
      a.appId,
      a.url ?? 'https://example.com/hook',
      a.response ?? '{"ok":true}',
      a.responseStatusCode ?? 200,
      a.durationMs ?? 12,
      a.status ?? 0,
      a.triggerType ?? 0,
      at,
    ],
  );
  return id;
}

export interface TaskRow {
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  status: number;
  attempt_count: number;
  next_attempt_at: number | null;
  trigger_type: number;
  /** 1 when the next attempt is a manual resend (0/1 on both stores). */
  manual_next: number;
  resume_at: number | null;
  /** The dispatcher holding the task's lease, or null. */
  lease_owner: string | null;
  /** Ordered delivery: the place in its (endpoint, key) order, and the message it is parked behind. */
  ordering_seq: number | null;
  waiting_for: string | null;
}

/** The delivery-task rows of a message, by endpoint id. */
export async function tasksOf(h: InProcess, msgId: string): Promise<Map<string, TaskRow>> {
  const rows = await rawRows<TaskRow>(h, 'SELECT * FROM delivery_task WHERE msg_id = ?', [msgId]);
  return new Map(rows.map((r) => [r.endpoint_id, r]));
}

/** Rows of `table` matching `where` (portable SQL with `?` placeholders, see rows.ts). */
export async function count(h: InProcess, table: string, where = '1 = 1', ...params: unknown[]): Promise<number> {
  return (await rawRow<{ n: number }>(h, `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params))!.n;
}
