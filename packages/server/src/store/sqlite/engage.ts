// SQLite store, Engage: tenant settings and the change detector's state (sealed at rest).
import type { EngageSettings, EngageStateKind, EngageStateRecord, EngageStateWrite, EngageStore } from '../store.js';
import { assertModuleOn, assertStateWon, engageStateCas, engageStateOf } from '../common/engage.js';
import { releaseHeldQuery } from '../common/holds.js';
import { SqliteAuditRetention } from './audit.js';

export abstract class SqliteEngage extends SqliteAuditRetention implements EngageStore {
  async getEngageSettings(appId: string): Promise<EngageSettings> {
    return this.rows.engageSettings(appId, this.get('SELECT * FROM engage_tenant WHERE app_id = ?', appId));
  }

  setEngageModule(appId: string, enabled: boolean, now: number): Promise<EngageSettings> {
    let released = 0;
    return this.notifyAfter(
      this.writes.run(() => {
        this.run(
          `INSERT INTO engage_tenant (app_id, module_enabled, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET module_enabled = excluded.module_enabled, updated_at = excluded.updated_at`,
          appId,
          enabled ? 1 : 0,
          now,
        );
        // Switched on: the deliveries the module held are due now (domain/hold.ts).
        if (enabled) {
          const q = releaseHeldQuery('sqlite', 'module', appId, null, now);
          released = this.run(q.sql, ...q.values).changes;
        }
        return this.rows.engageSettings(appId, this.get('SELECT * FROM engage_tenant WHERE app_id = ?', appId));
      }),
      () => released > 0,
    );
  }

  setEngageKey(appId: string, key: string | null, now: number): Promise<EngageSettings> {
    return this.writes.run(() => {
      const sealed = key === null ? null : this.sealer.seal(key);
      this.run(
        `INSERT INTO engage_tenant (app_id, key_sealed, key_set_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET key_sealed = excluded.key_sealed, key_set_at = excluded.key_set_at,
           updated_at = excluded.updated_at`,
        appId,
        sealed,
        key === null ? null : now,
        now,
      );
      return this.rows.engageSettings(appId, this.get('SELECT * FROM engage_tenant WHERE app_id = ?', appId));
    });
  }

  async getEngageState(appId: string, kind: EngageStateKind, key: string): Promise<EngageStateRecord> {
    return engageStateOf(
      this.get('SELECT state_sealed, version FROM engage_state WHERE app_id = ? AND kind = ? AND key = ?', appId, kind, key) as never,
      this.sealer,
    );
  }

  /** Inside a write: the module must be on and the state unchanged since it was read (common/engage.ts). Throws otherwise. */
  protected applyEngageChange(appId: string, w: EngageStateWrite | undefined): void {
    assertModuleOn(this.get('SELECT module_enabled FROM engage_tenant WHERE app_id = ?', appId)?.module_enabled === 1);
    if (!w) return;
    const cas = engageStateCas(this.dialect, appId, w, this.sealer);
    assertStateWon(this.run(cas.sql, ...cas.values).changes, w);
  }
}
