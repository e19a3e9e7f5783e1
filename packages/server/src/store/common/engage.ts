// The Engage compare-and-set, written once: a state change commits only while the tenant's
// webhooks module is on and the state is still at the version it was read at. The version check
// and the write are one statement (insert-if-absent for version 0, a conditional UPDATE
// otherwise), so two writers racing on one state cannot both win, on either store.
import type { Sealer } from '../../security/sealer.js';
import { StaleStateError } from '../errors.js';
import type { EngageStateWrite } from '../store.js';
import { moduleDisabled } from './conflicts.js';
import { Params, type DialectName, type Query } from './sql.js';

/** The precondition's first half: throws unless the module is on. */
export function assertModuleOn(enabled: boolean): void {
  if (!enabled) throw moduleDisabled();
}

/** The statement that replaces `w`'s state if it is still at `w.expectedVersion`; it must change exactly one row. */
export function engageStateCas(d: DialectName, appId: string, w: EngageStateWrite, sealer: Sealer): Query {
  const sealed = w.state === null || w.state === undefined ? null : sealer.seal(JSON.stringify(w.state));
  const ps = new Params(d);
  if (w.expectedVersion === 0) {
    return {
      sql: `INSERT INTO engage_state (app_id, kind, key, state_sealed, version, updated_at)
         VALUES (${ps.p(appId)}, ${ps.p(w.kind)}, ${ps.p(w.key)}, ${ps.p(sealed)}, 1, ${ps.p(w.now)})
         ON CONFLICT (app_id, kind, key) DO NOTHING`,
      values: ps.values,
    };
  }
  return {
    sql: `UPDATE engage_state SET state_sealed = ${ps.p(sealed)}, version = version + 1, updated_at = ${ps.p(w.now)}
       WHERE app_id = ${ps.p(appId)} AND kind = ${ps.p(w.kind)} AND key = ${ps.p(w.key)} AND version = ${ps.p(w.expectedVersion)}`,
    values: ps.values,
  };
}

/** The precondition's second half: the compare-and-set changed `changed` rows; throws unless it won. */
export function assertStateWon(changed: number, w: EngageStateWrite): void {
  if (changed !== 1) throw new StaleStateError(w.kind, w.key);
}

/** A stored state, unsealed; never stored (or deleted) reads as null at version 0. */
export function engageStateOf(r: { state_sealed: string | null; version: number } | undefined, sealer: Sealer): { state: unknown; version: number } {
  if (!r) return { state: null, version: 0 };
  return { state: r.state_sealed === null ? null : JSON.parse(sealer.unseal(r.state_sealed)), version: r.version };
}
