// SQLite store, records: destinations (config sealed at rest), polling consumers' positions, and
// the attempts made through a destination.
import { brokerEndpoint, isBrokerKind, type Destination } from '../../domain/destinations.js';
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import type { Attempt } from '../../domain/types.js';
import { deletedConcurrently, taken } from '../common/conflicts.js';
import { destinationTypesOnly, listQuery } from '../common/lists.js';
import { ATTEMPT_COLUMNS, attemptValues } from '../common/rows.js';
import type { DestinationStore, IdempotencyWrite } from '../store.js';
import { json } from './base.js';
import { isUniqueViolation } from './driver-errors.js';
import { SqliteQueue } from './queue.js';

export abstract class SqliteDestinations extends SqliteQueue implements DestinationStore {
  /** In the order createDestination and updateDestination name the columns. */
  private destinationParams(d: Destination): unknown[] {
    return [
      d.uid,
      d.type,
      d.status,
      json(d.eventTypes),
      json(d.channels),
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
  private writeBrokerEndpoint(d: Destination, create: boolean): void {
    if (!isBrokerKind(d.type)) return;
    const ep = brokerEndpoint(d);
    const seal = (v: string) => this.sealer.seal(v);
    if (create) {
      this.run(
        `INSERT INTO endpoint (id, app_id, url, disabled, event_types, channels, headers_sealed, secret_sealed, previous_secrets_sealed,
           created_at, updated_at, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ep.id,
        ep.appId,
        ep.url,
        ep.disabled ? 1 : 0,
        json(ep.eventTypes),
        json(ep.channels),
        seal('{}'),
        seal(ep.secret),
        seal('[]'),
        ep.createdAt,
        ep.updatedAt,
        ep.kind,
      );
    } else {
      this.run(
        `UPDATE endpoint SET url = ?, disabled = ?, event_types = ?, channels = ?, secret_sealed = ?, updated_at = ?,
           disabled_reason = CASE WHEN ? = 0 THEN NULL ELSE disabled_reason END, first_failure_at = CASE WHEN ? = 0 THEN NULL ELSE first_failure_at END
         WHERE id = ? AND app_id = ? AND deleted_at IS NULL`,
        ep.url,
        ep.disabled ? 1 : 0,
        json(ep.eventTypes),
        json(ep.channels),
        seal(ep.secret),
        ep.updatedAt,
        ep.disabled ? 1 : 0,
        ep.disabled ? 1 : 0,
        ep.id,
        ep.appId,
      );
    }
    this.endpointCache.delete(ep.id);
    this.matchCache.delete(ep.appId);
  }

  createDestination(d: Destination, idem?: IdempotencyWrite<Destination>): Promise<Destination> {
    return this.writes.run(() => {
      try {
        this.run(
          `INSERT INTO destination (uid, type, status, event_types, channels, metadata, batch_size, max_wait_secs, config_sealed,
             lease_ms, expires_at, updated_at, id, app_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ...this.destinationParams(d),
          d.id,
          d.appId,
          d.createdAt,
        );
      } catch (e) {
        if (isUniqueViolation(e)) throw taken('destination');
        throw e;
      }
      this.writeBrokerEndpoint(d, true);
      this.putIdem(idem, d);
      return d;
    });
  }

  async getDestination(appId: string, idOrUid: string): Promise<Destination | null> {
    const col = isIdOf('destination', idOrUid) ? 'id' : 'uid';
    const r = this.get(`SELECT * FROM destination WHERE ${col} = ? AND app_id = ? AND deleted_at IS NULL`, idOrUid, appId);
    return r ? this.rows.destination(r) : null;
  }

  async listDestinations(appId: string, q: PageQuery, types?: readonly string[]): Promise<Page<Destination>> {
    const { sql, values } = listQuery(this.dialect, 'destination', 'id', `deleted_at IS NULL${destinationTypesOnly(types)}`, q, ['app_id', appId]);
    return toPage(this.all(sql, ...values), q, (r) => r.id, this.rows.destination);
  }

  updateDestination(d: Destination): Promise<Destination> {
    return this.writes.run(() => {
      try {
        const res = this.run(
          `UPDATE destination SET uid = ?, type = ?, status = ?, event_types = ?, channels = ?, metadata = ?, batch_size = ?,
             max_wait_secs = ?, config_sealed = ?, lease_ms = ?, expires_at = ?, updated_at = ?
           WHERE id = ? AND app_id = ? AND deleted_at IS NULL`,
          ...this.destinationParams(d),
          d.id,
          d.appId,
        );
        if (res.changes === 0) throw deletedConcurrently('destination');
      } catch (e) {
        if (isUniqueViolation(e)) throw taken('destination');
        throw e;
      }
      this.writeBrokerEndpoint(d, false);
      return d;
    });
  }

  async deleteDestination(appId: string, id: string, now: number): Promise<void> {
    const gone = await this.writes.run(() => {
      const res = this.run('UPDATE destination SET deleted_at = ?, uid = NULL WHERE id = ? AND app_id = ? AND deleted_at IS NULL', now, id, appId);
      if (res.changes > 0) this.run('DELETE FROM destination_consumer WHERE destination_id = ?', id);
      // A broker destination's endpoint row goes with it, and its pending deliveries are canceled.
      if (this.run('UPDATE endpoint SET deleted_at = ? WHERE id = ? AND app_id = ? AND kind IS NOT NULL AND deleted_at IS NULL', now, id, appId).changes === 0)
        return false;
      this.endpointCache.delete(id);
      this.matchCache.delete(appId);
      return true;
    });
    if (gone) await this.cancelPendingTasks(id);
  }

  renewDestinationLease(id: string, expiresAt: number): Promise<void> {
    return this.writes.run(() => {
      this.run(
        'UPDATE destination SET expires_at = ? WHERE id = ? AND deleted_at IS NULL AND expires_at IS NOT NULL AND expires_at < ?',
        expiresAt,
        id,
        expiresAt,
      );
    });
  }

  expireDestinations(now: number, limit: number): Promise<number> {
    return this.writes.run(() => {
      const ids = this.all(
        'SELECT id FROM destination WHERE expires_at IS NOT NULL AND expires_at <= ? AND deleted_at IS NULL ORDER BY expires_at LIMIT ?',
        now,
        limit,
      ).map((r) => r.id as string);
      for (const id of ids) {
        this.run('UPDATE destination SET deleted_at = ?, uid = NULL WHERE id = ?', now, id);
        this.run('DELETE FROM destination_consumer WHERE destination_id = ?', id);
      }
      return ids.length;
    });
  }

  async getConsumerPosition(destinationId: string, consumerId: string): Promise<string | null> {
    const r = this.get('SELECT position FROM destination_consumer WHERE destination_id = ? AND consumer_id = ?', destinationId, consumerId);
    return r ? (r.position as string) : null;
  }

  setConsumerPosition(destinationId: string, consumerId: string, position: string, now: number, forwardOnly: boolean): Promise<void> {
    return this.writes.run(() => this.upsertPosition(destinationId, consumerId, position, now, forwardOnly));
  }

  private upsertPosition(destinationId: string, consumerId: string, position: string, now: number, forwardOnly: boolean): void {
    this.run(
      `INSERT INTO destination_consumer (destination_id, consumer_id, position, updated_at)
       SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM destination WHERE id = ? AND deleted_at IS NULL)
       ON CONFLICT (destination_id, consumer_id) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
       ${forwardOnly ? 'WHERE excluded.position > destination_consumer.position' : ''}`,
      destinationId,
      consumerId,
      position,
      now,
      destinationId,
    );
  }

  recordDestinationAttempt(a: Attempt, consumer?: { destinationId: string; consumerId: string }): Promise<void> {
    return this.writes.run(() => {
      this.run(`INSERT INTO attempt (${ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ...attemptValues(a, 1));
      if (consumer) this.upsertPosition(consumer.destinationId, consumer.consumerId, a.msgId, a.createdAt, true);
    });
  }
}
