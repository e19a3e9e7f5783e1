// The audit log's store contract, on SQLite and on PostgreSQL: entries are kept whole, listed in
// id (time) order both ways with Svix-style cursors, and filtered by application.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { AuditEntry } from '../../src/domain/audit.js';
import { IdGenerator } from '../../src/domain/ids.js';
import { eachStore } from './backends.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');

function entry(ids: IdGenerator, i: number, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: ids.next('audit', T0 + i),
    at: T0 + i,
    actor: 'operator',
    sessionId: null,
    actorAppId: null,
    operationId: 'v1.endpoint.create',
    method: 'POST',
    path: '/api/v1/app/app_x/endpoint',
    status: 201,
    appId: i % 2 === 0 ? 'app_even' : 'app_odd',
    endpointId: `ep_${i}`,
    msgId: null,
    ...over,
  };
}

const q = (o: { limit?: number; after?: string | null; before?: string | null; order?: 'ascending' | 'descending'; appId?: string | null } = {}) => ({
  limit: o.limit ?? 50,
  after: o.after ?? null,
  before: o.before ?? null,
  order: o.order ?? 'descending',
  appId: o.appId ?? null,
});

eachStore('audit log', (t) => {
  it('keeps every field of an entry, portal sessions included', async () => {
    const ids = new IdGenerator((n) => randomBytes(n));
    const e = entry(ids, 1, {
      actor: 'portal',
      sessionId: 'sess_abc',
      actorAppId: 'app_odd',
      operationId: 'v1.message-attempt.resend',
      method: 'POST',
      path: '/api/v1/app/app_odd/msg/msg_1/endpoint/ep_1/resend',
      status: 202,
      msgId: 'msg_1',
    });
    await t().store.appendAudit(e);
    await t().store.appendAudit(entry(ids, 2, { status: 403, endpointId: null, appId: null }));
    const p = await t().store.listAudit(q());
    expect(p.data).toHaveLength(2);
    expect(p.data[1]).toEqual(e);
    expect(p.data[0]).toMatchObject({ status: 403, appId: null, endpointId: null, actor: 'operator', sessionId: null });
    expect(p.done).toBe(true);
  });

  it('pages newest first by default, forwards and back, and filters by application', async () => {
    const ids = new IdGenerator((n) => randomBytes(n));
    const all: AuditEntry[] = [];
    for (let i = 0; i < 7; i++) {
      all.push(entry(ids, i));
      await t().store.appendAudit(all[i]!);
    }
    const p1 = await t().store.listAudit(q({ limit: 3 }));
    expect(p1.data.map((e) => e.at)).toEqual([T0 + 6, T0 + 5, T0 + 4]);
    expect(p1.done).toBe(false);
    const p2 = await t().store.listAudit(q({ limit: 3, after: p1.iterator }));
    expect(p2.data.map((e) => e.at)).toEqual([T0 + 3, T0 + 2, T0 + 1]);
    const p3 = await t().store.listAudit(q({ limit: 3, after: p2.iterator }));
    expect(p3.data.map((e) => e.at)).toEqual([T0]);
    expect(p3.done).toBe(true);
    // Back from page 2 to page 1.
    const back = await t().store.listAudit(q({ limit: 3, before: p2.prevIterator!.slice(1) }));
    expect(back.data.map((e) => e.id)).toEqual(p1.data.map((e) => e.id));
    const asc = await t().store.listAudit(q({ order: 'ascending' }));
    expect(asc.data.map((e) => e.id)).toEqual(all.map((e) => e.id));

    const even = await t().store.listAudit(q({ appId: 'app_even', limit: 2 }));
    expect(even.data.map((e) => e.at)).toEqual([T0 + 6, T0 + 4]);
    const even2 = await t().store.listAudit(q({ appId: 'app_even', limit: 2, after: even.iterator }));
    expect(even2.data.map((e) => e.at)).toEqual([T0 + 2, T0]);
    expect((await t().store.listAudit(q({ appId: 'app_none' }))).data).toEqual([]);
  });
});
