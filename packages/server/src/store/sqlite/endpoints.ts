// SQLite store, records: endpoints (secrets sealed at rest) and the filters fan-out reads.
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import type { Endpoint } from '../../domain/types.js';
import { deletedConcurrently, taken } from '../common/conflicts.js';
import { listQuery } from '../common/lists.js';
import type { EndpointStore, IdempotencyWrite } from '../store.js';
import { SqliteApps } from './apps.js';
import { json, type MatchEndpoint } from './base.js';
import { isUniqueViolation } from './driver-errors.js';

export abstract class SqliteEndpoints extends SqliteApps implements EndpointStore {
  // ---- endpoints -----------------------------------------------------------------------------

  protected endpointParams(ep: Endpoint): unknown[] {
    return [
      ep.uid,
      ep.url,
      ep.description,
      ep.throttleRate,
      ep.disabled ? 1 : 0,
      ep.disabledReason,
      json(ep.eventTypes),
      json(ep.channels),
      JSON.stringify(ep.metadata),
      this.sealer.seal(JSON.stringify(ep.headers)),
      this.sealer.seal(ep.secret),
      this.sealer.seal(JSON.stringify(ep.previousSecrets)),
      ep.updatedAt,
      json(ep.deliveryPolicy),
      json(ep.filter),
      ep.auth ? this.sealer.seal(JSON.stringify(ep.auth)) : null,
      json(ep.transformation),
    ];
  }

  createEndpoint(ep: Endpoint, idem?: IdempotencyWrite<Endpoint>): Promise<Endpoint> {
    return this.writes.run(() => {
      try {
        this.run(
          `INSERT INTO endpoint (uid, url, description, throttle_rate, disabled, disabled_reason, event_types, channels, metadata,
             headers_sealed, secret_sealed, previous_secrets_sealed, updated_at, delivery_policy, content_filter, auth_sealed, transformation, id, app_id, created_at, ordering)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ...this.endpointParams(ep),
          ep.id,
          ep.appId,
          ep.createdAt,
          ep.ordering,
        );
      } catch (e) {
        if (isUniqueViolation(e)) throw taken('endpoint');
        throw e;
      }
      this.matchCache.delete(ep.appId);
      this.putIdem(idem, ep);
      return ep;
    });
  }

  async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
    const hit = this.endpointCache.get(idOrUid);
    if (hit) return hit.appId === appId ? hit : null;
    // A broker destination's endpoint row has the destination's id.
    const r =
      isIdOf('endpoint', idOrUid) || isIdOf('destination', idOrUid)
        ? this.get('SELECT * FROM endpoint WHERE id = ? AND app_id = ? AND deleted_at IS NULL', idOrUid, appId)
        : this.get('SELECT * FROM endpoint WHERE uid = ? AND app_id = ? AND deleted_at IS NULL', idOrUid, appId);
    if (!r) return null;
    const ep = this.rows.endpoint(r);
    if (this.endpointCache.size > 10_000) this.endpointCache.clear();
    this.endpointCache.set(ep.id, ep);
    return ep;
  }

  async listEndpoints(appId: string, q: PageQuery): Promise<Page<Endpoint>> {
    const { sql, values } = listQuery(this.dialect, 'endpoint', 'id', 'deleted_at IS NULL AND kind IS NULL', q, ['app_id', appId]);
    return toPage(this.all(sql, ...values), q, (r) => r.id, this.rows.endpoint);
  }

  updateEndpoint(ep: Endpoint): Promise<Endpoint> {
    return this.writes.run(() => {
      try {
        const res = this.run(
          `UPDATE endpoint SET uid = ?, url = ?, description = ?, throttle_rate = ?, disabled = ?, disabled_reason = ?,
             event_types = ?, channels = ?, metadata = ?, headers_sealed = ?, secret_sealed = ?, previous_secrets_sealed = ?,
             updated_at = ?, delivery_policy = ?, content_filter = ?, auth_sealed = ?, transformation = ?, ordering = ? WHERE id = ? AND app_id = ? AND deleted_at IS NULL`,
          ...this.endpointParams(ep),
          ep.ordering,
          ep.id,
          ep.appId,
        );
        if (res.changes === 0) throw deletedConcurrently('endpoint');
        this.endpointCache.delete(ep.id);
      } catch (e) {
        if (isUniqueViolation(e)) throw taken('endpoint');
        throw e;
      }
      this.matchCache.delete(ep.appId);
      return ep;
    });
  }

  async deleteEndpoint(appId: string, id: string, now: number): Promise<void> {
    const deleted = await this.writes.run(() => {
      const n = this.run('UPDATE endpoint SET deleted_at = ?, uid = NULL WHERE id = ? AND app_id = ? AND deleted_at IS NULL', now, id, appId).changes;
      this.endpointCache.delete(id);
      this.matchCache.delete(appId);
      return n > 0;
    });
    if (deleted) await this.cancelPendingTasks(id);
  }

  protected matchEndpoints(appId: string): MatchEndpoint[] {
    let eps = this.matchCache.get(appId);
    if (!eps) {
      eps = this.all('SELECT id, disabled, event_types, channels, content_filter, ordering FROM endpoint WHERE app_id = ? AND deleted_at IS NULL', appId).map(
        (r) => ({
          id: r.id,
          ordering: r.ordering === 'key' ? ('key' as const) : ('none' as const),
          disabled: r.disabled === 1,
          eventTypes: r.event_types === null ? null : JSON.parse(r.event_types),
          channels: r.channels === null ? null : JSON.parse(r.channels),
          filter: r.content_filter,
        }),
      );
      this.matchCache.set(appId, eps);
    }
    return eps;
  }
}
