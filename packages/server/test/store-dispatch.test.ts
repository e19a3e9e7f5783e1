// The store's dispatch contract on a real SQLite file: claims take a lease and bump the fencing
// token, an expired lease makes the task claimable again, and a writer holding a stale fence can
// neither overwrite the newer owner's outcome nor lose the attempt it made.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdGenerator } from '../src/domain/ids.js';
import { MessageStatus, type Attempt } from '../src/domain/types.js';
import { Sealer } from '../src/security/sealer.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { ClaimedTask } from '../src/store/store.js';

let dir: string;
let store: SqliteStore;
const ids = new IdGenerator((n) => randomBytes(n));
const T0 = Date.parse('2026-03-01T00:00:00Z');
const LEASE = 60_000;

async function seed(messages: number): Promise<{ appId: string; endpointId: string; msgIds: string[] }> {
  const appId = ids.next('application', T0);
  await store.createApplication({ id: appId, uid: null, name: 'a', throttleRate: null, metadata: {}, createdAt: T0, updatedAt: T0 });
  const endpointId = ids.next('endpoint', T0);
  await store.createEndpoint({
    id: endpointId, appId, uid: null, url: 'http://127.0.0.1:9/x', description: '', throttleRate: null, disabled: false,
    disabledReason: null, eventTypes: null, channels: null, metadata: {}, headers: {}, secret: 'whsec_' + randomBytes(24).toString('base64'),
    previousSecrets: [], createdAt: T0, updatedAt: T0,
  });
  const msgIds: string[] = [];
  for (let i = 0; i < messages; i++) {
    const id = ids.next('message', T0 + i);
    msgIds.push(id);
    const r = await store.createMessage(
      { id, appId, eventId: null, eventType: 'x', channels: null, payload: '{}', expiresAt: T0 + 1e9, createdAt: T0 + i },
      {},
    );
    expect(r.tasks).toHaveLength(1);
  }
  return { appId, endpointId, msgIds };
}

function attemptFor(t: ClaimedTask, at: number, ok: boolean): Attempt {
  return {
    id: ids.next('attempt', at), msgId: t.msgId, endpointId: t.endpointId, appId: t.appId, url: 'http://127.0.0.1:9/x',
    response: ok ? 'ok' : 'no', responseStatusCode: ok ? 200 : 500, responseDurationMs: 1,
    status: ok ? MessageStatus.success : MessageStatus.fail, triggerType: 0, createdAt: at,
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-store-dispatch-'));
  store = new SqliteStore({ file: join(dir, 'h.db'), sealer: new Sealer(randomBytes(32)) });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('store: claims, leases and fencing', () => {
  it('claims only due tasks, each once, and reports when the next one falls due', async () => {
    await seed(5);
    const first = await store.claimDueTasks('w1', T0 + 10, LEASE, 3);
    expect(first).toHaveLength(3);
    const second = await store.claimDueTasks('w2', T0 + 10, LEASE, 10);
    expect(second).toHaveLength(2);
    expect(new Set([...first, ...second].map((t) => t.msgId)).size).toBe(5);
    expect(await store.claimDueTasks('w3', T0 + 10, LEASE, 10)).toHaveLength(0);
    // Leased tasks fall due again when their lease runs out.
    expect(await store.nextDueAt()).toBe(T0 + 10 + LEASE);
  });

  it('an expired lease is reclaimed with a higher fence; the old owner cannot overwrite the outcome', async () => {
    await seed(1);
    const [a] = await store.claimDueTasks('w1', T0, LEASE, 1);
    expect(await store.claimDueTasks('w2', T0 + LEASE - 1, LEASE, 1)).toHaveLength(0);
    const [b] = await store.claimDueTasks('w2', T0 + LEASE, LEASE, 1);
    expect(b!.fence).toBe(a!.fence + 1);

    // The new owner succeeds; the old one finishes late with a failure and a retry.
    const won = await store.completeAttempt(b!, { attempt: attemptFor(b!, T0 + LEASE + 5, true), task: { status: MessageStatus.success, nextAttemptAt: null } }, T0 + LEASE + 5);
    expect(won.fenced).toBe(true);
    const lost = await store.completeAttempt(
      a!,
      { attempt: attemptFor(a!, T0 + LEASE + 6, false), task: { status: MessageStatus.pending, nextAttemptAt: T0 + 1e6 } },
      T0 + LEASE + 6,
    );
    expect(lost.fenced).toBe(false);

    const row = store.db.prepare('SELECT status, next_attempt_at, lease_owner FROM delivery_task WHERE msg_id = ?').get(a!.msgId) as Record<string, unknown>;
    expect(row).toEqual({ status: MessageStatus.success, next_attempt_at: null, lease_owner: null });
    // Both attempts happened, so both are in the log.
    const page = await store.listAttemptsByMessage(a!.appId, a!.msgId, { limit: 10, after: null, before: null, order: 'descending' });
    expect(page.data.map((x) => x.responseStatusCode).sort()).toEqual([200, 500]);
    expect(await store.claimDueTasks('w3', T0 + 1e7, LEASE, 10)).toHaveLength(0);
  });

  it('a deferred task comes back at its time; a stale fence cannot defer or cancel', async () => {
    await seed(1);
    const [a] = await store.claimDueTasks('w1', T0, LEASE, 1);
    expect(await store.deferTask(a!, T0 + 500)).toBe(true);
    expect(await store.claimDueTasks('w1', T0 + 499, LEASE, 1)).toHaveLength(0);
    const [b] = await store.claimDueTasks('w1', T0 + 500, LEASE, 1);
    expect(b!.msgId).toBe(a!.msgId);
    expect(await store.deferTask(a!, T0 + 1)).toBe(false);
    await store.cancelTask(a!, T0 + 2);
    const row = store.db.prepare('SELECT status FROM delivery_task WHERE msg_id = ?').get(a!.msgId) as { status: number };
    expect(row.status).toBe(MessageStatus.sending);
  });

  it('releasing leases on shutdown makes them due at once for anyone', async () => {
    await seed(2);
    expect(await store.claimDueTasks('w1', T0 + 1, LEASE, 10)).toHaveLength(2);
    expect(await store.claimDueTasks('w2', T0 + 2, LEASE, 10)).toHaveLength(0);
    await store.releaseLeases('w1', T0 + 2);
    expect(await store.claimDueTasks('w2', T0 + 2, LEASE, 10)).toHaveLength(2);
  });

  it('exhausting deliveries for long enough disables the endpoint, durably, with a reason; a success resets the streak', async () => {
    const { appId, endpointId } = await seed(3);
    const exhaust = async (t: ClaimedTask, at: number) =>
      store.completeAttempt(t, { attempt: attemptFor(t, at, false), task: { status: MessageStatus.fail, nextAttemptAt: null }, endpoint: { kind: 'exhausted', autoDisableAfterMs: 5 * 864e5 } }, at);
    const [t1, t2, t3] = await store.claimDueTasks('w', T0 + 2, LEASE, 3);
    expect((await exhaust(t1!, T0 + 1)).disabled).toBe(false);
    // A success in between clears the streak, so 5 days after the first failure is not enough.
    await store.completeAttempt(t2!, { attempt: attemptFor(t2!, T0 + 2, true), task: { status: MessageStatus.success, nextAttemptAt: null }, endpoint: { kind: 'success' } }, T0 + 2);
    expect((await exhaust(t3!, T0 + 5 * 864e5 + 1)).disabled).toBe(false);
    // Now the streak started at T0 + 5d; five more days of failures disable it.
    const id = ids.next('message', T0 + 10);
    await store.createMessage({ id, appId, eventId: null, eventType: 'x', channels: null, payload: '{}', expiresAt: T0 + 1e12, createdAt: T0 + 10 }, {});
    const [t4] = await store.claimDueTasks('w', T0 + 10 * 864e5 + 2, LEASE, 1);
    const r = await exhaust(t4!, T0 + 10 * 864e5 + 2);
    expect(r.disabled).toBe(true);
    expect(r.failSince).toBe(T0 + 5 * 864e5 + 1);
    const ep = await store.getEndpoint(appId, endpointId);
    expect(ep!.disabled).toBe(true);
    expect(ep!.disabledReason).toMatch(/failed for 5 days/);
  });
});
