// PostgreSQL store, records: messages (with their delivery tasks, fanned out in the same commit)
// and the delivery and attempt lists.
import type pg from 'pg';
import { fanOut, type FanOutEndpoint } from '../../domain/fanout.js';
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import { MessageStatus, type Attempt, type DeliveryTask, type Message } from '../../domain/types.js';
import { deletedConcurrently } from '../common/conflicts.js';
import {
  endpointStatsOf,
  endpointStatsQuery,
  endpointTimeseriesOf,
  endpointTimeseriesQuery,
  listAttemptsQuery,
  listEndpointMessagesQuery,
  listMessageDestinationsQuery,
  listMessagesQuery,
} from '../common/lists.js';
import { IDEMPOTENCY_COLUMNS, idempotencyRow } from '../common/rows.js';
import { takeTurnSql, takeTurnUpsert } from '../common/ordering.js';
import { Params } from '../common/sql.js';
import type {
  AttemptListQuery,
  CreateMessageOptions,
  CreateMessagesOptions,
  EndpointHealthStore,
  EndpointMessage,
  EndpointStats,
  HealthBucket,
  MessageDestination,
  MessageListQuery,
  MessageStore,
  TaskListQuery,
} from '../store.js';
import { jsonOrNull, keyHash, NOTIFY_DUE_EXPR, PgBase, type Db } from './base.js';
import { PgEndpoints } from './endpoints.js';

export abstract class PgMessages extends PgEndpoints implements MessageStore, EndpointHealthStore {
  // ---- messages ------------------------------------------------------------------------------

  createMessage(msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    const made = (r: { tasks: DeliveryTask[] }) => r.tasks.length > 0;
    if (opts.createApp)
      return this.notifyAfter(
        this.tx((c) => this.insertMessage(c, msg, opts)),
        made,
      );
    return this.notifyWithin((notify) => this.insertMessageAlone(msg, opts, notify), made);
  }

  /**
   * The usual accept (the application exists): read the endpoints, then write the message, its
   * tasks and the idempotent answer in ONE statement, atomic without BEGIN/COMMIT round trips. The
   * endpoints read a moment before the write is no staler than a read inside a READ COMMITTED
   * transaction would be: each statement there sees the latest commits anyway. With `notify`, the
   * statement also wakes the dispatchers at its commit when it made tasks (base.ts notifyWithin).
   */
  protected async insertMessageAlone(msg: Message, opts: CreateMessageOptions, notify = false): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    const tasks = await this.matchTasks(this.pool, msg, opts);
    const ps = new Params(this.dialect);
    const cols = [
      msg.id,
      msg.appId,
      msg.eventId,
      msg.eventType,
      jsonOrNull(msg.channels),
      msg.payload,
      msg.expiresAt,
      msg.createdAt,
      jsonOrNull(msg.schemaViolations),
      msg.orderingKey ?? null,
      msg.traceparent ?? null,
    ];
    let sql = `WITH m AS (INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at, schema_violations, ordering_key, traceparent)
      VALUES (${cols.map((v) => ps.p(v)).join(', ')}) RETURNING id)`;
    if (tasks.length > 0) {
      // Deliveries ordered by the message's key take their turn (domain/ordering.ts takeTurn) in
      // this same statement: numbered, and parked (no due time) while the one ahead is open.
      const ordered = tasks
        .filter((t) => t.orderedBy)
        .map((t) => t.endpointId)
        .sort();
      if (ordered.length > 0) {
        sql += `, o AS (${takeTurnUpsert(this.dialect, `SELECT e, $10, 1, m.id, true, NULL::text FROM m, unnest(${ps.p(ordered)}::text[]) AS e ORDER BY e`)})`;
      }
      sql += `, t AS (INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, created_at, updated_at, ordering_seq, waiting_for)
        SELECT m.id, e, $2, ${ps.p(MessageStatus.pending)}, ${ordered.length > 0 ? 'CASE WHEN o.prev_msg_id IS NULL THEN $8::bigint END' : '$8'},
          ${ps.p(opts.triggerType ?? 0)}, $8, $8, ${ordered.length > 0 ? 'o.last_seq, o.prev_msg_id' : 'NULL::bigint, NULL::text'}
        FROM m CROSS JOIN unnest(${ps.p(tasks.map((t) => t.endpointId))}::text[]) AS e${ordered.length > 0 ? ' LEFT JOIN o ON o.endpoint_id = e' : ''})`;
    }
    if (opts.idem) {
      sql += `, i AS (INSERT INTO idempotency (${IDEMPOTENCY_COLUMNS})
        SELECT ${idempotencyRow(opts.idem, msg, this.sealer, keyHash)
          .map((v) => ps.p(v))
          .join(', ')} FROM m)`;
    }
    await this.pool.query(`${sql} SELECT ${notify && tasks.length > 0 ? NOTIFY_DUE_EXPR : '1'} FROM m`, ps.values).catch(PgBase.conflictOn('message'));
    return { message: msg, tasks };
  }

  /** The delivery tasks a new message gets: one per live endpoint of its application that it matches. */
  protected async matchTasks(db: Db, msg: Message, opts: CreateMessageOptions): Promise<DeliveryTask[]> {
    const endpoints = await this.all(
      db,
      'SELECT id, disabled, event_types AS "eventTypes", channels, content_filter::text AS filter, ordering FROM endpoint WHERE app_id = $1 AND deleted_at IS NULL',
      [msg.appId],
    );
    return fanOut(msg, endpoints as FanOutEndpoint[], opts.onlyEndpointId);
  }

  /**
   * The one way a message enters the store: the row and one delivery task per endpoint it matches
   * (one multi-row INSERT), inside the caller's transaction.
   */
  protected async insertMessage(c: pg.PoolClient, msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    if (opts.createApp) {
      const a = opts.createApp;
      // ON CONFLICT waits for a concurrent creator of the same uid, so exactly one application
      // results and every message goes to it.
      const ins = await this.one(
        c,
        `INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at, delivery_policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (uid) WHERE uid IS NOT NULL DO NOTHING RETURNING id`,
        [a.id, a.uid, a.name, a.throttleRate, JSON.stringify(a.metadata), a.createdAt, a.updatedAt, jsonOrNull(a.deliveryPolicy)],
      );
      if (ins) msg = { ...msg, appId: a.id };
      else {
        const existing = await this.one(c, 'SELECT id FROM application WHERE uid = $1 AND deleted_at IS NULL', [a.uid]);
        if (!existing) throw deletedConcurrently('application');
        msg = { ...msg, appId: existing.id };
      }
    }
    await c
      .query(
        'INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at, schema_violations, ordering_key, traceparent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
        [
          msg.id,
          msg.appId,
          msg.eventId,
          msg.eventType,
          jsonOrNull(msg.channels),
          msg.payload,
          msg.expiresAt,
          msg.createdAt,
          jsonOrNull(msg.schemaViolations),
          msg.orderingKey ?? null,
          msg.traceparent ?? null,
        ],
      )
      .catch(PgBase.conflictOn('message'));
    const tasks = await this.matchTasks(c, msg, opts);
    // Deliveries ordered by the message's key take their turn first, in endpoint order.
    for (const t of [...tasks].filter((t) => t.orderedBy).sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1))) {
      const q = takeTurnSql(this.dialect, t.endpointId, t.orderedBy!, msg.id);
      const turn = (await this.one(c, q.sql, q.values))!;
      t.orderingSeq = turn.last_seq;
      t.waitingFor = turn.prev_msg_id ?? null;
      if (t.waitingFor) t.nextAttemptAt = null;
    }
    if (tasks.length > 0) {
      await c.query(
        `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, created_at, updated_at, ordering_seq, waiting_for)
         SELECT $1, v.e, $2, $3, v.due, $5, $4, $4, v.seq, v.waiting FROM unnest($6::text[], $7::bigint[], $8::bigint[], $9::text[]) AS v(e, due, seq, waiting)`,
        [
          msg.id,
          msg.appId,
          MessageStatus.pending,
          msg.createdAt,
          opts.triggerType ?? 0,
          tasks.map((t) => t.endpointId),
          tasks.map((t) => t.nextAttemptAt),
          tasks.map((t) => t.orderingSeq ?? null),
          tasks.map((t) => t.waitingFor ?? null),
        ],
      );
    }
    await this.putIdem(c, opts.idem, msg);
    return { message: msg, tasks };
  }

  createMessages(msgs: Message[], opts: CreateMessagesOptions): Promise<{ messages: Message[]; tasks: DeliveryTask[] }> {
    return this.notifyAfter(
      this.tx(async (c) => {
        if (opts.engage) await this.applyEngageChange(c, opts.engage.appId, opts.engage.state);
        const messages: Message[] = [];
        const tasks: DeliveryTask[] = [];
        for (const m of msgs) {
          const r = await this.insertMessage(c, m, { triggerType: opts.triggerType });
          messages.push(r.message);
          tasks.push(...r.tasks);
        }
        await this.putIdem(c, opts.idem, messages);
        return { messages, tasks };
      }),
      (r) => r.tasks.length > 0,
    );
  }

  async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
    const col = isIdOf('message', idOrEventId) ? 'id' : 'uid';
    const r = await this.one(this.pool, `SELECT * FROM message WHERE ${col} = $1 AND app_id = $2`, [idOrEventId, appId]);
    return r ? this.rows.message(r) : null;
  }

  async listMessages(appId: string, q: MessageListQuery): Promise<Page<Message>> {
    const { sql, values } = listMessagesQuery(this.dialect, appId, q);
    return toPage(await this.all(this.pool, sql, values), q, (r) => r.id, this.rows.message);
  }

  async expungeMessageContent(appId: string, msgId: string): Promise<void> {
    await this.pool.query('UPDATE message SET payload = NULL WHERE id = $1 AND app_id = $2', [msgId, appId]);
  }

  // ---- deliveries and attempts ---------------------------------------------------------------

  async listEndpointMessages(appId: string, endpointId: string, q: TaskListQuery): Promise<Page<EndpointMessage>> {
    const { sql, values } = listEndpointMessagesQuery(this.dialect, appId, endpointId, q);
    return toPage(
      await this.all(this.pool, sql, values),
      q,
      (r) => r.id,
      (r) => ({ message: this.rows.message(r), task: this.rows.task(r, 't_') }),
    );
  }

  async listMessageDestinations(appId: string, msgId: string, q: PageQuery): Promise<Page<MessageDestination>> {
    const { sql, values } = listMessageDestinationsQuery(this.dialect, appId, msgId, q);
    return toPage(
      await this.all(this.pool, sql, values),
      q,
      (r) => r.id,
      (r) => ({ endpoint: this.rows.endpoint(r), task: this.rows.task(r, 't_') }),
    );
  }

  protected async listAttempts(appId: string, scopeCol: 'a.endpoint_id' | 'a.msg_id', scope: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    const { sql, values } = listAttemptsQuery(this.dialect, appId, scopeCol, scope, q);
    return toPage(await this.all(this.pool, sql, values), q, (r) => r.id, this.rows.attempt);
  }

  listAttemptsByEndpoint(appId: string, endpointId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.endpoint_id', endpointId, q);
  }

  listAttemptsByMessage(appId: string, msgId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.msg_id', msgId, q);
  }

  async getAttempt(appId: string, msgId: string, attemptId: string): Promise<Attempt | null> {
    const r = await this.one(this.pool, 'SELECT * FROM attempt WHERE id = $1 AND msg_id = $2 AND app_id = $3', [attemptId, msgId, appId]);
    return r ? this.rows.attempt(r) : null;
  }

  async expungeAttemptContent(appId: string, attemptId: string): Promise<void> {
    await this.pool.query("UPDATE attempt SET response = 'EXPUNGED' WHERE id = $1 AND app_id = $2", [attemptId, appId]);
  }

  async endpointStats(appId: string, endpointId: string, sinceMs: number, untilMs: number): Promise<EndpointStats> {
    const { sql, values } = endpointStatsQuery(this.dialect, appId, endpointId, sinceMs, untilMs);
    return endpointStatsOf((await this.all(this.pool, sql, values)) as { status: number; n: number }[]);
  }

  async endpointTimeseries(appId: string, endpointId: string, sinceMs: number, untilMs: number, bucketMs: number): Promise<HealthBucket[]> {
    const { sql, values } = endpointTimeseriesQuery(this.dialect, appId, endpointId, sinceMs, untilMs, bucketMs);
    return endpointTimeseriesOf((await this.all(this.pool, sql, values)) as Parameters<typeof endpointTimeseriesOf>[0], sinceMs, untilMs, bucketMs);
  }
}
