// SQLite store, records: applications, event types, portal sessions and background tasks.
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import { MessageStatus, type Application, type EventType, type PortalSession } from '../../domain/types.js';
import { deletedConcurrently, taken } from '../common/conflicts.js';
import { listQuery } from '../common/lists.js';
import {
  CANCEL_BATCH,
  type ApplicationStore,
  type BackgroundTask,
  type EventTypeStore,
  type IdempotencyWrite,
  type PortalSessionStore,
  type BackgroundTaskStore,
} from '../store.js';
import { json } from './base.js';
import { isUniqueViolation } from './driver-errors.js';
import { SqliteEngage } from './engage.js';

export abstract class SqliteApps extends SqliteEngage implements ApplicationStore, EventTypeStore, PortalSessionStore, BackgroundTaskStore {
  // ---- applications --------------------------------------------------------------------------

  createApplication(app: Application, idem?: IdempotencyWrite<Application>): Promise<Application> {
    return this.writes.run(() => {
      try {
        this.run(
          'INSERT INTO application (id, uid, name, throttle_rate, metadata, created_at, updated_at, delivery_policy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          app.id,
          app.uid,
          app.name,
          app.throttleRate,
          JSON.stringify(app.metadata),
          app.createdAt,
          app.updatedAt,
          json(app.deliveryPolicy),
        );
      } catch (e) {
        if (isUniqueViolation(e)) throw taken('application');
        throw e;
      }
      this.putIdem(idem, app);
      return app;
    });
  }

  async getApplication(idOrUid: string): Promise<Application | null> {
    const hit = this.appCache.get(idOrUid);
    if (hit) return hit;
    const r = isIdOf('application', idOrUid)
      ? this.get('SELECT * FROM application WHERE id = ? AND deleted_at IS NULL', idOrUid)
      : this.get('SELECT * FROM application WHERE uid = ? AND deleted_at IS NULL', idOrUid);
    if (!r) return null;
    const app = this.rows.app(r);
    if (this.appCache.size > 10_000) this.appCache.clear();
    this.appCache.set(app.id, app);
    if (app.uid) this.appCache.set(app.uid, app);
    return app;
  }

  /** Forget an application's cached copy (under its id and any uid it had). */
  protected forgetApp(id: string): void {
    const old = this.appCache.get(id);
    this.appCache.delete(id);
    if (old?.uid) this.appCache.delete(old.uid);
  }

  async listApplications(q: PageQuery): Promise<Page<Application>> {
    const { sql, values } = listQuery(this.dialect, 'application', 'id', 'deleted_at IS NULL', q);
    return toPage(this.all(sql, ...values), q, (r) => r.id, this.rows.app);
  }

  updateApplication(app: Application): Promise<Application> {
    return this.writes.run(() => {
      try {
        const res = this.run(
          'UPDATE application SET uid = ?, name = ?, throttle_rate = ?, metadata = ?, updated_at = ?, delivery_policy = ? WHERE id = ? AND deleted_at IS NULL',
          app.uid,
          app.name,
          app.throttleRate,
          JSON.stringify(app.metadata),
          app.updatedAt,
          json(app.deliveryPolicy),
          app.id,
        );
        if (res.changes === 0) throw deletedConcurrently('application');
        this.forgetApp(app.id);
      } catch (e) {
        if (isUniqueViolation(e)) throw taken('application');
        throw e;
      }
      return app;
    });
  }

  cancelBatch = CANCEL_BATCH;

  async deleteApplication(id: string, now: number): Promise<void> {
    const endpoints = await this.writes.run(() => {
      this.run('UPDATE application SET deleted_at = ?, uid = NULL WHERE id = ? AND deleted_at IS NULL', now, id);
      this.forgetApp(id);
      // Its endpoints go with it, so nothing is delivered for a deleted tenant.
      const gone = this.all('UPDATE endpoint SET deleted_at = ?, uid = NULL WHERE app_id = ? AND deleted_at IS NULL RETURNING id', now, id);
      this.endpointCache.clear();
      this.matchCache.delete(id);
      return gone.map((r) => r.id as string);
    });
    for (const e of endpoints) await this.cancelPendingTasks(e);
  }

  /**
   * Cancel the pending deliveries of an endpoint that has been deleted (parked ones too), then drop
   * its key-order tails: cancelBatch tasks per write transaction, in msg_id order from where the
   * last batch ended, so other writes (acceptances, claims, completions) go between the batches
   * instead of waiting for the whole backlog.
   */
  protected async cancelPendingTasks(endpointId: string): Promise<void> {
    let after = '';
    for (;;) {
      const batch = await this.writes.run(() => {
        const r = this.get(
          `SELECT count(*) AS n, max(msg_id) AS last FROM (SELECT msg_id FROM delivery_task
             WHERE endpoint_id = ? AND msg_id > ? AND (next_attempt_at IS NOT NULL OR waiting_for IS NOT NULL) ORDER BY msg_id LIMIT ?)`,
          endpointId,
          after,
          this.cancelBatch,
        )!;
        if (r.n > 0) {
          this.run(
            `UPDATE delivery_task SET next_attempt_at = NULL, waiting_for = NULL, status = ?
             WHERE endpoint_id = ? AND msg_id > ? AND msg_id <= ? AND (next_attempt_at IS NOT NULL OR waiting_for IS NOT NULL)`,
            MessageStatus.canceled,
            endpointId,
            after,
            r.last,
          );
        }
        return r;
      });
      if (batch.n < this.cancelBatch) break;
      after = batch.last;
    }
    await this.writes.run(() => this.run('DELETE FROM delivery_order WHERE endpoint_id = ?', endpointId));
  }

  // ---- event types ---------------------------------------------------------------------------

  async getEventType(name: string): Promise<EventType | null> {
    const r = this.get('SELECT * FROM event_type WHERE name = ?', name);
    return r ? this.rows.eventType(r) : null;
  }

  async listEventTypes(q: PageQuery, includeArchived: boolean): Promise<Page<EventType>> {
    const { sql, values } = listQuery(this.dialect, 'event_type', 'name', includeArchived ? '1 = 1' : 'archived = 0', q);
    return toPage(this.all(sql, ...values), q, (r) => r.name, this.rows.eventType);
  }

  putEventType(et: EventType, idem?: IdempotencyWrite<EventType>): Promise<EventType> {
    return this.writes.run(() => {
      this.run(
        `INSERT INTO event_type (name, description, archived, deprecated, schemas, feature_flag, group_name, created_at, updated_at, schema_enforcement)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, archived = excluded.archived,
           deprecated = excluded.deprecated, schemas = excluded.schemas, feature_flag = excluded.feature_flag,
           group_name = excluded.group_name, updated_at = excluded.updated_at, schema_enforcement = excluded.schema_enforcement`,
        et.name,
        et.description,
        et.archived ? 1 : 0,
        et.deprecated ? 1 : 0,
        json(et.schemas),
        et.featureFlag,
        et.groupName,
        et.createdAt,
        et.updatedAt,
        et.schemaEnforcement ?? 'off',
      );
      this.putIdem(idem, et);
      return et;
    });
  }

  expungeEventType(name: string): Promise<void> {
    return this.writes.run(() => {
      this.run('DELETE FROM event_type WHERE name = ?', name);
    });
  }

  async missingEventTypes(names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const found = new Set(
      this.all(`SELECT name FROM event_type WHERE archived = 0 AND name IN (${names.map(() => '?').join(',')})`, ...names).map((r) => r.name),
    );
    return names.filter((n) => !found.has(n));
  }

  // ---- background tasks ----------------------------------------------------------------------

  createBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    return this.writes.run(() => {
      this.run(
        'INSERT INTO background_task (id, app_id, kind, status, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        t.id,
        t.appId,
        t.kind,
        t.status,
        JSON.stringify(t.data),
        t.createdAt,
        t.updatedAt,
      );
      return t;
    });
  }

  updateBackgroundTask(t: BackgroundTask): Promise<BackgroundTask> {
    return this.writes.run(() => {
      this.run('UPDATE background_task SET status = ?, data = ?, updated_at = ? WHERE id = ?', t.status, JSON.stringify(t.data), t.updatedAt, t.id);
      return t;
    });
  }

  async getBackgroundTask(id: string): Promise<BackgroundTask | null> {
    const r = this.get('SELECT * FROM background_task WHERE id = ?', id);
    return r ? this.rows.backgroundTask(r) : null;
  }

  // ---- portal sessions -----------------------------------------------------------------------

  createPortalSession(s: PortalSession, idem?: IdempotencyWrite<PortalSession>): Promise<PortalSession> {
    return this.writes.run(() => {
      this.run(
        'INSERT INTO portal_session (id, app_id, permissions, feature_flags, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        s.id,
        s.appId,
        JSON.stringify(s.permissions),
        JSON.stringify(s.featureFlags),
        s.createdAt,
        s.expiresAt,
        s.revokedAt,
      );
      this.putIdem(idem, s);
      return s;
    });
  }

  async getPortalSession(id: string): Promise<PortalSession | null> {
    const r = this.get('SELECT * FROM portal_session WHERE id = ?', id);
    return r ? this.rows.session(r) : null;
  }

  revokePortalSession(id: string, now: number): Promise<void> {
    return this.writes.run(() => {
      this.run('UPDATE portal_session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', now, id);
    });
  }
}
