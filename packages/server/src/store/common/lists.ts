// The list queries both stores run, written once: paging, the message filters, the attempt list's
// filters and the endpoint statistics. Each returns the SQL and its values for the store to run
// with its driver; the stores map the rows with common/rows.ts.
import { endIdFor, startIdFor } from '../../domain/ids.js';
import type { PageQuery } from '../../domain/pagination.js';
import { MessageStatus } from '../../domain/types.js';
import type { AuditListQuery } from '../../domain/audit.js';
import type { AttemptListQuery, EndpointStats, HealthBucket, MessageListQuery, TaskListQuery } from '../store.js';
import { cursor } from './paging.js';
import { Params, type DialectName, type Query } from './sql.js';

/** A delivery task's columns, aliased `t_*` beside a joined message or endpoint (rows.task(r, 't_')). */
export const TASK_COLS = `t.msg_id AS t_msg_id, t.endpoint_id AS t_endpoint_id, t.app_id AS t_app_id, t.status AS t_status,
  t.attempt_count AS t_attempt_count, t.next_attempt_at AS t_next_attempt_at, t.created_at AS t_created_at,
  t.updated_at AS t_updated_at, t.held_by AS t_held_by, t.ordering_seq AS t_ordering_seq, t.waiting_for AS t_waiting_for`;

type MessageFilter = { eventTypes?: string[]; channel?: string; afterMs?: number; beforeMs?: number };

/** WHERE pieces shared by message-shaped lists (alias `m`); `idCol` carries the id-range filter. */
export function messageFilters(q: MessageFilter, idCol: string, ps: Params): string {
  let where = '';
  if (q.eventTypes?.length) where += ` AND ${ps.oneOf('m.event_type', q.eventTypes)}`;
  if (q.channel !== undefined) where += ` AND ${ps.jsonHas('m.channels', q.channel)}`;
  if (q.afterMs !== undefined) where += ` AND ${idCol} >= ${ps.p(startIdFor('message', q.afterMs))} AND m.created_at > ${ps.p(q.afterMs)}`;
  if (q.beforeMs !== undefined) where += ` AND ${idCol} <= ${ps.p(endIdFor('message', q.beforeMs))} AND m.created_at < ${ps.p(q.beforeMs)}`;
  return where;
}

/** One page of a table keyed by `col`, with fixed conditions `where` (no parameters) and optional leading ones. */
export function listQuery(d: DialectName, table: string, col: string, where: string, q: PageQuery, ...scope: [string, unknown][]): Query {
  const ps = new Params(d);
  const scoped = scope.map(([c, v]) => ` AND ${c} = ${ps.p(v)}`).join('');
  const c = cursor(col, q, ps);
  return { sql: `SELECT * FROM ${table} WHERE ${where}${scoped}${c.where}${c.order}${c.limit}`, values: ps.values };
}

export const listAuditQuery = (d: DialectName, q: AuditListQuery): Query =>
  listQuery(d, 'audit_log', 'id', '1 = 1', q, ...(q.appId === null ? [] : [['app_id', q.appId] as [string, unknown]]));

export function listMessagesQuery(d: DialectName, appId: string, q: MessageListQuery): Query {
  const ps = new Params(d, appId);
  const where = messageFilters(q, 'm.id', ps);
  const c = cursor('m.id', q, ps);
  return { sql: `SELECT m.* FROM message m WHERE m.app_id = ${ps.initial(1)}${where}${c.where}${c.order}${c.limit}`, values: ps.values };
}

export function listEndpointMessagesQuery(d: DialectName, appId: string, endpointId: string, q: TaskListQuery): Query {
  const ps = new Params(d, endpointId, appId);
  let where = messageFilters(q, 't.msg_id', ps);
  if (q.status !== undefined) where += ` AND t.status = ${ps.p(q.status)}`;
  const c = cursor('t.msg_id', q, ps);
  return {
    sql: `SELECT m.*, ${TASK_COLS}
       FROM delivery_task t JOIN message m ON m.app_id = t.app_id AND m.id = t.msg_id
       WHERE t.endpoint_id = ${ps.initial(1)} AND t.app_id = ${ps.initial(2)}${where}${c.where}${c.order}${c.limit}`,
    values: ps.values,
  };
}

export function listMessageDestinationsQuery(d: DialectName, appId: string, msgId: string, q: PageQuery): Query {
  const ps = new Params(d, msgId, appId);
  const c = cursor('e.id', q, ps);
  return {
    sql: `SELECT e.*, ${TASK_COLS}
       FROM delivery_task t JOIN endpoint e ON e.id = t.endpoint_id
       WHERE t.msg_id = ${ps.initial(1)} AND t.app_id = ${ps.initial(2)} AND e.deleted_at IS NULL${c.where}${c.order}${c.limit}`,
    values: ps.values,
  };
}

/** Attempts of one endpoint or one message, with the attempt list's filters. */
export function listAttemptsQuery(d: DialectName, appId: string, scopeCol: 'a.endpoint_id' | 'a.msg_id', scope: string, q: AttemptListQuery): Query {
  const ps = new Params(d, scope, appId);
  let where = '';
  if (q.status !== undefined) where += ` AND a.status = ${ps.p(q.status)}`;
  if (q.statusCodeClass !== undefined) {
    if (q.statusCodeClass === 0) where += ' AND a.response_status_code < 100';
    else where += ` AND a.response_status_code >= ${ps.p(q.statusCodeClass)} AND a.response_status_code < ${ps.p(q.statusCodeClass + 100)}`;
  }
  if (q.endpointId !== undefined) where += ` AND a.endpoint_id = ${ps.p(q.endpointId)}`;
  if (q.afterMs !== undefined) where += ` AND a.id >= ${ps.p(startIdFor('attempt', q.afterMs))} AND a.created_at > ${ps.p(q.afterMs)}`;
  if (q.beforeMs !== undefined) where += ` AND a.id <= ${ps.p(endIdFor('attempt', q.beforeMs))} AND a.created_at < ${ps.p(q.beforeMs)}`;
  let join = '';
  if (q.eventTypes?.length || q.channel !== undefined) {
    join = ' JOIN message m ON m.app_id = a.app_id AND m.id = a.msg_id';
    where += messageFilters({ eventTypes: q.eventTypes, channel: q.channel }, 'a.msg_id', ps);
  }
  const c = cursor('a.id', q, ps);
  return {
    sql: `SELECT a.* FROM attempt a${join} WHERE ${scopeCol} = ${ps.initial(1)} AND a.app_id = ${ps.initial(2)}${where}${c.where}${c.order}${c.limit}`,
    values: ps.values,
  };
}

/** Deliveries of one endpoint by state, for messages created within [sinceMs, untilMs]. */
export function endpointStatsQuery(d: DialectName, appId: string, endpointId: string, sinceMs: number, untilMs: number): Query {
  const ps = new Params(d);
  return {
    sql: `SELECT status, COUNT(*) AS n FROM delivery_task
       WHERE endpoint_id = ${ps.p(endpointId)} AND app_id = ${ps.p(appId)} AND msg_id >= ${ps.p(startIdFor('message', sinceMs))} AND msg_id <= ${ps.p(endIdFor('message', untilMs))} GROUP BY status`,
    values: ps.values,
  };
}

/** The endpointStatsQuery rows as counts per state (states with no deliveries count 0). */
export function endpointStatsOf(rows: { status: number; n: number }[]): EndpointStats {
  const stats: EndpointStats = { success: 0, pending: 0, sending: 0, fail: 0, canceled: 0 };
  for (const r of rows) {
    if (r.status === MessageStatus.success) stats.success = r.n;
    else if (r.status === MessageStatus.pending) stats.pending = r.n;
    else if (r.status === MessageStatus.sending) stats.sending = r.n;
    else if (r.status === MessageStatus.fail) stats.fail = r.n;
    else if (r.status === MessageStatus.canceled) stats.canceled = r.n;
  }
  return stats;
}

/**
 * An endpoint's attempts per bucket: counts, and the nearest-rank p50 and p95 of their durations,
 * all computed in the database (one row per non-empty bucket comes back, never the attempts).
 * The rank of percentile p among n values is ceil(p·n/100), written (p·n + 99) / 100 in integer
 * arithmetic so the one text runs on both dialects; ROW_NUMBER orders each bucket's durations.
 * The id range lets the (endpoint_id, id) index bound the scan to the window.
 */
export function endpointTimeseriesQuery(d: DialectName, appId: string, endpointId: string, sinceMs: number, untilMs: number, bucketMs: number): Query {
  const ps = new Params(d);
  const origin = ps.p(sinceMs);
  const size = ps.p(bucketMs);
  const inWindow = `a.endpoint_id = ${ps.p(endpointId)} AND a.app_id = ${ps.p(appId)}
       AND a.id >= ${ps.p(startIdFor('attempt', sinceMs))} AND a.id <= ${ps.p(endIdFor('attempt', untilMs))}
       AND a.created_at >= ${ps.p(sinceMs)} AND a.created_at < ${ps.p(untilMs)}`;
  return {
    sql: `WITH w AS (
       SELECT (a.created_at - CAST(${origin} AS BIGINT)) / CAST(${size} AS BIGINT) AS b, a.status AS s, a.response_duration_ms AS d
       FROM attempt a WHERE ${inWindow}
     ), r AS (
       SELECT b, s, d, ROW_NUMBER() OVER (PARTITION BY b ORDER BY d) AS rn, COUNT(*) OVER (PARTITION BY b) AS n FROM w
     )
     SELECT b, SUM(CASE WHEN s = ${MessageStatus.success} THEN 1 ELSE 0 END) AS ok, COUNT(*) AS n,
       MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN d END) AS p50, MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN d END) AS p95
     FROM r GROUP BY b ORDER BY b`,
    values: ps.values,
  };
}

type TimeseriesRow = { b: unknown; ok: unknown; n: unknown; p50: unknown; p95: unknown };

/** The endpointTimeseriesQuery rows as every bucket of the window, empty ones with zeros and null percentiles. */
export function endpointTimeseriesOf(rows: TimeseriesRow[], sinceMs: number, untilMs: number, bucketMs: number): HealthBucket[] {
  const count = Math.ceil((untilMs - sinceMs) / bucketMs);
  const byIndex = new Map(rows.map((r) => [Number(r.b), r]));
  const out: HealthBucket[] = [];
  for (let i = 0; i < count; i++) {
    const r = byIndex.get(i);
    const n = r ? Number(r.n) : 0;
    const ok = r ? Number(r.ok) : 0;
    out.push({
      start: sinceMs + i * bucketMs,
      succeeded: ok,
      failed: n - ok,
      p50Ms: r && r.p50 !== null ? Number(r.p50) : null,
      p95Ms: r && r.p95 !== null ? Number(r.p95) : null,
    });
  }
  return out;
}

/**
 * The condition a destination list adds to keep to `types` (constants of domain/destinations.ts,
 * never user text); nothing when all are wanted.
 */
export function destinationTypesOnly(types: readonly string[] | undefined): string {
  if (types === undefined) return '';
  if (!types.every((t) => /^[a-zA-Z]+$/.test(t))) throw new Error('destination types are identifiers');
  return types.length === 0 ? ' AND 1 = 0' : ` AND type IN (${types.map((t) => `'${t}'`).join(', ')})`;
}
