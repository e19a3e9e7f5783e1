// Ordered delivery per key, the SQL both stores run (one text, parameters in each dialect). The
// rules are domain/ordering.ts's: takeTurn is the upsert below, passTurn is decided in TypeScript
// from the tail the store reads (locked, on PostgreSQL) in the transaction that ends a delivery.
import { MessageStatus } from '../../domain/types.js';
import { Params, type DialectName, type Query } from './sql.js';

/**
 * domain/ordering.ts takeTurn for one (endpoint, key) as one upsert: the first message of a key
 * gets 1 and goes at once; each later one gets the next number and, when the tail's delivery is
 * still open, waits for it (RETURNING prev_msg_id). On PostgreSQL the row lock it takes is held
 * until the accepting commit, so numbers follow commit order and the tail cannot close unseen.
 */
export function takeTurnSql(d: DialectName, endpointId: string, key: string, msgId: string): Query {
  const ps = new Params(d);
  return { sql: takeTurnUpsert(d, `VALUES (${ps.p(endpointId)}, ${ps.p(key)}, 1, ${ps.p(msgId)}, ${d === 'sqlite' ? '1' : 'true'}, NULL)`), values: ps.values };
}

/**
 * The upsert of takeTurnSql over any row source giving (endpoint_id, ordering_key, 1, msg_id,
 * true, NULL): PostgreSQL's one-statement accept feeds it every ordered endpoint of a message at
 * once, in endpoint order (the order in which every writer takes these locks).
 */
export function takeTurnUpsert(d: DialectName, rows: string): string {
  return `INSERT INTO delivery_order AS o (endpoint_id, ordering_key, last_seq, last_msg_id, last_open, prev_msg_id)
      ${rows}
      ON CONFLICT (endpoint_id, ordering_key) DO UPDATE SET
        prev_msg_id = CASE WHEN o.last_open THEN o.last_msg_id ELSE NULL END,
        last_seq = o.last_seq + 1, last_msg_id = excluded.last_msg_id, last_open = ${d === 'sqlite' ? '1' : 'true'}
      RETURNING endpoint_id, last_seq, prev_msg_id`;
}

/** The tail of the order a delivery belongs to (locked for the transaction on PostgreSQL). */
export function tailSql(d: DialectName, appId: string, msgId: string, endpointId: string): Query {
  const ps = new Params(d);
  return {
    sql: `SELECT last_seq, last_msg_id, last_open FROM delivery_order
      WHERE endpoint_id = ${ps.p(endpointId)} AND ordering_key = (SELECT ordering_key FROM message WHERE app_id = ${ps.p(appId)} AND id = ${ps.p(msgId)})
      ${d === 'postgres' ? 'FOR UPDATE' : ''}`,
    values: ps.values,
  };
}

/** passTurn's 'close': the tail's delivery ended, and nothing waits behind it. */
export function closeTailSql(d: DialectName, appId: string, msgId: string, endpointId: string): Query {
  const ps = new Params(d);
  return {
    sql: `UPDATE delivery_order SET last_open = ${d === 'sqlite' ? '0' : 'false'}
      WHERE endpoint_id = ${ps.p(endpointId)} AND last_msg_id = ${ps.p(msgId)}
        AND ordering_key = (SELECT ordering_key FROM message WHERE app_id = ${ps.p(appId)} AND id = ${ps.p(msgId)})`,
    values: ps.values,
  };
}

/**
 * passTurn's 'release': the delivery parked behind `waitingFor` becomes due now. Only a parked one
 * (pending, no due time) is touched: one in the middle of a manual resend is parked again when its
 * attempt is recorded, and released there or by the sweep.
 */
export function releaseSql(d: DialectName, endpointId: string, waitingFor: string, now: number): Query {
  const ps = new Params(d);
  return {
    sql: `UPDATE delivery_task SET next_attempt_at = ${ps.p(now)}, waiting_for = NULL, updated_at = ${ps.p(now)}
      WHERE endpoint_id = ${ps.p(endpointId)} AND waiting_for = ${ps.p(waitingFor)}
        AND status = ${MessageStatus.pending} AND next_attempt_at IS NULL`,
    values: ps.values,
  };
}

/** A task's state as the order reads it after recording an outcome. */
export function orderStateSql(d: DialectName, msgId: string, endpointId: string): Query {
  const ps = new Params(d);
  return {
    sql: `SELECT t.status, t.next_attempt_at, t.waiting_for, p.status AS waiting_for_status FROM delivery_task t
      LEFT JOIN delivery_task p ON p.msg_id = t.waiting_for AND p.endpoint_id = t.endpoint_id
      WHERE t.msg_id = ${ps.p(msgId)} AND t.endpoint_id = ${ps.p(endpointId)}`,
    values: ps.values,
  };
}

/**
 * A parked delivery sent by a manual resend goes back to waiting for its turn ('park'), or, when the
 * one ahead has ended meanwhile, becomes due now ('release'): domain/ordering.ts afterRecord.
 */
export function reparkSql(d: DialectName, msgId: string, endpointId: string, now: number, release: boolean): Query {
  const ps = new Params(d);
  const set = release ? `next_attempt_at = ${ps.p(now)}, waiting_for = NULL` : 'next_attempt_at = NULL';
  return {
    sql: `UPDATE delivery_task SET status = ${MessageStatus.pending}, ${set}, updated_at = ${ps.p(now)}
      WHERE msg_id = ${ps.p(msgId)} AND endpoint_id = ${ps.p(endpointId)} AND waiting_for IS NOT NULL`,
    values: ps.values,
  };
}

/**
 * The recovery sweep: release every parked delivery whose predecessor has ended (or is gone).
 * Each end releases its successor in its own commit, so this finds work only where that did not
 * happen: a delivery ended by an older Herald during a rolling upgrade, or a manual resend of a
 * parked delivery that raced the end of the one ahead. Bounded by `limit` per call.
 */
export function sweepSql(d: DialectName, now: number, limit: number): Query {
  const ps = new Params(d);
  const open = `p.status IN (${MessageStatus.pending}, ${MessageStatus.sending})`;
  return {
    sql: `UPDATE delivery_task SET next_attempt_at = ${ps.p(now)}, waiting_for = NULL, updated_at = ${ps.p(now)}
      WHERE (msg_id, endpoint_id) IN (
        SELECT t.msg_id, t.endpoint_id FROM delivery_task t
        WHERE t.waiting_for IS NOT NULL AND t.next_attempt_at IS NULL AND t.status = ${MessageStatus.pending}
          AND NOT EXISTS (SELECT 1 FROM delivery_task p WHERE p.msg_id = t.waiting_for AND p.endpoint_id = t.endpoint_id AND ${open})
        LIMIT ${ps.p(limit)})
        AND waiting_for IS NOT NULL AND next_attempt_at IS NULL`,
    values: ps.values,
  };
}
