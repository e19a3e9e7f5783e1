// PostgreSQL store, records: destinations (config sealed at rest), polling consumers' positions,
// and the attempts made through a destination.
import { brokerEndpoint, isBrokerKind, type Destination } from '../../domain/destinations.js';
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import type { Attempt } from '../../domain/types.js';
import { deletedConcurrently } from '../common/conflicts.js';
import { destinationTypesOnly, listQuery } from '../common/lists.js';
import { ATTEMPT_COLUMNS, attemptValues } from '../common/rows.js';
import type { DestinationStore, IdempotencyWrite } from '../store.js';
import { jsonOrNull, PgBase, type Db } from './base.js';
import { PgQueue } from './queue.js';

/** Set a consumer's position (of a destination that still exists); $1 destination, $2 consumer, $3 position, $4 now. */
const upsertPosition = (forwardOnly: boolean) =>
  `INSERT INTO destination_consumer (destination_id, consumer_id, position, updated_at)
   SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM destination WHERE id = $1 AND deleted_at IS NULL)
   ON CONFLICT (destination_id, consumer_id) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at
   ${forwardOnly ? 'WHERE EXCLUDED.position > destination_consumer.position' : ''}`;

export abstract class PgDestinations extends PgQueue implements DestinationStore {
  /** $1..$12 in the order createDestination and updateDestination name the columns. */
  private destinationParams(d: Destination): unknown[] {
    return [
      d.uid,
      d.type,
      d.status,
      jsonOrNull(d.eventTypes),
      jsonOrNull(d.channels),
      JSON.stringify(d.metadata),
      d.batchSize,
      d.maxWaitSecs,
      this.sealer.seal(JSON.stringify(d.config)),
      d.leaseMs,
      d.expiresAt,
      d.updatedAt,
    ];
  }

  /**
   * A broker destination's endpoint row (domain/destinations.ts brokerEndpoint), written with the
   * destination: created with it, then its target, filters, status and secret follow each update.
   * Re-enabling clears what an automatic disable left.
   */
  private async writeBrokerEndpoint(db: Db, d: Destination, create: boolean): Promise<void> {
    if (!isBrokerKind(d.type)) return;
    const ep = brokerEndpoint(d);
    const seal = (v: string) => this.sealer.seal(v);
    if (create) {
      await db.query(
        `INSERT INTO endpoint (id, app_id, url, disabled, event_types, channels, headers_sealed, secret_sealed, previous_secrets_sealed,
           created_at, updated_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          ep.id,
          ep.appId,
          ep.url,
          ep.disabled,
          jsonOrNull(ep.eventTypes),
          jsonOrNull(ep.channels),
          seal('{}'),
          seal(ep.secret),
          seal('[]'),
          ep.createdAt,
          ep.updatedAt,
          ep.kind,
        ],
      );
    } else {
      await db.query(
        `UPDATE endpoint SET url = $1, disabled = $2, event_types = $3, channels = $4, secret_sealed = $5, updated_at = $6,
           disabled_reason = CASE WHEN $2 THEN disabled_reason END, first_failure_at = CASE WHEN $2 THEN first_failure_at END
         WHERE id = $7 AND app_id = $8 AND deleted_at IS NULL`,
        [ep.url, ep.disabled, jsonOrNull(ep.eventTypes), jsonOrNull(ep.channels), seal(ep.secret), ep.updatedAt, ep.id, ep.appId],
      );
    }
  }

  async createDestination(d: Destination, idem?: IdempotencyWrite<Destination>): Promise<Destination> {
    const write = async (db: Db) => {
      await db
        .query(
          `INSERT INTO destination (uid, type, status, event_types, channels, metadata, batch_size, max_wait_secs, config_sealed,
             lease_ms, expires_at, updated_at, id, app_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
          [...this.destinationParams(d), d.id, d.appId, d.createdAt],
        )
        .catch(PgBase.conflictOn('destination'));
      await this.writeBrokerEndpoint(db, d, true);
      await this.putIdem(db, idem, d);
      return d;
    };
    return idem || isBrokerKind(d.type) ? this.tx(write) : write(this.pool);
  }

  async getDestination(appId: string, idOrUid: string): Promise<Destination | null> {
    const col = isIdOf('destination', idOrUid) ? 'id' : 'uid';
    const r = await this.one(this.pool, `SELECT * FROM destination WHERE ${col} = $1 AND app_id = $2 AND deleted_at IS NULL`, [idOrUid, appId]);
    return r ? this.rows.destination(r) : null;
  }

  async listDestinations(appId: string, q: PageQuery, types?: readonly string[]): Promise<Page<Destination>> {
    const { sql, values } = listQuery(this.dialect, 'destination', 'id', `deleted_at IS NULL${destinationTypesOnly(types)}`, q, ['app_id', appId]);
    return toPage(await this.all(this.pool, sql, values), q, (r) => r.id, this.rows.destination);
  }

  async updateDestination(d: Destination): Promise<Destination> {
    if (isBrokerKind(d.type)) return this.tx((c) => this.updateDestinationIn(c, d));
    return this.updateDestinationIn(this.pool, d);
  }

  private async updateDestinationIn(db: Db, d: Destination): Promise<Destination> {
    const n = await this.run(
      db,
      `UPDATE destination SET uid = $1, type = $2, status = $3, event_types = $4, channels = $5, metadata = $6, batch_size = $7,
         max_wait_secs = $8, config_sealed = $9, lease_ms = $10, expires_at = $11, updated_at = $12
       WHERE id = $13 AND app_id = $14 AND deleted_at IS NULL`,
      [...this.destinationParams(d), d.id, d.appId],
    ).catch(PgBase.conflictOn('destination'));
    if (n === 0) throw deletedConcurrently('destination');
    await this.writeBrokerEndpoint(db, d, false);
    return d;
  }

  async deleteDestination(appId: string, id: string, now: number): Promise<void> {
    const e = await this.tx(async (c) => {
      const n = await this.run(c, 'UPDATE destination SET deleted_at = $1, uid = NULL WHERE id = $2 AND app_id = $3 AND deleted_at IS NULL', [now, id, appId]);
      if (n > 0) await c.query('DELETE FROM destination_consumer WHERE destination_id = $1', [id]);
      // A broker destination's endpoint row goes with it, and its pending deliveries are canceled.
      return this.run(c, 'UPDATE endpoint SET deleted_at = $1 WHERE id = $2 AND app_id = $3 AND kind IS NOT NULL AND deleted_at IS NULL', [now, id, appId]);
    });
    if (e > 0) await this.cancelPendingTasks(id);
  }

  async renewDestinationLease(id: string, expiresAt: number): Promise<void> {
    await this.pool.query('UPDATE destination SET expires_at = $1 WHERE id = $2 AND deleted_at IS NULL AND expires_at IS NOT NULL AND expires_at < $1', [
      expiresAt,
      id,
    ]);
  }

  async expireDestinations(now: number, limit: number): Promise<number> {
    return this.tx(async (c) => {
      const ids = (
        await this.all(
          c,
          `UPDATE destination SET deleted_at = $1, uid = NULL WHERE id IN (
             SELECT id FROM destination WHERE expires_at IS NOT NULL AND expires_at <= $1 AND deleted_at IS NULL
             ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id`,
          [now, limit],
        )
      ).map((r) => r.id as string);
      if (ids.length) await c.query('DELETE FROM destination_consumer WHERE destination_id = ANY($1)', [ids]);
      return ids.length;
    });
  }

  async getConsumerPosition(destinationId: string, consumerId: string): Promise<string | null> {
    const r = await this.one(this.pool, 'SELECT position FROM destination_consumer WHERE destination_id = $1 AND consumer_id = $2', [
      destinationId,
      consumerId,
    ]);
    return r ? (r.position as string) : null;
  }

  async setConsumerPosition(destinationId: string, consumerId: string, position: string, now: number, forwardOnly: boolean): Promise<void> {
    await this.pool.query(upsertPosition(forwardOnly), [destinationId, consumerId, position, now]);
  }

  async recordDestinationAttempt(a: Attempt, consumer?: { destinationId: string; consumerId: string }): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`INSERT INTO attempt (${ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, attemptValues(a, 1));
      if (consumer) await c.query(upsertPosition(true), [consumer.destinationId, consumer.consumerId, a.msgId, a.createdAt]);
    });
  }
}
