// PostgreSQL store, delivery queue: claims with FOR UPDATE SKIP LOCKED under a lease and a fencing
// token, batched completions, deferrals, resends and recovery. Decisions come from domain/
// (outcome, manual attempts, throttle); this persists them atomically.
import type pg from 'pg';
import { endIdFor, startIdFor } from '../../domain/ids.js';
import { attemptNumber, isManual, resumesSchedule } from '../../domain/manual.js';
import { CLOSED_CIRCUIT, type Circuit } from '../../domain/hold.js';
import type { DeliveryPolicy } from '../../domain/policy.js';
import { CLAIM_WALK, OLDEST_DUE_PAIRS, type ClaimRoom, type WalkPair } from '../../domain/fairness.js';
import { MessageStatus, type Endpoint, type Message } from '../../domain/types.js';
import { turnEnds } from '../../domain/ordering.js';
import { CIRCUIT_COLS } from '../common/holds.js';
import { ATTEMPT_COLUMNS, attemptValues } from '../common/rows.js';
import { afterRecordWrites, passTurnsWrites, passTurnWrites, recordedStateSql, sweepSql, tailSql, tailsSql } from '../common/ordering.js';
import type { AttemptResult, Claim, ClaimedTask, DeliveryContext, DeliveryQueue } from '../store.js';
import type { Db, Row } from './base.js';
import { PgMessages } from './messages.js';

// The columns the named (prepared) statements read, listed rather than `*`: a prepared `SELECT *`
// fails on every later call ("cached plan must not change result type") once a migration adds a
// column under a running process.
const MESSAGE_FIELDS = ['id', 'app_id', 'uid', 'event_type', 'channels', 'payload', 'expires_at', 'created_at', 'ordering_key', 'traceparent'];
const MESSAGE_COLS = MESSAGE_FIELDS.join(', ');
/**
 * What a delivery reads of its endpoint, as [expression, name]: the endpoint's row, its
 * application's throttle rate and delivery policy, its Engage module switch and its circuit
 * (domain/hold.ts), from `endpoint e` and ENDPOINT_JOINS.
 */
const ENDPOINT_READ: [string, string][] = [
  ...[
    'id',
    'app_id',
    'uid',
    'url',
    'description',
    'throttle_rate',
    'disabled',
    'disabled_reason',
    'event_types',
    'channels',
    'metadata',
    'headers_sealed',
    'secret_sealed',
    'previous_secrets_sealed',
    'ordering',
    'created_at',
    'updated_at',
    'delivery_policy',
    'auth_sealed',
    'kind',
    'transformation',
  ].map((c): [string, string] => [`e.${c}`, c]),
  ['a.throttle_rate', 'app_throttle_rate'],
  ['a.delivery_policy', 'app_delivery_policy'],
  ['g.module_enabled', 'module_enabled'],
  ...CIRCUIT_COLS.split(', ').map((c): [string, string] => [`k.${c}`, `k_${c}`]),
];
const ENDPOINT_JOINS = `LEFT JOIN application a ON a.id = e.app_id AND a.deleted_at IS NULL
  LEFT JOIN engage_tenant g ON g.app_id = e.app_id
  LEFT JOIN endpoint_circuit k ON k.endpoint_id = e.id`;
/**
 * A claimed task's message (as `m_*`) and endpoint (as `e_*`), read by the claim itself: each
 * message and each endpoint on the first of the claim's rows that needs it, NULL on the others.
 */
const CONTEXT_READ: [string, string][] = [
  ...MESSAGE_FIELDS.map((c): [string, string] => [`m.${c}`, `m_${c}`]),
  ...ENDPOINT_READ.map(([x, n]): [string, string] => [x, `e_${n}`]),
];
const CONTEXT_COLS = CONTEXT_READ.map(([x, n]) => `${x} AS ${n}`).join(', ');
const CONTEXT_NULLS = CONTEXT_READ.map(() => 'NULL').join(', ');

/** The most completions one statement writes (about 5 MB of parameters at 20 kB responses). */
const MAX_COMPLETION_BATCH = 256;

/**
 * Many completions (see completeAttempt) as one statement, one array per column, element i of
 * every array belonging to completion i. Same writes as the single form: the attempt row, the
 * fenced task update (a failed manual attempt hands the delivery back to the retry it jumped
 * ahead of), and the end of a failure streak on success. Returns the tasks (with the fence) whose
 * fence held: the same task may be in a batch twice, from its owner and from one that lost it.
 * The task rows are locked first and in (endpoint_id, msg_id) order, the order in which every
 * writer of several tasks locks them (see cancelPendingTasks), and before any endpoint row, so
 * a batch and an endpoint or application delete cannot deadlock.
 */
const COMPLETE_BATCH_SQL = `WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::smallint[],
      $10::smallint[], $11::bigint[], $12::int[], $13::text[], $14::bigint[], $15::bool[], $16::smallint[], $17::bigint[], $18::bigint[], $19::bool[])
      AS v(id, msg_id, endpoint_id, app_id, url, response, response_status_code, response_duration_ms, status, trigger_type, created_at,
        attempt_number, request_headers, fence, failed_manual, task_status, next_attempt_at, now, clear_failure)),
  a AS (INSERT INTO attempt (${ATTEMPT_COLUMNS}) SELECT ${ATTEMPT_COLUMNS} FROM v),
  l AS MATERIALIZED (SELECT d.msg_id, d.endpoint_id FROM delivery_task d JOIN v ON d.msg_id = v.msg_id AND d.endpoint_id = v.endpoint_id
    ORDER BY d.endpoint_id, d.msg_id FOR UPDATE OF d),
  t AS (UPDATE delivery_task d SET
      status = CASE WHEN v.failed_manual AND d.resume_at IS NOT NULL THEN ${MessageStatus.pending} ELSE v.task_status END,
      next_attempt_at = CASE WHEN v.failed_manual AND d.resume_at IS NOT NULL THEN d.resume_at ELSE v.next_attempt_at END,
      attempt_count = d.attempt_count + CASE WHEN d.manual_next THEN 0 ELSE 1 END,
      manual_next = false, resume_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = v.now
    FROM l JOIN v ON v.msg_id = l.msg_id AND v.endpoint_id = l.endpoint_id
    WHERE d.msg_id = l.msg_id AND d.endpoint_id = l.endpoint_id AND d.fence = v.fence
    RETURNING d.msg_id, d.endpoint_id, d.fence),
  e AS (UPDATE endpoint SET first_failure_at = NULL
    WHERE id IN (SELECT endpoint_id FROM v WHERE clear_failure) AND first_failure_at IS NOT NULL)
  SELECT msg_id, endpoint_id, fence FROM t`;

/** A pair's first entry in delivery_task_fair after ($1, $2); the walk's step. */
const pairAfter = (app: string, endpoint: string) => `SELECT d.app_id, d.endpoint_id, d.next_attempt_at AS first FROM delivery_task d
      WHERE (d.app_id, d.endpoint_id) > (${app}, ${endpoint}) AND d.next_attempt_at IS NOT NULL
      ORDER BY d.app_id, d.endpoint_id, d.next_attempt_at LIMIT 1`;

/**
 * The fair claim (domain/fairness.ts fairPick, as one statement). The walk visits at most $11
 * (application, endpoint) pairs with waiting tasks (domain/fairness.ts CLAIM_WALK): `fwd` from
 * after the pair ($9, $10) where the previous claim's walk stopped ('' '' at first), `wrap` from
 * the start up to that pair for the rest, each skipping from one pair to the next through
 * delivery_task_fair (a loose index scan: one index probe per pair, however many tasks it has).
 * A pair's first entry is its earliest task, so a pair with nothing due is passed over without
 * reading further. When the walk stopped at its bound, `oldest` adds the pairs of the oldest due
 * tasks (delivery_task_due), wherever they are; a walk that went round saw them already. `cand` locks, per due pair, its oldest due tasks up to the endpoint's room ($6/$7 for
 * endpoints below the cap $8) with SKIP LOCKED, so concurrent claimers in other processes take
 * disjoint rows without waiting. `ranked` numbers them as fairPick does (an endpoint's turn, then
 * its application's turn) and `next` keeps the first $5: a MATERIALIZED CTE, so it runs exactly
 * once whatever the plan. Candidates not kept are unlocked at the statement's end. The update
 * finds its rows by primary key from an array of their message ids: a join on `next` alone gets a
 * hash join over the whole table once the statement's generic plan is cached (it cannot know how
 * few rows `LIMIT $5` keeps). A reserved throttle slot goes to this claimer and leaves the row
 * (`next` has the old value). The claimed rows come back with NULL walk columns, and one more row
 * (NULL task columns) says whether due work was left behind (a due pair gave all its room, or more
 * candidates than $5), when it did not, the earliest due time after this claim (its own leases'
 * expiry $2 included; the claimed rows' old due times, which this statement still sees, excluded),
 * and, when the walk stopped at its bound, names the last pair it visited.
 * The claimed rows also carry what their deliveries need (CONTEXT_READ), so a claim is one round
 * trip from a wake-up to the attempts' start: a second read of messages and endpoints was a
 * second round trip that, on a busy host, waited for a CPU as long as the claim did. Each message
 * and endpoint comes once, on the first claimed row that names it. The claim's connection never
 * plans a sequential scan, so the cached plan reads them by primary key whatever the tables' size.
 */
const CLAIM_SQL = `WITH RECURSIVE fwd AS (
    (SELECT app_id, endpoint_id, next_attempt_at AS first, 1 AS n FROM delivery_task
      WHERE (app_id, endpoint_id) > ($9::text, $10::text) AND next_attempt_at IS NOT NULL
      ORDER BY app_id, endpoint_id, next_attempt_at LIMIT 1)
    UNION ALL
    SELECT x.app_id, x.endpoint_id, x.first, p.n + 1 FROM fwd p CROSS JOIN LATERAL (${pairAfter('p.app_id', 'p.endpoint_id')}) x
    WHERE p.n < $11),
  wrap AS (
    (SELECT app_id, endpoint_id, next_attempt_at AS first, (SELECT count(*) FROM fwd)::int + 1 AS n FROM delivery_task
      WHERE next_attempt_at IS NOT NULL AND (SELECT count(*) FROM fwd) < $11
      ORDER BY app_id, endpoint_id, next_attempt_at LIMIT 1)
    UNION ALL
    SELECT x.app_id, x.endpoint_id, x.first, p.n + 1 FROM wrap p CROSS JOIN LATERAL (${pairAfter('p.app_id', 'p.endpoint_id')}) x
    WHERE p.n < $11 AND (p.app_id, p.endpoint_id) < ($9::text, $10::text)),
  walk AS (SELECT * FROM fwd UNION ALL SELECT * FROM wrap WHERE (app_id, endpoint_id) <= ($9::text, $10::text)),
  oldest AS (SELECT o.app_id, o.endpoint_id FROM (
      SELECT app_id, endpoint_id FROM delivery_task WHERE next_attempt_at <= $4 AND (SELECT count(*) FROM walk) >= $11
      ORDER BY next_attempt_at LIMIT ${OLDEST_DUE_PAIRS}) o),
  pairs AS (
    SELECT u.app_id, u.endpoint_id, LEAST($5::int, COALESCE((SELECT r.n FROM unnest($6::text[], $7::int[]) AS r(id, n) WHERE r.id = u.endpoint_id), $8::int)) AS room
    FROM (SELECT app_id, endpoint_id FROM walk WHERE first <= $4 UNION SELECT app_id, endpoint_id FROM oldest) u),
  cand AS (
    SELECT c.* FROM pairs p CROSS JOIN LATERAL (
      SELECT d.msg_id, d.endpoint_id, d.app_id, d.next_attempt_at, d.throttle_slot FROM delivery_task d
      WHERE d.app_id = p.app_id AND d.endpoint_id = p.endpoint_id AND d.next_attempt_at <= $4
      ORDER BY d.next_attempt_at, d.msg_id
      LIMIT p.room
      FOR UPDATE SKIP LOCKED) c),
  by_endpoint AS (
    SELECT cand.*, row_number() OVER (PARTITION BY app_id, endpoint_id ORDER BY next_attempt_at, msg_id) AS turn FROM cand),
  ranked AS (
    SELECT by_endpoint.*, row_number() OVER (PARTITION BY app_id ORDER BY turn, next_attempt_at, endpoint_id, msg_id) AS app_turn FROM by_endpoint),
  next AS MATERIALIZED (
    SELECT msg_id, endpoint_id, throttle_slot, app_turn, next_attempt_at, app_id FROM ranked
    ORDER BY app_turn, next_attempt_at, app_id, endpoint_id, msg_id LIMIT $5),
  claimed AS (
    UPDATE delivery_task t SET lease_owner = $1, lease_expires_at = $2, next_attempt_at = $2, fence = t.fence + 1, status = $3, updated_at = $4,
      throttle_slot = NULL, held_by = NULL
    FROM next WHERE t.msg_id = ANY(ARRAY(SELECT msg_id FROM next)) AND t.msg_id = next.msg_id AND t.endpoint_id = next.endpoint_id
    RETURNING t.msg_id, t.endpoint_id, t.app_id, t.attempt_count, t.trigger_type, t.manual_next, t.fence, t.lease_expires_at, next.throttle_slot,
      t.ordering_seq, next.app_turn, next.next_attempt_at AS due_at),
  firsts AS (
    SELECT claimed.*, row_number() OVER (PARTITION BY app_id, msg_id) = 1 AS first_of_msg,
      row_number() OVER (PARTITION BY app_id, endpoint_id) = 1 AS first_of_endpoint FROM claimed)
  SELECT f.msg_id, f.endpoint_id, f.app_id, f.attempt_count, f.trigger_type, f.manual_next, f.fence, f.lease_expires_at, f.throttle_slot,
    f.ordering_seq, f.app_turn, f.due_at, NULL::text AS walk_app, NULL::text AS walk_endpoint, NULL::boolean AS left_due, NULL::bigint AS next_due,
    ${CONTEXT_COLS}
  FROM firsts f
  LEFT JOIN message m ON f.first_of_msg AND m.app_id = f.app_id AND m.id = f.msg_id
  LEFT JOIN endpoint e ON f.first_of_endpoint AND e.app_id = f.app_id AND e.id = f.endpoint_id AND e.deleted_at IS NULL
  ${ENDPOINT_JOINS}
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, w.app_id, w.endpoint_id, l.left_due,
    CASE WHEN NOT l.left_due THEN LEAST(
      (SELECT d.next_attempt_at FROM delivery_task d WHERE d.next_attempt_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM next n WHERE n.msg_id = d.msg_id AND n.endpoint_id = d.endpoint_id)
        ORDER BY d.next_attempt_at LIMIT 1),
      CASE WHEN EXISTS (SELECT 1 FROM next) THEN $2::bigint END) END,
    ${CONTEXT_NULLS}
  FROM (SELECT EXISTS (SELECT 1 FROM pairs p WHERE p.room <= (SELECT count(*) FROM cand c WHERE c.app_id = p.app_id AND c.endpoint_id = p.endpoint_id))
      OR (SELECT count(*) FROM cand) > $5 AS left_due) l
  LEFT JOIN (SELECT app_id, endpoint_id FROM walk WHERE (SELECT count(*) FROM walk) >= $11 ORDER BY n DESC LIMIT 1) w ON true`;

interface PendingCompletion {
  task: ClaimedTask;
  result: AttemptResult;
  now: number;
  resolve: (fenced: boolean) => void;
  reject: (e: unknown) => void;
}

export abstract class PgQueue extends PgMessages implements DeliveryQueue {
  claimWalk = CLAIM_WALK;
  /** Where this store's next claim's walk starts: after this pair (null: at the first). */
  private walkFrom: WalkPair | null = null;
  /** Completion statements written and completions in them, for metrics, tests and benchmarks. */
  readonly completionStats = { batches: 0, completions: 0 };
  private readonly completions: PendingCompletion[] = [];
  private completionsFlushing = false;
  private readonly completionsDrained: (() => void)[] = [];
  /** Ordered deliveries whose turn ends, batched apart (flushOrderedEnds). */
  private readonly orderedEnds: PendingCompletion[] = [];
  private orderedEndsFlushing = false;
  private readonly orderedEndsDrained: (() => void)[] = [];

  override async close(): Promise<void> {
    if (this.completionsFlushing) await new Promise<void>((r) => this.completionsDrained.push(r));
    if (this.orderedEndsFlushing) await new Promise<void>((r) => this.orderedEndsDrained.push(r));
    await super.close();
  }

  requeueDelivery(msgId: string, endpointId: string, appId: string, now: number): Promise<void> {
    // One manual attempt, now. A delivery still waiting for a scheduled retry keeps that retry
    // (resume_at) in case the manual attempt fails; a finished one gets a single shot. A lease in
    // progress is fenced out (its attempt is still logged), so the resend is not lost to it. The
    // upsert is one statement: it locks the row, so it serialises with a concurrent claim.
    const p = this.pool.query(
      `INSERT INTO delivery_task AS t (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, manual_next, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 1, true, $5, $5)
       ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
         resume_at = CASE WHEN t.status = ${MessageStatus.pending} AND t.next_attempt_at > excluded.next_attempt_at THEN t.next_attempt_at ELSE NULL END,
         status = excluded.status, next_attempt_at = excluded.next_attempt_at, manual_next = true,
         fence = CASE WHEN t.status = ${MessageStatus.sending} THEN t.fence + 1 ELSE t.fence END,
         lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`,
      [msgId, endpointId, appId, MessageStatus.pending, now],
    );
    return this.notifyAfter(
      p.then(() => undefined),
      () => true,
    );
  }

  recoverEndpoint(appId: string, endpointId: string, sinceMs: number, untilMs: number, now: number): Promise<number> {
    const p = this.run(
      this.pool,
      `UPDATE delivery_task SET status = $1, next_attempt_at = $2, trigger_type = 1, updated_at = $2
       WHERE endpoint_id = $3 AND app_id = $4 AND status = $5 AND msg_id >= $6 AND msg_id <= $7`,
      [MessageStatus.pending, now, endpointId, appId, MessageStatus.fail, startIdFor('message', sinceMs), endIdFor('message', untilMs)],
    );
    return this.notifyAfter(p, (n) => n > 0);
  }

  // ---- dispatch -------------------------------------------------------------------------------
  claimDueTasks(owner: string, now: number, leaseMs: number, limit: number, room?: ClaimRoom): Promise<ClaimedTask[]> {
    return this.claim(owner, now, leaseMs, limit, room).then((c) => c.tasks);
  }

  async claim(owner: string, now: number, leaseMs: number, limit: number, room?: ClaimRoom): Promise<Claim> {
    // While leased, a task's next_attempt_at is its lease expiry: if this dispatcher dies, the task
    // simply becomes due again then and any dispatcher reclaims it (no separate reaper). SKIP
    // LOCKED lets concurrent claimers in other processes take disjoint rows without waiting; a row
    // changed under us (completed, deferred) is re-checked against `next_attempt_at <= now` after
    // its lock is taken, so it is never claimed when it is no longer due.
    const leaseUntil = now + leaseMs;
    const below = room ? [...room.below] : [];
    const from = this.walkFrom;
    const { rows: all } = await this.claimPool.query({
      // Prepared once on the claim's own connection, whose planner never picks a sequential scan
      // (see PgBase's constructor): its cached plan stays right however the table has grown.
      name: 'herald_claim',
      text: CLAIM_SQL,
      values: [
        owner,
        leaseUntil,
        MessageStatus.sending,
        now,
        limit,
        below.map(([id]) => id),
        below.map(([, n]) => n),
        room?.cap ?? limit,
        from?.appId ?? '',
        from?.endpointId ?? '',
        this.claimWalk,
      ],
    });
    // The one row that is no task: whether due work was left, and the walk's last pair when it
    // stopped at its bound (domain/fairness.ts walkAfter).
    const meta = all.find((r: Row) => r.left_due !== null)!;
    this.walkFrom = meta.walk_app !== null ? { appId: meta.walk_app, endpointId: meta.walk_endpoint } : null;
    const rows = all.filter((r: Row) => r !== meta);
    // In claim order (RETURNING keeps none): the order `next` chose them in.
    const str = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    rows.sort(
      (a: Row, b: Row) =>
        Number(a.app_turn) - Number(b.app_turn) ||
        Number(a.due_at) - Number(b.due_at) ||
        str(a.app_id, b.app_id) ||
        str(a.endpoint_id, b.endpoint_id) ||
        str(a.msg_id, b.msg_id),
    );
    const tasks = rows.map((r) => ({
      msgId: r.msg_id,
      endpointId: r.endpoint_id,
      appId: r.app_id,
      attemptCount: r.attempt_count,
      triggerType: r.manual_next ? 1 : r.trigger_type,
      fence: r.fence,
      leaseExpiresAt: r.lease_expires_at,
      throttleSlot: r.throttle_slot,
      orderingSeq: r.ordering_seq,
    }));
    const claim: Claim = { tasks, leftDue: meta.left_due, nextDue: meta.left_due ? null : (meta.next_due ?? null) };
    // What the deliveries need came with them: each message and each endpoint on the first row
    // that needed it (CONTEXT_READ). Rows that cannot be opened (a secret sealed under a master
    // key this process lacks) must not fail the claim, whose tasks are leased now: without
    // contexts, the dispatcher reads them itself and that read fails and is reported for these
    // deliveries alone, as before the claim read them.
    const fields = (r: Row, prefix: string) => {
      const o: Row = {};
      for (const k in r) if (k.startsWith(prefix)) o[k.slice(prefix.length)] = r[k];
      return o;
    };
    try {
      claim.contexts = this.contextsOf(
        tasks,
        rows.filter((r) => r.m_id !== null).map((r) => fields(r, 'm_')),
        rows.filter((r) => r.e_id !== null).map((r) => fields(r, 'e_')),
      );
    } catch {
      // left to the dispatcher's read (loadDeliveries)
    }
    return claim;
  }

  async loadDeliveries(tasks: ClaimedTask[]): Promise<DeliveryContext[]> {
    if (tasks.length === 0) return [];
    // A claim reads its deliveries itself (CLAIM_SQL); this reads them for tasks already in hand.
    // Two statements, each endpoint read (and its secrets unsealed) once however many of the
    // tasks go to it. Message ids are unique across applications; the application is checked
    // again (contextsOf). Both are planned on every call, not
    // prepared: a prepared statement's cached generic plan is made from the table's size when it
    // was planned, and one made while `message` was small (a sequential scan) stayed in use after
    // a backlog of 50,000 arrived, until the next ANALYZE: every load then read the whole table,
    // 20-50 ms each (bench/fair.mjs: another tenant's p99 61 ms against 12 ms planned per call).
    // Planning these two costs well under a tenth of a millisecond.
    const appIds = [...new Set(tasks.map((t) => t.appId))];
    const [msgRows, epRows] = await Promise.all([
      this.pool.query({
        text: `SELECT ${MESSAGE_COLS} FROM message WHERE app_id = ANY($1::text[]) AND id = ANY($2::text[])`,
        values: [appIds, [...new Set(tasks.map((t) => t.msgId))]],
      }),
      this.pool.query({
        text: `SELECT ${ENDPOINT_READ.map(([x, n]) => `${x} AS ${n}`).join(', ')} FROM endpoint e ${ENDPOINT_JOINS}
               WHERE e.id = ANY($1::text[]) AND e.deleted_at IS NULL`,
        values: [[...new Set(tasks.map((t) => t.endpointId))]],
      }),
    ]);
    return this.contextsOf(tasks, msgRows.rows, epRows.rows);
  }

  /**
   * Each task's context, in task order, from the rows of its messages and endpoints (ENDPOINT_READ),
   * each read and unsealed once however many of the tasks need it. A message or endpoint counts only
   * for a task of its own application.
   */
  private contextsOf(tasks: ClaimedTask[], msgRows: Row[], epRows: Row[]): DeliveryContext[] {
    const messages = new Map<string, Message>(msgRows.map((r) => [`${r.app_id} ${r.id}`, this.rows.message(r)]));
    const endpoints = new Map<
      string,
      { endpoint: Endpoint; appRate: number | null; appPolicy: DeliveryPolicy | null; moduleEnabled: boolean | null; circuit: Circuit }
    >(
      epRows.map((r) => [
        `${r.app_id} ${r.id}`,
        {
          endpoint: this.rows.endpoint(r),
          appRate: r.app_throttle_rate,
          appPolicy: r.app_delivery_policy ?? null,
          moduleEnabled: r.module_enabled ?? null,
          circuit: this.rows.circuit(r, 'k_'),
        },
      ]),
    );
    return tasks.map((t) => {
      const ep = endpoints.get(`${t.appId} ${t.endpointId}`);
      return {
        endpoint: ep?.endpoint ?? null,
        message: messages.get(`${t.appId} ${t.msgId}`) ?? null,
        throttleRate: ep ? (ep.endpoint.throttleRate ?? ep.appRate) : null,
        moduleEnabled: ep?.moduleEnabled ?? null,
        circuit: ep?.circuit ?? CLOSED_CIRCUIT,
        appPolicy: ep?.appPolicy ?? null,
      };
    });
  }

  async reserveThrottleSlot(endpointId: string, interval: number, now: number): Promise<number> {
    // domain/throttle.ts reserveSlot as one statement: the upsert's row lock serialises
    // reservations from every process, and each takes the slot after the last one taken (or now,
    // if the schedule has fallen behind).
    const r = await this.one(
      this.pool,
      `INSERT INTO endpoint_throttle AS e (endpoint_id, next_free_at) VALUES ($1, $2::bigint + $3::bigint)
       ON CONFLICT (endpoint_id) DO UPDATE SET next_free_at = GREATEST(e.next_free_at, $2::bigint) + $3::bigint
       RETURNING e.next_free_at - $3::bigint AS at`,
      [endpointId, now, interval],
    );
    return r!.at;
  }

  async nextDueAt(): Promise<number | null> {
    const r = await this.one(this.pool, 'SELECT MIN(next_attempt_at) AS t FROM delivery_task WHERE next_attempt_at IS NOT NULL');
    return r?.t ?? null;
  }

  completeAttempt(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }> {
    const ep = result.endpoint;
    if (ep !== undefined && ep.kind !== 'success') return this.completeNow(task, result, now);
    // An ordered delivery whose turn ends moves its key's order on in the commit that records its
    // outcome: with others that end now (flushOrderedEnds), or alone after a manual attempt, which
    // must read its row first. A retry of one (its turn goes on) joins the batch like any other.
    if (task.orderingSeq != null) {
      const ends = turnEnds(isManual(task.triggerType), result.task.status);
      if (ends === null) return this.completeNow(task, result, now);
      if (ends) return this.queueOrderedEnd(task, result, now);
    }
    // The common outcomes (success, retry later) share one statement with every other such
    // completion that arrives meanwhile (see flushCompletions).
    return new Promise<boolean>((resolve, reject) => {
      this.completions.push({ task, result, now, resolve, reject });
      if (!this.completionsFlushing) {
        this.completionsFlushing = true;
        setImmediate(() => void this.flushCompletions());
      }
    }).then((fenced) => ({ fenced, disabled: false, failSince: null }));
  }

  /**
   * A completion whose outcome changes the endpoint's state (a failure streak, a disable): its
   * bookkeeping reads what the write returns, so it runs alone, in a transaction.
   */
  protected completeNow(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }> {
    const ep = result.endpoint;
    let released = false;
    return this.tx(async (c) => {
      const fenced = (await this.writeCompletions(c, [{ task, result, now }])).size === 1;
      released = fenced && task.orderingSeq != null && (await this.afterOrderedRecord(c, task, result.task.status, now));
      let disabled = false;
      let failSince: number | null = null;
      if (ep?.kind === 'exhausted') {
        const r = await this.one(
          c,
          `UPDATE endpoint SET first_failure_at = COALESCE(first_failure_at, $1) WHERE id = $2
           RETURNING first_failure_at, disabled, deleted_at`,
          [now, task.endpointId],
        );
        if (r && !r.disabled && r.deleted_at === null) {
          failSince = r.first_failure_at;
          if (r.first_failure_at <= ep.disableIfFailingSince) disabled = await this.disableEndpoint(c, task.endpointId, ep.reason(r.first_failure_at), now);
        }
      } else if (ep?.kind === 'disable') {
        disabled = await this.disableEndpoint(c, task.endpointId, ep.reason, now);
      }
      return { fenced, disabled, failSince };
    }).then((r) => {
      if (released) this.announceDue(); // due now: other processes' dispatchers hear of it
      return r;
    });
  }

  private queueOrderedEnd(task: ClaimedTask, result: AttemptResult, now: number): Promise<{ fenced: boolean; disabled: boolean; failSince: number | null }> {
    return new Promise<boolean>((resolve, reject) => {
      this.orderedEnds.push({ task, result, now, resolve, reject });
      if (!this.orderedEndsFlushing) {
        this.orderedEndsFlushing = true;
        setImmediate(() => void this.flushOrderedEnds());
      }
    }).then((fenced) => ({ fenced, disabled: false, failSince: null }));
  }

  /**
   * Ordered deliveries whose turn ends (success, abort), batched like flushCompletions but in one
   * transaction per batch: their completions in one statement, then their keys' tails locked in
   * one statement, then the turns passed on (tails closed in one statement, next deliveries
   * released in another: statements of their own after the locks, so they see what an acceptance
   * committed while the locks were awaited). If a batch fails, each of its completions is written
   * alone (completeNow).
   */
  private async flushOrderedEnds(): Promise<void> {
    const key = (c: { task: ClaimedTask }) => `${c.task.msgId} ${c.task.endpointId} ${c.task.fence}`;
    while (this.orderedEnds.length > 0) {
      const batch = this.orderedEnds.splice(0, MAX_COMPLETION_BATCH);
      try {
        let released = false;
        const fenced = await this.tx(async (c) => {
          const fenced = await this.writeCompletions(c, batch);
          const ending = batch.filter((x) => fenced.has(key(x)));
          released = false;
          if (ending.length > 0) {
            const tq = tailsSql(ending.map((x) => x.task));
            const tails = new Map((await this.all(c, tq.sql, tq.values)).map((r) => [`${r.msg_id} ${r.endpoint_id}`, r]));
            const pass = passTurnsWrites(ending.map((x) => ({ task: x.task, tail: tails.get(`${x.task.msgId} ${x.task.endpointId}`), now: x.now })));
            for (const q of pass.writes) await c.query(q.sql, q.values);
            released = pass.released;
          }
          return fenced;
        });
        this.completionStats.batches++;
        this.completionStats.completions += batch.length;
        if (released) this.announceDue();
        for (const x of batch) x.resolve(fenced.has(key(x)));
      } catch {
        await Promise.all(batch.map((x) => this.completeNow(x.task, x.result, x.now).then((r) => x.resolve(r.fenced), x.reject)));
      }
    }
    this.orderedEndsFlushing = false;
    for (const r of this.orderedEndsDrained.splice(0)) r();
  }

  /**
   * Write every queued common-path completion (success or retry later) in one statement, and go
   * on while more queued up meanwhile: under load a batch grows to what arrived during the last
   * round trip, so statements, commits and WAL flushes per delivery fall as load rises, and a lone
   * completion still goes out on the next turn of the event loop. If a batch fails for any reason
   * but a retryable one, each of its completions is written alone, so one bad row fails only its
   * own delivery.
   */
  protected async flushCompletions(): Promise<void> {
    const key = (c: PendingCompletion) => `${c.task.msgId} ${c.task.endpointId} ${c.task.fence}`;
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0, MAX_COMPLETION_BATCH);
      try {
        const fenced = await this.retrying(() => this.writeCompletions(this.pool, batch));
        this.completionStats.batches++;
        this.completionStats.completions += batch.length;
        for (const c of batch) c.resolve(fenced.has(key(c)));
      } catch {
        await Promise.all(batch.map((c) => this.retrying(() => this.writeCompletions(this.pool, [c])).then((f) => c.resolve(f.has(key(c))), c.reject)));
      }
    }
    this.completionsFlushing = false;
    for (const r of this.completionsDrained.splice(0)) r();
  }

  /**
   * The one write of completions (COMPLETE_BATCH_SQL: fixed text, arrays for values, so it is
   * prepared once per connection), for a batch or for one. Returns `msgId endpointId fence` of
   * each task whose fence held.
   */
  protected async writeCompletions(db: Db, batch: { task: ClaimedTask; result: AttemptResult; now: number }[]): Promise<Set<string>> {
    const cols: unknown[][] = Array.from({ length: 19 }, () => []);
    for (const { task, result, now } of batch) {
      const a = result.attempt;
      // The attempt's columns in attemptValues' order (ATTEMPT_COLUMNS), then the task's.
      [
        ...attemptValues(a, attemptNumber(task)),
        task.fence,
        resumesSchedule(task.triggerType, a.status),
        result.task.status,
        result.task.nextAttemptAt,
        now,
        result.endpoint?.kind === 'success',
      ].forEach((v, i) => cols[i]!.push(v));
    }
    const { rows } = await db.query({ name: 'herald_complete_batch', text: COMPLETE_BATCH_SQL, values: cols });
    return new Set(rows.map((r: Row) => `${r.msg_id} ${r.endpoint_id} ${r.fence}`));
  }

  /** Disable an endpoint; true only for the one writer that actually flipped it (across processes). */
  protected async disableEndpoint(c: pg.PoolClient, id: string, reason: string, now: number): Promise<boolean> {
    const n = await this.run(
      c,
      'UPDATE endpoint SET disabled = true, disabled_reason = $1, updated_at = $2 WHERE id = $3 AND NOT disabled AND deleted_at IS NULL',
      [reason, now, id],
    );
    return n === 1;
  }

  async deferTask(task: ClaimedTask, at: number, throttleSlot: number | null = null): Promise<boolean> {
    const n = await this.run(
      this.pool,
      `UPDATE delivery_task SET status = $1, next_attempt_at = $2, lease_owner = NULL, lease_expires_at = NULL, throttle_slot = $6
       WHERE msg_id = $3 AND endpoint_id = $4 AND fence = $5`,
      [MessageStatus.pending, at, task.msgId, task.endpointId, task.fence, throttleSlot],
    );
    return n === 1;
  }

  async cancelTask(task: ClaimedTask, now: number): Promise<void> {
    const cancel = (db: Db) =>
      this.run(
        db,
        `UPDATE delivery_task SET status = $1, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
         WHERE msg_id = $3 AND endpoint_id = $4 AND fence = $5`,
        [MessageStatus.canceled, now, task.msgId, task.endpointId, task.fence],
      );
    if (task.orderingSeq == null) {
      await cancel(this.pool);
      return;
    }
    // A delivery released here is due now: other processes' dispatchers hear of it after the commit.
    const released = await this.tx(async (c) => (await cancel(c)) === 1 && (await this.afterOrderedRecord(c, task, MessageStatus.canceled, now)));
    if (released) this.announceDue();
  }

  /**
   * An ordered delivery's outcome is recorded (or it was canceled): move its key's order on, in the
   * same transaction (domain/ordering.ts afterRecord, passTurn). The tail's row lock serialises this
   * with an acceptance of the same key: whichever commits first, the other sees it, so a delivery
   * accepted behind this one is either parked and released here, or accepted due at once.
   */
  private async afterOrderedRecord(c: pg.PoolClient, task: ClaimedTask, status: number, now: number): Promise<boolean> {
    const ends = turnEnds(isManual(task.triggerType), status);
    if (ends === false) return false;
    if (ends === null) {
      const st = recordedStateSql(this.dialect, task.msgId, task.endpointId);
      const after = afterRecordWrites(this.dialect, task, await this.one(c, st.sql, st.values), now);
      let n = 0;
      for (const q of after.writes) n += await this.run(c, q.sql, q.values);
      if (!after.pass) return after.released && n > 0;
    }
    // Its turn ended: lock the tail and decide by it as it is now; the release that follows is a
    // statement of its own, so it sees a delivery that an acceptance parked while we waited.
    const tq = tailSql(this.dialect, task.appId, task.msgId, task.endpointId);
    const { writes, released } = passTurnWrites(this.dialect, task, await this.one(c, tq.sql, tq.values), now);
    let n = 0;
    for (const q of writes) n += await this.run(c, q.sql, q.values);
    return released && n > 0;
  }

  async sweepOrder(now: number, limit: number): Promise<number> {
    const q = sweepSql(this.dialect, now, limit);
    return this.notifyAfter(this.run(this.pool, q.sql, q.values), (n) => n > 0);
  }

  async releaseLeases(owner: string, now: number): Promise<void> {
    // The released tasks are due at once: other processes' dispatchers hear of it.
    const n = await this.run(
      this.pool,
      `UPDATE delivery_task SET status = $1, next_attempt_at = $2, lease_owner = NULL, lease_expires_at = NULL
       WHERE lease_owner = $3 AND next_attempt_at IS NOT NULL`,
      [MessageStatus.pending, now, owner],
    );
    if (n > 0) {
      this.announceDue();
      await this.announced();
    }
  }

  async queueStats(now: number): Promise<{ waiting: number; due: number; oldestDueAgeMs: number }> {
    const r = (await this.one(
      this.pool,
      `SELECT COUNT(*) AS waiting, COUNT(*) FILTER (WHERE next_attempt_at <= $1) AS due, MIN(next_attempt_at) AS oldest
       FROM delivery_task WHERE next_attempt_at IS NOT NULL`,
      [now],
    ))!;
    return { waiting: r.waiting, due: r.due, oldestDueAgeMs: r.oldest !== null && r.oldest <= now ? now - r.oldest : 0 };
  }
}
