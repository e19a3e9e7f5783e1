// SQL both stores share for held deliveries and endpoint circuits (domain/hold.ts). The rules are
// the domain's; these statements only persist what it decided.
import type { Circuit, HeldBy } from '../../domain/hold.js';
import { MessageStatus } from '../../domain/types.js';
import { Params, type DialectName, type Query } from './sql.js';

export const CIRCUIT_COLS = 'state, consecutive_failures, since, next_probe_at, probe_until, cooldown_ms, version';

/** Write the circuit `c` as the next version after `c.version` (an upsert: the first failure creates the row). */
export function writeCircuitQuery(d: DialectName, endpointId: string, c: Circuit, now: number): Query {
  const ps = new Params(d);
  const v = [endpointId, c.state, c.consecutiveFailures, c.since, c.nextProbeAt, c.probeUntil, c.cooldownMs, c.version + 1, now].map((x) => ps.p(x));
  return {
    sql: `INSERT INTO endpoint_circuit (endpoint_id, ${CIRCUIT_COLS}, updated_at) VALUES (${v.join(', ')})
      ON CONFLICT (endpoint_id) DO UPDATE SET state = excluded.state, consecutive_failures = excluded.consecutive_failures,
        since = excluded.since, next_probe_at = excluded.next_probe_at, probe_until = excluded.probe_until,
        cooldown_ms = excluded.cooldown_ms, version = excluded.version, updated_at = excluded.updated_at
      RETURNING ${CIRCUIT_COLS}`,
    values: ps.values,
  };
}

/** The probe's compare-and-set: half-open until `until`, only from `expectedVersion`. */
export function claimProbeQuery(d: DialectName, endpointId: string, expectedVersion: number, until: number, now: number): Query {
  const ps = new Params(d);
  return {
    sql: `UPDATE endpoint_circuit SET state = 'half-open', probe_until = ${ps.p(until)}, version = version + 1, updated_at = ${ps.p(now)}
      WHERE endpoint_id = ${ps.p(endpointId)} AND version = ${ps.p(expectedVersion)} RETURNING ${CIRCUIT_COLS}`,
    values: ps.values,
  };
}

/**
 * Put a claimed task back, held by `by` (or not held: null), due again at `until`; fenced like every
 * write after a claim.
 */
export function holdTaskQuery(d: DialectName, t: { msgId: string; endpointId: string; fence: number }, by: HeldBy | null, until: number): Query {
  const ps = new Params(d);
  return {
    sql: `UPDATE delivery_task SET status = ${MessageStatus.pending}, next_attempt_at = ${ps.p(until)}, held_by = ${ps.p(by)},
        lease_owner = NULL, lease_expires_at = NULL, throttle_slot = NULL
      WHERE msg_id = ${ps.p(t.msgId)} AND endpoint_id = ${ps.p(t.endpointId)} AND fence = ${ps.p(t.fence)}`,
    values: ps.values,
  };
}

/** Make the deliveries `by` holds (of an application, or of one of its endpoints) due at `now`. */
export function releaseHeldQuery(d: DialectName, by: HeldBy, appId: string, endpointId: string | null, now: number): Query {
  const ps = new Params(d);
  return {
    sql: `UPDATE delivery_task SET next_attempt_at = ${ps.p(now)}, held_by = NULL
      WHERE held_by = ${ps.p(by)} AND app_id = ${ps.p(appId)}${endpointId === null ? '' : ` AND endpoint_id = ${ps.p(endpointId)}`}
        AND lease_owner IS NULL`,
    values: ps.values,
  };
}
