// SQLite store, held deliveries and endpoint circuits (domain/hold.ts). One process owns the file
// and every write runs on its single writer, so a read-modify-write here is atomic by construction.
import type { Circuit, CircuitChange, HeldBy } from '../../domain/hold.js';
import { claimProbeQuery, CIRCUIT_COLS, holdTaskQuery, releaseHeldQuery, writeCircuitQuery } from '../common/holds.js';
import type { HoldStore, ClaimedTask } from '../store.js';
import { SqliteDestinations } from './destinations.js';

export abstract class SqliteHolds extends SqliteDestinations implements HoldStore {
  async getCircuit(endpointId: string): Promise<Circuit> {
    return this.circuitOf(endpointId);
  }

  protected circuitOf(endpointId: string): Circuit {
    return this.rows.circuit(this.get(`SELECT ${CIRCUIT_COLS} FROM endpoint_circuit WHERE endpoint_id = ?`, endpointId));
  }

  updateCircuit(appId: string, endpointId: string, now: number, next: (c: Circuit) => CircuitChange): Promise<CircuitChange> {
    return this.notifyAfter(
      this.writes.run(() => {
        const decided = next(this.circuitOf(endpointId));
        const w = writeCircuitQuery('sqlite', endpointId, decided.circuit, now);
        const circuit = this.rows.circuit(this.get(w.sql, ...w.values));
        if (decided.change === 'closed') {
          const r = releaseHeldQuery('sqlite', 'circuit', appId, endpointId, now);
          this.run(r.sql, ...r.values);
        }
        return { ...decided, circuit };
      }),
      (r) => r.change === 'closed',
    );
  }

  claimProbe(endpointId: string, expectedVersion: number, until: number, now: number): Promise<Circuit | null> {
    return this.writes.run(() => {
      const q = claimProbeQuery('sqlite', endpointId, expectedVersion, until, now);
      const r = this.get(q.sql, ...q.values);
      return r ? this.rows.circuit(r) : null;
    });
  }

  releaseCircuitHolds(appId: string, endpointId: string, now: number): Promise<number> {
    const q = releaseHeldQuery('sqlite', 'circuit', appId, endpointId, now);
    return this.notifyAfter(
      this.writes.run(() => this.run(q.sql, ...q.values).changes),
      (n) => n > 0,
    );
  }

  async openCircuits(): Promise<number> {
    return this.get("SELECT COUNT(*) AS n FROM endpoint_circuit WHERE state <> 'closed'")!.n;
  }

  holdTask(task: ClaimedTask, by: HeldBy, until: number, now: number): Promise<boolean> {
    return this.notifyAfter(
      this.writes.run(() => {
        // The module switched on, or the circuit closed, since the claim read it: not held but due now.
        const holds =
          by === 'module'
            ? this.get('SELECT module_enabled FROM engage_tenant WHERE app_id = ?', task.appId)?.module_enabled === 0
            : this.circuitOf(task.endpointId).state !== 'closed';
        const q = holds ? holdTaskQuery('sqlite', task, by, until) : holdTaskQuery('sqlite', task, null, now);
        this.run(q.sql, ...q.values);
        return holds;
      }),
      (held) => !held,
    );
  }
}
