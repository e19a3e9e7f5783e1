// Ordered delivery per key, the SQL both stores run (one text per statement; PostgreSQL's `$n`
// become SQLite's `?`, each parameter appearing once and in order). The rules are
// domain/ordering.ts's: takeTurn is the upsert below; afterRecord and passTurn are decided in
// TypeScript from the state the store reads (the tail locked, on PostgreSQL) in the transaction
// that records a delivery's outcome.
import { afterRecord, passTurn } from '../../domain/ordering.js';
import { MessageStatus } from '../../domain/types.js';
import type { DialectName, Query } from './sql.js';

/** One statement's text in both dialects, built once. */
function both(pgText: string): Record<DialectName, string> {
  return {
    postgres: pgText.replace(/\bTRUE\b/g, 'true').replace(/\bFALSE\b/g, 'false'),
    sqlite: pgText
      .replace(/\$\d+/g, '?')
      .replace(/\bTRUE\b/g, '1')
      .replace(/\bFALSE\b/g, '0'),
  };
}

/**
 * The upsert of domain/ordering.ts takeTurn over any row source giving (endpoint_id, ordering_key,
 * 1, msg_id, TRUE, NULL): the first message of a key gets 1 and goes at once; each later one gets
 * the next number and, when the tail's delivery is still open, waits for it (RETURNING
 * prev_msg_id). On PostgreSQL the row lock it takes is held until the accepting commit, so numbers
 * follow commit order, and an end of the key's open delivery either happened before (and is seen
 * here) or waits for this commit (and then sees the new delivery). PostgreSQL's one-statement
 * accept feeds it every ordered endpoint of a message at once, in endpoint order (the order in
 * which every writer takes these locks).
 */
export function takeTurnUpsert(d: DialectName, rows: string): string {
  const t = d === 'sqlite' ? '1' : 'true';
  return `INSERT INTO delivery_order AS o (endpoint_id, ordering_key, last_seq, last_msg_id, last_open, prev_msg_id)
      ${rows}
      ON CONFLICT (endpoint_id, ordering_key) DO UPDATE SET
        prev_msg_id = CASE WHEN o.last_open THEN o.last_msg_id ELSE NULL END,
        last_seq = o.last_seq + 1, last_msg_id = excluded.last_msg_id, last_open = ${t}
      RETURNING endpoint_id, last_seq, prev_msg_id`;
}

const TAKE_TURN = {
  postgres: takeTurnUpsert('postgres', 'VALUES ($1, $2, 1, $3, true, NULL)'),
  sqlite: takeTurnUpsert('sqlite', 'VALUES (?, ?, 1, ?, 1, NULL)'),
};

/** takeTurn for one (endpoint, key) and a new message. */
export const takeTurnSql = (d: DialectName, endpointId: string, key: string, msgId: string): Query => ({
  sql: TAKE_TURN[d],
  values: [endpointId, key, msgId],
});

const RECORDED = both(`SELECT t.status, t.next_attempt_at, t.waiting_for, p.status AS waiting_for_status
  FROM delivery_task t
  LEFT JOIN delivery_task p ON p.msg_id = t.waiting_for AND p.endpoint_id = t.endpoint_id
  WHERE t.msg_id = $1 AND t.endpoint_id = $2`);

/**
 * An ordered task's state right after a manual attempt's outcome was recorded for it
 * (domain/ordering.ts RecordedState): whether it was parked, and how the one ahead stands.
 */
export const recordedStateSql = (d: DialectName, msgId: string, endpointId: string): Query => ({ sql: RECORDED[d], values: [msgId, endpointId] });

const TAIL = {
  sqlite: both(`SELECT ordering_key, last_seq, last_msg_id, last_open FROM delivery_order
    WHERE endpoint_id = $1 AND ordering_key = (SELECT ordering_key FROM message WHERE app_id = $2 AND id = $3)`).sqlite,
  postgres: `SELECT ordering_key, last_seq, last_msg_id, last_open FROM delivery_order
    WHERE endpoint_id = $1 AND ordering_key = (SELECT ordering_key FROM message WHERE app_id = $2 AND id = $3)
    FOR UPDATE`,
};

/**
 * The tail of the order a delivery that ends its turn belongs to. On PostgreSQL it is locked for
 * the rest of the transaction and read as the last committed acceptance left it (waiting for one
 * in progress to commit). Only a delivery ending its turn takes it, after its own row: an
 * acceptance takes the tail and then only inserts, and a parked delivery's resend takes no tail,
 * so no two writers wait on each other in a cycle.
 */
export const tailSql = (d: DialectName, appId: string, msgId: string, endpointId: string): Query => ({ sql: TAIL[d], values: [endpointId, appId, msgId] });

const CLOSE_TAIL = both('UPDATE delivery_order SET last_open = FALSE WHERE endpoint_id = $1 AND ordering_key = $2 AND last_msg_id = $3');

/** passTurn's 'close': the tail's delivery ended, and nothing waits behind it. */
export const closeTailSql = (d: DialectName, endpointId: string, key: string, msgId: string): Query => ({
  sql: CLOSE_TAIL[d],
  values: [endpointId, key, msgId],
});

const RELEASE = both(`UPDATE delivery_task SET next_attempt_at = $1, waiting_for = NULL, updated_at = $2
  WHERE endpoint_id = $3 AND waiting_for = $4 AND status = ${MessageStatus.pending} AND next_attempt_at IS NULL`);

/**
 * passTurn's 'release': the delivery parked behind `waitingFor` becomes due now. Only a parked one
 * (pending, no due time) is touched: one in the middle of a manual resend is parked again when its
 * attempt is recorded, and released there or by the sweep. On PostgreSQL this is a statement of
 * its own after the tail's lock, so it sees a delivery accepted while that lock was awaited.
 */
export const releaseSql = (d: DialectName, endpointId: string, waitingFor: string, now: number): Query => ({
  sql: RELEASE[d],
  values: [now, now, endpointId, waitingFor],
});

const REPARK = both(`UPDATE delivery_task SET status = ${MessageStatus.pending}, next_attempt_at = NULL, updated_at = $1
  WHERE msg_id = $2 AND endpoint_id = $3 AND waiting_for IS NOT NULL`);
const REPARK_RELEASE = both(`UPDATE delivery_task SET status = ${MessageStatus.pending}, next_attempt_at = $1, waiting_for = NULL, updated_at = $2
  WHERE msg_id = $3 AND endpoint_id = $4 AND waiting_for IS NOT NULL`);

/**
 * A parked delivery sent by a manual resend goes back to waiting for its turn ('park'), or, when the
 * one ahead has ended meanwhile, becomes due now ('release'): domain/ordering.ts afterRecord.
 */
export const reparkSql = (d: DialectName, msgId: string, endpointId: string, now: number, release: boolean): Query =>
  release ? { sql: REPARK_RELEASE[d], values: [now, now, msgId, endpointId] } : { sql: REPARK[d], values: [now, msgId, endpointId] };

const SWEEP = both(`UPDATE delivery_task SET next_attempt_at = $1, waiting_for = NULL, updated_at = $2
  WHERE (msg_id, endpoint_id) IN (
    SELECT t.msg_id, t.endpoint_id FROM delivery_task t
    WHERE t.waiting_for IS NOT NULL AND t.next_attempt_at IS NULL AND t.status = ${MessageStatus.pending}
      AND NOT EXISTS (SELECT 1 FROM delivery_task p WHERE p.msg_id = t.waiting_for AND p.endpoint_id = t.endpoint_id
        AND p.status IN (${MessageStatus.pending}, ${MessageStatus.sending}))
    LIMIT $3)
    AND waiting_for IS NOT NULL AND next_attempt_at IS NULL`);

/**
 * The recovery sweep: release every parked delivery whose predecessor has ended (or is gone).
 * Each end releases its successor in its own commit, so this finds work only where that did not
 * happen: a delivery ended by an older Herald during a rolling upgrade, or a manual resend of a
 * parked delivery that raced the end of the one ahead. Bounded by `limit` per call.
 */
export const sweepSql = (d: DialectName, now: number, limit: number): Query => ({ sql: SWEEP[d], values: [now, now, limit] });

/**
 * PostgreSQL: the tails of several deliveries that end their turns together (one completion
 * batch), locked in (endpoint, key) order, the order in which every writer of several tails takes
 * them. Each row names the delivery (`msg_id`, `endpoint_id`) whose tail it is.
 */
export const tailsSql = (tasks: readonly { appId: string; msgId: string; endpointId: string }[]): Query => ({
  sql: `SELECT v.msg_id, v.endpoint_id, o.ordering_key, o.last_seq, o.last_msg_id, o.last_open
    FROM unnest($1::text[], $2::text[], $3::text[]) AS v(app_id, msg_id, endpoint_id)
    JOIN message m ON m.app_id = v.app_id AND m.id = v.msg_id
    JOIN delivery_order o ON o.endpoint_id = v.endpoint_id AND o.ordering_key = m.ordering_key
    ORDER BY o.endpoint_id, o.ordering_key
    FOR UPDATE OF o`,
  values: [tasks.map((t) => t.appId), tasks.map((t) => t.msgId), tasks.map((t) => t.endpointId)],
});

/**
 * What recording a manual attempt's outcome on an ordered task does next, from the state
 * recordedStateSql read (undefined: no such task): domain/ordering.ts afterRecord. When it ended
 * the task's turn (`pass`), the caller passes the turn on (tailSql, then passTurnWrites).
 * `released`: a delivery became due now.
 */
export function afterRecordWrites(
  d: DialectName,
  task: { msgId: string; endpointId: string },
  r: Record<string, any> | undefined,
  now: number,
): { pass: boolean; writes: Query[]; released: boolean } {
  if (!r) return { pass: false, writes: [], released: false };
  const step = afterRecord({ status: r.status, nextAttemptAt: r.next_attempt_at, waitingFor: r.waiting_for, waitingForStatus: r.waiting_for_status ?? null });
  if (step === 'park' || step === 'release')
    return { pass: false, writes: [reparkSql(d, task.msgId, task.endpointId, now, step === 'release')], released: step === 'release' };
  return { pass: step === 'pass', writes: [], released: false };
}

/** domain/ordering.ts passTurn with the key's tail as tailSql read it: close it, or release the next one. */
export function passTurnWrites(
  d: DialectName,
  task: { msgId: string; endpointId: string },
  tail: Record<string, any> | undefined,
  now: number,
): { writes: Query[]; released: boolean } {
  const passed = passTurn(
    tail ? { lastSeq: Number(tail.last_seq), lastMsgId: tail.last_msg_id, lastOpen: tail.last_open === true || tail.last_open === 1 } : null,
    task.msgId,
  );
  if (passed.kind === 'close') return { writes: [closeTailSql(d, task.endpointId, tail!.ordering_key, task.msgId)], released: false };
  if (passed.kind === 'release') return { writes: [releaseSql(d, task.endpointId, passed.waitingFor, now)], released: true };
  return { writes: [], released: false };
}

/**
 * PostgreSQL: passTurnWrites for the deliveries of one batch at once (each with its tail as
 * tailsSql read it): at most one statement closing tails and one releasing the next deliveries.
 */
export function passTurnsWrites(ends: readonly { task: { msgId: string; endpointId: string }; tail: Record<string, any> | undefined; now: number }[]): {
  writes: Query[];
  released: boolean;
} {
  const close: [string, string, string][] = [];
  const release: [string, string, number][] = [];
  for (const { task, tail, now } of ends) {
    const passed = passTurn(tail ? { lastSeq: Number(tail.last_seq), lastMsgId: tail.last_msg_id, lastOpen: tail.last_open === true } : null, task.msgId);
    if (passed.kind === 'close') close.push([task.endpointId, tail!.ordering_key, task.msgId]);
    else if (passed.kind === 'release') release.push([task.endpointId, passed.waitingFor, now]);
  }
  const col = <T>(rows: T[][], i: number) => rows.map((r) => r[i]);
  const writes: Query[] = [];
  if (close.length > 0) {
    writes.push({
      sql: `UPDATE delivery_order o SET last_open = false FROM unnest($1::text[], $2::text[], $3::text[]) AS v(endpoint_id, ordering_key, msg_id)
        WHERE o.endpoint_id = v.endpoint_id AND o.ordering_key = v.ordering_key AND o.last_msg_id = v.msg_id`,
      values: [col(close, 0), col(close, 1), col(close, 2)],
    });
  }
  if (release.length > 0) {
    writes.push({
      sql: `UPDATE delivery_task t SET next_attempt_at = v.now, waiting_for = NULL, updated_at = v.now
        FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(endpoint_id, waiting_for, now)
        WHERE t.endpoint_id = v.endpoint_id AND t.waiting_for = v.waiting_for AND t.status = ${MessageStatus.pending} AND t.next_attempt_at IS NULL`,
      values: [col(release, 0), col(release, 1), col(release, 2)],
    });
  }
  return { writes, released: release.length > 0 };
}
