// PostgreSQL store, held deliveries and endpoint circuits (domain/hold.ts). Any number of worker
// processes share one circuit row per endpoint: a change is read and written under the row's lock
// (SELECT … FOR UPDATE), and the probe is claimed with a compare-and-set on its version.
import type { Circuit, CircuitChange, HeldBy } from '../../domain/hold.js';
import { claimProbeQuery, CIRCUIT_COLS, holdTaskQuery, releaseHeldQuery, writeCircuitQuery } from '../common/holds.js';
import type { HoldStore, ClaimedTask } from '../store.js';
import { PgDestinations } from './destinations.js';

export abstract class PgHolds extends PgDestinations implements HoldStore {
  async getCircuit(endpointId: string): Promise<Circuit> {
    return this.rows.circuit(await this.one(this.pool, `SELECT ${CIRCUIT_COLS} FROM endpoint_circuit WHERE endpoint_id = $1`, [endpointId]));
  }

  updateCircuit(appId: string, endpointId: string, now: number, next: (c: Circuit) => CircuitChange): Promise<CircuitChange> {
    const p = this.retrying(() =>
      this.tx(async (c) => {
        // The first failure creates the row; two processes creating it at once meet on the primary
        // key, so make sure it exists first and then lock it.
        await this.run(
          c,
          `INSERT INTO endpoint_circuit (endpoint_id, ${CIRCUIT_COLS}, updated_at) VALUES ($1, 'closed', 0, NULL, NULL, NULL, 0, 0, $2)
           ON CONFLICT (endpoint_id) DO NOTHING`,
          [endpointId, now],
        );
        const current = this.rows.circuit(await this.one(c, `SELECT ${CIRCUIT_COLS} FROM endpoint_circuit WHERE endpoint_id = $1 FOR UPDATE`, [endpointId]));
        const decided = next(current);
        const w = writeCircuitQuery('postgres', endpointId, decided.circuit, now);
        const circuit = this.rows.circuit(await this.one(c, w.sql, w.values));
        if (decided.change === 'closed') {
          const r = releaseHeldQuery('postgres', 'circuit', appId, endpointId, now);
          await this.run(c, r.sql, r.values);
        }
        return { ...decided, circuit };
      }),
    );
    return this.notifyAfter(p, (r) => r.change === 'closed');
  }

  async claimProbe(endpointId: string, expectedVersion: number, until: number, now: number): Promise<Circuit | null> {
    const q = claimProbeQuery('postgres', endpointId, expectedVersion, until, now);
    const r = await this.one(this.pool, q.sql, q.values);
    return r ? this.rows.circuit(r) : null;
  }

  releaseCircuitHolds(appId: string, endpointId: string, now: number): Promise<number> {
    const q = releaseHeldQuery('postgres', 'circuit', appId, endpointId, now);
    return this.notifyAfter(this.run(this.pool, q.sql, q.values), (n) => n > 0);
  }

  async openCircuits(): Promise<number> {
    return Number((await this.one(this.pool, "SELECT COUNT(*) AS n FROM endpoint_circuit WHERE state <> 'closed'"))!.n);
  }

  async holdTask(task: ClaimedTask, by: HeldBy, until: number, now: number): Promise<boolean> {
    // What holds is read FOR SHARE: a release (switching the module on locks the tenant row for its
    // upsert, closing the circuit locks the circuit row) either commits first, and this sees it and
    // makes the delivery due now, or waits for this hold to commit and then releases it too.
    const held = await this.tx(async (c) => {
      let holds: boolean;
      if (by === 'module') {
        const r = await this.one(c, 'SELECT module_enabled FROM engage_tenant WHERE app_id = $1 FOR SHARE', [task.appId]);
        holds = r !== undefined && r.module_enabled === false;
      } else {
        const r = await this.one(c, 'SELECT state FROM endpoint_circuit WHERE endpoint_id = $1 FOR SHARE', [task.endpointId]);
        holds = r !== undefined && r.state !== 'closed';
      }
      const q = holds ? holdTaskQuery('postgres', task, by, until) : holdTaskQuery('postgres', task, null, now);
      await this.run(c, q.sql, q.values);
      return holds;
    });
    return this.notifyAfter(Promise.resolve(held), (h) => !h);
  }
}
