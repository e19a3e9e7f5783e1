// PostgreSQL store, records: applications, event types, portal sessions and background tasks.
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import { MessageStatus, type Application, type EventType, type PortalSession } from '../../domain/types.js';
import { deletedConcurrently } from '../common/conflicts.js';
import { listQuery } from '../common/lists.js';
import {
  CANCEL_BATCH,
  type ApplicationStore,
  type BackgroundTask,
  type BackgroundTaskStore,
  type EventTypeStore,
  type IdempotencyWrite,
  type PortalSessionStore,
} from '../store.js';
import { jsonOrNull, PgBase, type Db } from './base.js';
import { PgEngage } from './engage.js';

export abstract class PgApps extends PgEngage implements ApplicationStore, EventTypeStore, PortalSessionStore, BackgroundTaskStore {
  // ---- applications --------------------------------------------------------------------------

  protected insertApp(db: Db, a: Application): Promise<number> {
    return this.run(
      db,
      'INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at, delivery_policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [a.id, a.uid, a.name, a.throttleRate, JSON.stringify(a.metadata), a.createdAt, a.updatedAt, jsonOrNull(a.deliveryPolicy)],
    );
  }

  async createApplication(app: Application, idem?: IdempotencyWrite<Application>): Promise<Application> {
    const write = async (db: Db) => {
      await this.insertApp(db, app).catch(PgBase.conflictOn('application'));
      await this.putIdem(db, idem, app);
      return app;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async getApplication(idOrUid: string): Promise<Application | null> {
    const col = isIdOf('application', idOrUid) ? 'id' : 'uid';
    const r = await this.one(this.pool, `SELECT * FROM application WHERE ${col} = $1 AND deleted_at IS NULL`, [idOrUid]);
    return r ? this.rows.app(r) : null;
  }

  async listApplications(q: PageQuery): Promise<Page<Application>> {
    const { sql, values } = listQuery(this.dialect, 'application', 'id', 'deleted_at IS NULL', q);
    return toPage(await this.all(this.pool, sql, values), q, (r) => r.id, this.rows.app);
  }

  async updateApplication(app: Application): Promise<Application> {
    const n = await this.run(
      this.pool,
      'UPDATE application SET uid = $1, name = $2, throttle_rate = $3, metadata = $4, updated_at = $5, delivery_policy = $7 WHERE id = $6 AND deleted_at IS NULL',
      [app.uid, app.name, app.throttleRate, JSON.stringify(app.metadata), app.updatedAt, app.id, jsonOrNull(app.deliveryPolicy)],
    ).catch(PgBase.conflictOn('application'));
    if (n === 0) throw deletedConcurrently('application');
    return app;
  }

  cancelBatch = CANCEL_BATCH;

  async deleteApplication(id: string, now: number): Promise<void> {
    const endpoints = await this.tx(async (c) => {
      await c.query('UPDATE application SET deleted_at = $1, uid = NULL WHERE id = $2 AND deleted_at IS NULL', [now, id]);
      // Its endpoints go with it, so nothing is delivered for a deleted tenant.
      return this.all(c, 'UPDATE endpoint SET deleted_at = $1, uid = NULL WHERE app_id = $2 AND deleted_at IS NULL RETURNING id', [now, id]);
    });
    for (const e of endpoints) await this.cancelPendingTasks(e.id);
  }

  /**
   * Cancel the pending deliveries of an endpoint that has been deleted (parked ones too), then drop
   * its key-order tails: cancelBatch tasks per statement, each its own transaction, in msg_id order
   * from where the last batch ended. One statement over a large backlog held every one of its
   * tasks' locks until it ended, and meanwhile every claim that looked at the endpoint stepped over
   * each locked due task (100,000 of them: 100-130 ms a claim instead of 3-5 ms, for every tenant's
   * deliveries). A batch locks its tasks in (endpoint_id, msg_id) order, as every writer of several
   * tasks does, and holds no other lock. It counts the tasks it locked, not those it changed: a task
   * that stopped waiting meanwhile is not locked, and the next batch starts after the last locked.
   */
  protected async cancelPendingTasks(endpointId: string): Promise<void> {
    let after = '';
    for (;;) {
      const r = await this.one(
        this.pool,
        `WITH c AS MATERIALIZED (
           SELECT msg_id FROM delivery_task WHERE endpoint_id = $2 AND msg_id > $3 AND (next_attempt_at IS NOT NULL OR waiting_for IS NOT NULL)
           ORDER BY msg_id LIMIT $4 FOR UPDATE),
         u AS (UPDATE delivery_task d SET next_attempt_at = NULL, waiting_for = NULL, status = $1 FROM c WHERE d.endpoint_id = $2 AND d.msg_id = c.msg_id)
         SELECT count(*)::int AS n, max(msg_id) AS last FROM c`,
        [MessageStatus.canceled, endpointId, after, this.cancelBatch],
      );
      if (!r || r.n < this.cancelBatch) break;
      after = r.last;
    }
    // The per-key order tails (after the tasks, as completions lock them).
    await this.pool.query('DELETE FROM delivery_order WHERE endpoint_id = $1', [endpointId]);
  }

  // ---- event types ---------------------------------------------------------------------------

  async getEventType(name: string): Promise<EventType | null> {
    const r = await this.one(this.pool, 'SELECT * FROM event_type WHERE name = $1', [name]);
    return r ? this.rows.eventType(r) : null;
  }

  async listEventTypes(q: PageQuery, includeArchived: boolean): Promise<Page<EventType>> {
    const { sql, values } = listQuery(this.dialect, 'event_type', 'name', includeArchived ? '1 = 1' : 'NOT archived', q);
    return toPage(await this.all(this.pool, sql, values), q, (r) => r.name, this.rows.eventType);
  }

  async putEventType(et: EventType, idem?: IdempotencyWrite<EventType>): Promise<EventType> {
    const write = async (db: Db) => {
      await db.query(
        `INSERT INTO event_type (name, description, archived, deprecated, schemas, feature_flag, group_name, created_at, updated_at, schema_enforcement)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, archived = excluded.archived,
           deprecated = excluded.deprecated, schemas = excluded.schemas, feature_flag = excluded.feature_flag,
           group_name = excluded.group_name, updated_at = excluded.updated_at, schema_enforcement = excluded.schema_enforcement`,
        [
          et.name,
          et.description,
          et.archived,
          et.deprecated,
          jsonOrNull(et.schemas),
          et.featureFlag,
          et.groupName,
          et.createdAt,
          et.updatedAt,
          et.schemaEnforcement ?? 'off',
        ],
      );
      await this.putIdem(db, idem, et);
      return et;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async expungeEventType(name: string): Promise<void> {
    await this.pool.query('DELETE FROM event_type WHERE name = $1', [name]);
  }

  async missingEventTypes(names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await this.all(this.pool, 'SELECT name FROM event_type WHERE NOT archived AND name = ANY($1::text[])', [names]);
    const found = new Set(rows.map((r) => r.name));
    return names.filter((n) => !found.has(n));
  }

  // ---- background tasks ----------------------------------------------------------------------

  async createBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    await this.pool.query('INSERT INTO background_task (id, app_id, kind, status, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      t.id,
      t.appId,
      t.kind,
      t.status,
      JSON.stringify(t.data),
      t.createdAt,
      t.updatedAt,
    ]);
    return t;
  }

  async updateBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    await this.pool.query('UPDATE background_task SET status = $1, data = $2, updated_at = $3 WHERE id = $4', [
      t.status,
      JSON.stringify(t.data),
      t.updatedAt,
      t.id,
    ]);
    return t;
  }

  async getBackgroundTask(id: string): Promise<BackgroundTask | null> {
    const r = await this.one(this.pool, 'SELECT * FROM background_task WHERE id = $1', [id]);
    return r ? this.rows.backgroundTask(r) : null;
  }

  // ---- portal sessions -----------------------------------------------------------------------

  async createPortalSession(s: PortalSession, idem?: IdempotencyWrite<PortalSession>): Promise<PortalSession> {
    const write = async (db: Db) => {
      await db.query(
        'INSERT INTO portal_session (id, app_id, permissions, feature_flags, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [s.id, s.appId, JSON.stringify(s.permissions), JSON.stringify(s.featureFlags), s.createdAt, s.expiresAt, s.revokedAt],
      );
      await this.putIdem(db, idem, s);
      return s;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async getPortalSession(id: string): Promise<PortalSession | null> {
    const r = await this.one(this.pool, 'SELECT * FROM portal_session WHERE id = $1', [id]);
    return r ? this.rows.session(r) : null;
  }

  async revokePortalSession(id: string, now: number): Promise<void> {
    await this.pool.query('UPDATE portal_session SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now, id]);
  }
}
