// SQLite store, records: messages (with their delivery tasks, fanned out in the same commit) and
// the delivery and attempt lists.
import { fanOut } from '../../domain/fanout.js';
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import type { Attempt, DeliveryTask, Message } from '../../domain/types.js';
import { taken } from '../common/conflicts.js';
import { takeTurnSql } from '../common/ordering.js';
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
import { json } from './base.js';
import { isUniqueViolation } from './driver-errors.js';
import { SqliteEndpoints } from './endpoints.js';

export abstract class SqliteMessages extends SqliteEndpoints implements MessageStore, EndpointHealthStore {
  // ---- messages ------------------------------------------------------------------------------

  createMessage(msg: Message, opts: CreateMessageOptions): Promise<{ message: Message; tasks: DeliveryTask[] }> {
    return this.notifyAfter(
      this.writes.run(() => this.insertMessage(msg, opts)),
      (r) => r.tasks.length > 0,
    );
  }

  /**
   * The one way a message enters the store: the row and one delivery task per endpoint it matches,
   * inside the caller's write (createMessage, createMessages).
   */
  protected insertMessage(msg: Message, opts: CreateMessageOptions): { message: Message; tasks: DeliveryTask[] } {
    if (opts.createApp) {
      const a = opts.createApp;
      const existing = a.uid ? this.get('SELECT id FROM application WHERE uid = ? AND deleted_at IS NULL', a.uid) : undefined;
      if (existing) msg = { ...msg, appId: existing.id };
      else {
        this.run(
          'INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at, delivery_policy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          a.id,
          a.uid,
          a.name,
          a.throttleRate,
          JSON.stringify(a.metadata),
          a.createdAt,
          a.updatedAt,
          json(a.deliveryPolicy),
        );
        msg = { ...msg, appId: a.id };
      }
    }
    try {
      this.run(
        'INSERT INTO message (id, app_id, uid, event_type, channels, payload, expires_at, created_at, schema_violations, ordering_key, traceparent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        msg.id,
        msg.appId,
        msg.eventId,
        msg.eventType,
        json(msg.channels),
        msg.payload,
        msg.expiresAt,
        msg.createdAt,
        json(msg.schemaViolations),
        msg.orderingKey ?? null,
        msg.traceparent ?? null,
      );
    } catch (e) {
      if (isUniqueViolation(e)) throw taken('message');
      throw e;
    }
    const tasks = fanOut(msg, this.matchEndpoints(msg.appId), opts.onlyEndpointId);
    for (const t of tasks) {
      if (t.orderedBy) {
        // Its turn in the key's order (domain/ordering.ts takeTurn): parked while the one ahead is open.
        const q = takeTurnSql(this.dialect, t.endpointId, t.orderedBy, t.msgId);
        const turn = this.get(q.sql, ...q.values)!;
        t.orderingSeq = turn.last_seq;
        t.waitingFor = turn.prev_msg_id ?? null;
        if (t.waitingFor) t.nextAttemptAt = null;
      }
      this.run(
        `INSERT INTO delivery_task (msg_id, endpoint_id, app_id, status, next_attempt_at, trigger_type, created_at, updated_at, ordering_seq, waiting_for)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        t.msgId,
        t.endpointId,
        t.appId,
        t.status,
        t.nextAttemptAt,
        opts.triggerType ?? 0,
        t.createdAt,
        t.updatedAt,
        t.orderingSeq ?? null,
        t.waitingFor ?? null,
      );
    }
    this.putIdem(opts.idem, msg);
    return { message: msg, tasks };
  }

  createMessages(msgs: Message[], opts: CreateMessagesOptions): Promise<{ messages: Message[]; tasks: DeliveryTask[] }> {
    return this.notifyAfter(
      this.writes.run(() => {
        if (opts.engage) this.applyEngageChange(opts.engage.appId, opts.engage.state);
        const messages: Message[] = [];
        const tasks: DeliveryTask[] = [];
        for (const m of msgs) {
          const r = this.insertMessage(m, { triggerType: opts.triggerType });
          messages.push(r.message);
          tasks.push(...r.tasks);
        }
        this.putIdem(opts.idem, messages);
        return { messages, tasks };
      }),
      (r) => r.tasks.length > 0,
    );
  }

  async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
    const r = isIdOf('message', idOrEventId)
      ? this.get('SELECT * FROM message WHERE id = ? AND app_id = ?', idOrEventId, appId)
      : this.get('SELECT * FROM message WHERE uid = ? AND app_id = ?', idOrEventId, appId);
    return r ? this.rows.message(r) : null;
  }

  async listMessages(appId: string, q: MessageListQuery): Promise<Page<Message>> {
    const { sql, values } = listMessagesQuery(this.dialect, appId, q);
    return toPage(this.all(sql, ...values), q, (r) => r.id, this.rows.message);
  }

  expungeMessageContent(appId: string, msgId: string): Promise<void> {
    return this.writes.run(() => {
      this.run('UPDATE message SET payload = NULL WHERE id = ? AND app_id = ?', msgId, appId);
    });
  }

  // ---- deliveries and attempts ---------------------------------------------------------------

  async listEndpointMessages(appId: string, endpointId: string, q: TaskListQuery): Promise<Page<EndpointMessage>> {
    const { sql, values } = listEndpointMessagesQuery(this.dialect, appId, endpointId, q);
    return toPage(
      this.all(sql, ...values),
      q,
      (r) => r.id,
      (r) => ({ message: this.rows.message(r), task: this.rows.task(r, 't_') }),
    );
  }

  async listMessageDestinations(appId: string, msgId: string, q: PageQuery): Promise<Page<MessageDestination>> {
    const { sql, values } = listMessageDestinationsQuery(this.dialect, appId, msgId, q);
    return toPage(
      this.all(sql, ...values),
      q,
      (r) => r.id,
      (r) => ({ endpoint: this.rows.endpoint(r), task: this.rows.task(r, 't_') }),
    );
  }

  protected listAttempts(appId: string, scopeCol: 'a.endpoint_id' | 'a.msg_id', scope: string, q: AttemptListQuery): Page<Attempt> {
    const { sql, values } = listAttemptsQuery(this.dialect, appId, scopeCol, scope, q);
    return toPage(this.all(sql, ...values), q, (r) => r.id, this.rows.attempt);
  }

  async listAttemptsByEndpoint(appId: string, endpointId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.endpoint_id', endpointId, q);
  }

  async listAttemptsByMessage(appId: string, msgId: string, q: AttemptListQuery): Promise<Page<Attempt>> {
    return this.listAttempts(appId, 'a.msg_id', msgId, q);
  }

  async getAttempt(appId: string, msgId: string, attemptId: string): Promise<Attempt | null> {
    const r = this.get('SELECT * FROM attempt WHERE id = ? AND msg_id = ? AND app_id = ?', attemptId, msgId, appId);
    return r ? this.rows.attempt(r) : null;
  }

  expungeAttemptContent(appId: string, attemptId: string): Promise<void> {
    return this.writes.run(() => {
      this.run("UPDATE attempt SET response = 'EXPUNGED' WHERE id = ? AND app_id = ?", attemptId, appId);
    });
  }

  async endpointStats(appId: string, endpointId: string, sinceMs: number, untilMs: number): Promise<EndpointStats> {
    const { sql, values } = endpointStatsQuery(this.dialect, appId, endpointId, sinceMs, untilMs);
    return endpointStatsOf(this.all(sql, ...values) as { status: number; n: number }[]);
  }

  /** On the read worker: the scan grows with the endpoint's attempts in the window, too long for the event loop. */
  async endpointTimeseries(appId: string, endpointId: string, sinceMs: number, untilMs: number, bucketMs: number): Promise<HealthBucket[]> {
    const { sql, values } = endpointTimeseriesQuery(this.dialect, appId, endpointId, sinceMs, untilMs, bucketMs);
    return endpointTimeseriesOf((await this.reads.all(sql, ...values)) as Parameters<typeof endpointTimeseriesOf>[0], sinceMs, untilMs, bucketMs);
  }
}
