// The inbox on a real SQLite file: dedupe by webhook id, attempt state, and what survives a reopen.
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { retryDelay } from '../src/forwarder.js';
import { openInbox } from '../src/inbox.js';
import { tempDir, uniqueName } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inbox', () => {
  it('stores an id once, even when repeats land in the same commit', async () => {
    const inbox = openInbox(join(dir, `${uniqueName('i')}.db`), () => 1000);
    const input = { webhookId: 'msg_1', eventType: 'contact.deleted', body: '{}', destinations: ['a', 'b'] };
    const results = await Promise.all([inbox.accept(input), inbox.accept(input), inbox.accept({ ...input, webhookId: 'msg_2' })]);
    expect(results).toEqual(['stored', 'duplicate', 'stored']);
    expect(await inbox.accept(input)).toBe('duplicate');
    expect(inbox.deliveries().map((d) => `${d.webhookId}/${d.destination}`)).toEqual(['msg_1/a', 'msg_1/b', 'msg_2/a', 'msg_2/b']);
    inbox.close();
  });

  it('keeps the traceparent an event arrived with, also in an inbox made before it had the column', async () => {
    const path = join(dir, `${uniqueName('old')}.db`);
    const old = new Database(path);
    old.exec(
      'CREATE TABLE events (id INTEGER PRIMARY KEY, webhook_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, body TEXT NOT NULL, received_at INTEGER NOT NULL)',
    );
    old.prepare("INSERT INTO events (webhook_id, event_type, body, received_at) VALUES ('msg_old', 'contact.deleted', '{}', 1)").run();
    old.close();
    const inbox = openInbox(path, () => 1000);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await inbox.accept({ webhookId: 'msg_t', eventType: 'contact.deleted', body: '{}', destinations: ['a'], traceparent });
    await inbox.accept({ webhookId: 'msg_u', eventType: 'contact.deleted', body: '{}', destinations: ['a'] });
    expect(inbox.due(1000, 10, new Set()).map((d) => [d.webhookId, d.traceparent])).toEqual([
      ['msg_t', traceparent],
      ['msg_u', null],
    ]);
    inbox.close();
  });

  it('creates its files readable by this user only: they hold decrypted payloads', async () => {
    const path = join(dir, uniqueName('private'), 'inbox.db');
    const inbox = openInbox(path);
    await inbox.accept({ webhookId: 'msg_p', eventType: 'contact.deleted', body: '{"payload":{"contactId":"c"}}', destinations: [] });
    for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    inbox.close();
  });

  it('keeps events and attempt state across a reopen, and hands out only due, pending rows', async () => {
    const path = join(dir, `${uniqueName('i')}.db`);
    let t = 1000;
    const first = openInbox(path, () => t);
    await first.accept({ webhookId: 'm1', eventType: 'x', body: '{"a":1}', destinations: ['d'] });
    await first.accept({ webhookId: 'm2', eventType: 'x', body: '{"a":2}', destinations: ['d'] });
    await first.accept({ webhookId: 'm3', eventType: 'x', body: '{"a":3}', destinations: ['d'] });
    const [d1, d2, d3] = first.due(t, 10, new Set());
    first.markRetry(d1.eventId, 'd', 1, 5000, 'answered 503');
    first.markDone(d2.eventId, 'd', 1, t);
    expect(first.due(t, 10, new Set()).map((d) => d.webhookId)).toEqual(['m3']);
    expect(first.due(t, 10, new Set([`${d3.eventId}:d`]))).toEqual([]);
    expect(first.nextDueAfter(t)).toBe(5000);
    first.close();

    t = 6000;
    const second = openInbox(path, () => t);
    expect(second.has('m1')).toBe(true);
    expect(second.has('m9')).toBe(false);
    const due = second.due(t, 10, new Set());
    expect(due.map((d) => [d.webhookId, d.attempts, d.body])).toEqual([
      ['m3', 0, '{"a":3}'],
      ['m1', 1, '{"a":1}'],
    ]);
    second.markFailed(due[1].eventId, 'd', 2, t, 'gone');
    expect(second.deliveries().find((d) => d.webhookId === 'm1')).toMatchObject({ status: 'failed', attempts: 2, lastError: 'gone' });
    second.close();
  });

  it('prunes only old events whose every delivery is done; pruned ids are no longer repeats', async () => {
    let t = 1000;
    const inbox = openInbox(join(dir, `${uniqueName('i')}.db`), () => t);
    for (const id of ['done', 'pending', 'failed', 'none']) {
      await inbox.accept({ webhookId: id, eventType: 'x', body: '{}', destinations: id === 'none' ? [] : ['a', 'b'] });
    }
    t = 5000;
    await inbox.accept({ webhookId: 'new', eventType: 'x', body: '{}', destinations: ['a'] });
    const rows = inbox.due(t, 100, new Set());
    const eventOf = (id: string) => rows.find((r) => r.webhookId === id)!.eventId;
    for (const d of ['a', 'b']) inbox.markDone(eventOf('done'), d, 1, t);
    inbox.markDone(eventOf('pending'), 'a', 1, t);
    inbox.markDone(eventOf('failed'), 'a', 1, t);
    inbox.markFailed(eventOf('failed'), 'b', 3, t, 'gone');
    inbox.markDone(eventOf('new'), 'a', 1, t);

    expect(inbox.prune(2000, 1)).toBe(1);
    expect(inbox.prune(2000)).toBe(1);
    expect(inbox.prune(2000)).toBe(0);
    expect(['done', 'pending', 'failed', 'none', 'new'].filter((id) => inbox.has(id))).toEqual(['pending', 'failed', 'new']);
    expect(inbox.deliveries().map((d) => d.webhookId)).toEqual(['pending', 'pending', 'failed', 'failed', 'new']);
    expect(await inbox.accept({ webhookId: 'done', eventType: 'x', body: '{}', destinations: [] })).toBe('stored');
    inbox.close();
  });

  it('backs off exponentially within its cap, with jitter in the upper half', () => {
    const retry = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 10 };
    expect([1, 2, 3, 4, 5, 50].map((n) => retryDelay(retry, n, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 50].map((n) => retryDelay(retry, n, () => 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
