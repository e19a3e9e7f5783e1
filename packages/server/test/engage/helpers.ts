// Shared set-up for the Engage producer tests: a tenant with its webhooks module on, and calls that
// fail loudly when the API does not answer as expected.
import { expect } from 'vitest';
import { unique } from '../helpers/fixtures.js';
import type { InProcess, InjectOptions, InjectResult } from '../helpers/inproc.js';

export async function call(
  h: InProcess,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  status: number,
  opts: InjectOptions = {},
): Promise<InjectResult> {
  const r = await h.inject(method, url, opts);
  if (r.status !== status) throw new Error(`${method} ${url} answered ${r.status} (wanted ${status}): ${r.text}`);
  return r;
}

/** A new application (by uid) with the webhooks module on, unless `moduleOn` is false. */
export async function tenant(h: InProcess, opts: { moduleOn?: boolean; key?: string } = {}): Promise<{ id: string; uid: string }> {
  const uid = unique('tenant');
  const app = (await call(h, 'POST', '/api/v1/app', 201, { body: { name: uid, uid } })).json;
  if (opts.moduleOn ?? true) await call(h, 'PUT', `/api/v1/app/${uid}/engage/module`, 200, { body: { enabled: true } });
  if (opts.key) await call(h, 'PUT', `/api/v1/app/${uid}/engage/encryption-key`, 200, { body: { key: opts.key } });
  return { id: app.id, uid };
}

/** POST/DELETE a producer route; returns the event types emitted, in order, and the answer. */
export async function emit(
  h: InProcess,
  app: string,
  route: string,
  body?: unknown,
  opts: { method?: 'POST' | 'DELETE'; status?: number; headers?: Record<string, string> } = {},
): Promise<{ types: string[]; r: InjectResult }> {
  const method = opts.method ?? 'POST';
  const r = await h.inject(method, `/api/v1/app/${app}/engage/${route}`, { body, headers: opts.headers });
  if (opts.status !== undefined && r.status !== opts.status) throw new Error(`${method} ${route} answered ${r.status} (wanted ${opts.status}): ${r.text}`);
  if (r.status === 200 || r.status === 202) {
    expect(r.json.messageIds).toEqual(r.json.events.map((e: { msgId: string }) => e.msgId));
    expect(r.status).toBe(r.json.messageIds.length ? 202 : 200);
  }
  return { types: r.status < 300 ? r.json.events.map((e: { eventType: string }) => e.eventType) : [], r };
}

/** The stored message (payload parsed: the envelope), through the API. */
export async function envelopeOf(h: InProcess, app: string, msgId: string): Promise<any> {
  return (await call(h, 'GET', `/api/v1/app/${app}/msg/${msgId}`, 200)).json.payload;
}

export const guid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
