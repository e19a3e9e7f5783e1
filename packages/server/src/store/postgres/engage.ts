// PostgreSQL store, Engage: tenant settings and the change detector's state (sealed at rest).
import type pg from 'pg';
import { assertModuleOn, assertStateWon, engageStateCas, engageStateOf } from '../common/engage.js';
import type { EngageSettings, EngageStateKind, EngageStateRecord, EngageStateWrite, EngageStore } from '../store.js';
import { releaseHeldQuery } from '../common/holds.js';
import { PgAuditRetention } from './audit.js';
import type { Db } from './base.js';

export abstract class PgEngage extends PgAuditRetention implements EngageStore {
  async getEngageSettings(appId: string): Promise<EngageSettings> {
    return this.rows.engageSettings(appId, await this.one(this.pool, 'SELECT * FROM engage_tenant WHERE app_id = $1', [appId]));
  }

  async setEngageModule(appId: string, enabled: boolean, now: number): Promise<EngageSettings> {
    const upsert = (c: Db) =>
      this.one(
        c,
        `INSERT INTO engage_tenant (app_id, module_enabled, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (app_id) DO UPDATE SET module_enabled = excluded.module_enabled, updated_at = excluded.updated_at
         RETURNING *`,
        [appId, enabled, now],
      );
    if (!enabled) return this.rows.engageSettings(appId, await upsert(this.pool));
    // Switched on: the deliveries the module held are due now (domain/hold.ts). The upsert locks
    // the tenant row first, so a hold still deciding on the old value (holdTask reads it FOR SHARE)
    // has committed before the release looks for held rows, and one deciding after sees "on".
    let released = 0;
    const r = await this.notifyAfter(
      this.tx(async (c) => {
        const row = await upsert(c);
        const q = releaseHeldQuery('postgres', 'module', appId, null, now);
        released = await this.run(c, q.sql, q.values);
        return row;
      }),
      () => released > 0,
    );
    return this.rows.engageSettings(appId, r);
  }

  async setEngageKey(appId: string, key: string | null, now: number): Promise<EngageSettings> {
    const r = await this.one(
      this.pool,
      `INSERT INTO engage_tenant (app_id, key_sealed, key_set_at, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (app_id) DO UPDATE SET key_sealed = excluded.key_sealed, key_set_at = excluded.key_set_at,
         updated_at = excluded.updated_at
       RETURNING *`,
      [appId, key === null ? null : this.sealer.seal(key), key === null ? null : now, now],
    );
    return this.rows.engageSettings(appId, r);
  }

  async getEngageState(appId: string, kind: EngageStateKind, key: string): Promise<EngageStateRecord> {
    return engageStateOf(
      (await this.one(this.pool, 'SELECT state_sealed, version FROM engage_state WHERE app_id = $1 AND kind = $2 AND key = $3', [appId, kind, key])) as never,
      this.sealer,
    );
  }

  /**
   * Inside a transaction: the module must be on and the state unchanged since it was read
   * (common/engage.ts); throws otherwise. The tenant row is read FOR SHARE, so switching the
   * module off waits for this commit.
   */
  protected async applyEngageChange(c: pg.PoolClient, appId: string, w: EngageStateWrite | undefined): Promise<void> {
    assertModuleOn((await this.one(c, 'SELECT module_enabled FROM engage_tenant WHERE app_id = $1 FOR SHARE', [appId]))?.module_enabled === true);
    if (!w) return;
    const cas = engageStateCas(this.dialect, appId, w, this.sealer);
    assertStateWon(await this.run(c, cas.sql, cas.values), w);
  }
}
