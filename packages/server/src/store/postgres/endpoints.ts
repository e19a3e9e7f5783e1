// PostgreSQL store, records: endpoints (secrets sealed at rest).
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import type { Endpoint } from '../../domain/types.js';
import { deletedConcurrently } from '../common/conflicts.js';
import { listQuery } from '../common/lists.js';
import type { EndpointStore, IdempotencyWrite } from '../store.js';
import { PgApps } from './apps.js';
import { jsonOrNull, PgBase, type Db } from './base.js';

export abstract class PgEndpoints extends PgApps implements EndpointStore {
  // ---- endpoints -----------------------------------------------------------------------------

  /** $1..$17 in the order createEndpoint and updateEndpoint name the columns. */
  protected endpointParams(ep: Endpoint): unknown[] {
    return [
      ep.uid,
      ep.url,
      ep.description,
      ep.throttleRate,
      ep.disabled,
      ep.disabledReason,
      jsonOrNull(ep.eventTypes),
      jsonOrNull(ep.channels),
      JSON.stringify(ep.metadata),
      this.sealer.seal(JSON.stringify(ep.headers)),
      this.sealer.seal(ep.secret),
      this.sealer.seal(JSON.stringify(ep.previousSecrets)),
      ep.updatedAt,
      jsonOrNull(ep.deliveryPolicy),
      jsonOrNull(ep.filter),
      ep.auth ? this.sealer.seal(JSON.stringify(ep.auth)) : null,
      jsonOrNull(ep.transformation),
    ];
  }

  async createEndpoint(ep: Endpoint, idem?: IdempotencyWrite<Endpoint>): Promise<Endpoint> {
    const write = async (db: Db) => {
      await db
        .query(
          `INSERT INTO endpoint (uid, url, description, throttle_rate, disabled, disabled_reason, event_types, channels, metadata,
             headers_sealed, secret_sealed, previous_secrets_sealed, updated_at, delivery_policy, content_filter, auth_sealed, transformation, id, app_id, created_at, ordering)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
          [...this.endpointParams(ep), ep.id, ep.appId, ep.createdAt, ep.ordering],
        )
        .catch(PgBase.conflictOn('endpoint'));
      await this.putIdem(db, idem, ep);
      return ep;
    };
    return idem ? this.tx(write) : write(this.pool);
  }

  async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
    // A broker destination's endpoint row has the destination's id.
    const col = isIdOf('endpoint', idOrUid) || isIdOf('destination', idOrUid) ? 'id' : 'uid';
    const r = await this.one(this.pool, `SELECT * FROM endpoint WHERE ${col} = $1 AND app_id = $2 AND deleted_at IS NULL`, [idOrUid, appId]);
    return r ? this.rows.endpoint(r) : null;
  }

  async listEndpoints(appId: string, q: PageQuery): Promise<Page<Endpoint>> {
    const { sql, values } = listQuery(this.dialect, 'endpoint', 'id', 'deleted_at IS NULL AND kind IS NULL', q, ['app_id', appId]);
    return toPage(await this.all(this.pool, sql, values), q, (r) => r.id, this.rows.endpoint);
  }

  async updateEndpoint(ep: Endpoint): Promise<Endpoint> {
    const n = await this.run(
      this.pool,
      `UPDATE endpoint SET uid = $1, url = $2, description = $3, throttle_rate = $4, disabled = $5, disabled_reason = $6,
         event_types = $7, channels = $8, metadata = $9, headers_sealed = $10, secret_sealed = $11, previous_secrets_sealed = $12,
         updated_at = $13, delivery_policy = $14, content_filter = $15, auth_sealed = $16, transformation = $17, ordering = $20
         WHERE id = $18 AND app_id = $19 AND deleted_at IS NULL`,
      [...this.endpointParams(ep), ep.id, ep.appId, ep.ordering],
    ).catch(PgBase.conflictOn('endpoint'));
    if (n === 0) throw deletedConcurrently('endpoint');
    return ep;
  }

  async deleteEndpoint(appId: string, id: string, now: number): Promise<void> {
    const n = await this.run(this.pool, 'UPDATE endpoint SET deleted_at = $1, uid = NULL WHERE id = $2 AND app_id = $3 AND deleted_at IS NULL', [
      now,
      id,
      appId,
    ]);
    if (n > 0) await this.cancelPendingTasks(id);
  }

  // ---- messages ------------------------------------------------------------------------------
}
