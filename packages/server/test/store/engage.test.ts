// The store's Engage contract, on SQLite and on PostgreSQL: tenant settings (module switch, sealed
// payload key) and the change detector's state, replaced only at the version it was read at and
// committed together with the messages it produced, or not at all.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { StorePreconditionError } from '../../src/store/errors.js';
import { StaleStateError } from '../../src/store/store.js';
import { eachStore } from './backends.js';
import { app, endpoint, message, page, T0 } from './records.js';

eachStore('store: Engage settings and state', (t) => {
  it('settings default to module off and no key; the key is sealed at rest; set, rotate, clear', async () => {
    const { store, raw } = t();
    const a = await store.createApplication(app());
    expect(await store.getEngageSettings(a.id)).toEqual({ appId: a.id, moduleEnabled: false, encryptionKey: null, keySetAt: null, updatedAt: null });
    expect(await store.setEngageModule(a.id, true, T0 + 1)).toEqual({
      appId: a.id,
      moduleEnabled: true,
      encryptionKey: null,
      keySetAt: null,
      updatedAt: T0 + 1,
    });
    const key = randomBytes(16).toString('hex');
    expect(await store.setEngageKey(a.id, key, T0 + 2)).toEqual({ appId: a.id, moduleEnabled: true, encryptionKey: key, keySetAt: T0 + 2, updatedAt: T0 + 2 });
    const rows = await raw('SELECT key_sealed FROM engage_tenant WHERE app_id = $1', [a.id]);
    expect(JSON.stringify(rows)).not.toContain(key);
    const key2 = randomBytes(16).toString('hex');
    await store.setEngageKey(a.id, key2, T0 + 3);
    expect((await store.getEngageSettings(a.id)).encryptionKey).toBe(key2);
    expect(await store.setEngageKey(a.id, null, T0 + 4)).toEqual({ appId: a.id, moduleEnabled: true, encryptionKey: null, keySetAt: null, updatedAt: T0 + 4 });
    expect((await store.setEngageModule(a.id, false, T0 + 5)).moduleEnabled).toBe(false);
    // A key set before the module was ever switched keeps the module off.
    const b = await store.createApplication(app());
    expect((await store.setEngageKey(b.id, key, T0)).moduleEnabled).toBe(false);
  });

  it('messages with a state change commit together, only with the module on and the state unchanged', async () => {
    const { store, raw } = t();
    const a = await store.createApplication(app());
    await store.createEndpoint(endpoint(a.id));
    const w = (expectedVersion: number, state: unknown) => ({ kind: 'contact' as const, key: 'c-1', expectedVersion, state, now: T0 });
    expect(await store.getEngageState(a.id, 'contact', 'c-1')).toEqual({ state: null, version: 0 });

    await expect(store.createMessages([message(a.id)], { engage: { appId: a.id, state: w(0, { n: 1 }) } })).rejects.toSatisfy(
      (e: unknown) => e instanceof StorePreconditionError && e.code === 'module_disabled',
    );
    await store.setEngageModule(a.id, true, T0);
    const idemKey = randomBytes(32).toString('base64url');
    const r = await store.createMessages([message(a.id), message(a.id)], {
      engage: { appId: a.id, state: w(0, { n: 1, email: 'x@example.com' }) },
      idem: { key: idemKey, status: 200, body: (ms) => String(ms.length), now: T0 },
    });
    expect(r.messages).toHaveLength(2);
    expect(r.tasks).toHaveLength(2);
    expect((await store.getIdempotentResponse(idemKey, 0))!.body).toBe('2');
    expect(await store.getEngageState(a.id, 'contact', 'c-1')).toEqual({ state: { n: 1, email: 'x@example.com' }, version: 1 });
    expect(JSON.stringify(await raw('SELECT state_sealed FROM engage_state'))).not.toContain('x@example.com');

    // Stale: read at 0 (or 2), now at 1. Nothing of the batch is committed.
    for (const stale of [0, 2]) {
      await expect(store.createMessages([message(a.id)], { engage: { appId: a.id, state: w(stale, { n: 9 }) } })).rejects.toBeInstanceOf(StaleStateError);
    }
    expect((await store.listMessages(a.id, page())).data).toHaveLength(2);
    expect((await store.getEngageState(a.id, 'contact', 'c-1')).version).toBe(1);

    // A delete is a tombstone: the version keeps rising, so a re-create cannot pass as unchanged.
    await store.createMessages([message(a.id)], { engage: { appId: a.id, state: w(1, null) } });
    expect(await store.getEngageState(a.id, 'contact', 'c-1')).toEqual({ state: null, version: 2 });
    await expect(store.createMessages([], { engage: { appId: a.id, state: w(0, { n: 2 }) } })).rejects.toBeInstanceOf(StaleStateError);
    await store.createMessages([], { engage: { appId: a.id, state: w(2, { n: 3 }) } });
    expect(await store.getEngageState(a.id, 'contact', 'c-1')).toEqual({ state: { n: 3 }, version: 3 });
    // States are per kind and per application.
    expect(await store.getEngageState(a.id, 'voucher', 'c-1')).toEqual({ state: null, version: 0 });
    // Without a state change, only the module is checked.
    expect((await store.createMessages([message(a.id)], { engage: { appId: a.id } })).messages).toHaveLength(1);
  });

  it('two writers at the same version: exactly one wins', async () => {
    const { store, sibling } = t();
    const other = await sibling();
    const a = await store.createApplication(app());
    await store.setEngageModule(a.id, true, T0);
    const w = (n: number) => ({ kind: 'pointAccount' as const, key: 'p', expectedVersion: 0, state: { n }, now: T0 });
    const results = await Promise.allSettled([
      store.createMessages([message(a.id)], { engage: { appId: a.id, state: w(1) } }),
      other.createMessages([message(a.id)], { engage: { appId: a.id, state: w(2) } }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(StaleStateError);
    expect((await store.getEngageState(a.id, 'pointAccount', 'p')).version).toBe(1);
    expect((await store.listMessages(a.id, page())).data).toHaveLength(1);
  });
});
