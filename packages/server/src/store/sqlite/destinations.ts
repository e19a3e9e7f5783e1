// SQLite store, records: destinations (config sealed at rest), polling consumers' positions, and
// the attempts made through a destination.
import type { Destination } from '../../domain/destinations.js';
import { isIdOf } from '../../domain/ids.js';
import { toPage, type Page, type PageQuery } from '../../domain/pagination.js';
import type { Attempt } from '../../domain/types.js';
import { deletedConcurrently, taken } from '../common/conflicts.js';
import { listQuery } from '../common/lists.js';
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
      this.putIdem(idem, d);
      return d;
    });
  }

  async getDestination(appId: string, idOrUid: string): Promise<Destination | null> {
    const col = isIdOf('destination', idOrUid) ? 'id' : 'uid';
    const r = this.get(`SELECT * FROM destination WHERE ${col} = ? AND app_id = ? AND deleted_at IS NULL`, idOrUid, appId);
    return r ? this.rows.destination(r) : null;
  }

  async listDestinations(appId: string, q: PageQuery): Promise<Page<Destination>> {
    const { sql, values } = listQuery(this.dialect, 'destination', 'id', 'deleted_at IS NULL', q, ['app_id', appId]);
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
      return d;
    });
  }

  deleteDestination(appId: string, id: string, now: number): Promise<void> {
    return this.writes.run(() => {
      const res = this.run('UPDATE destination SET deleted_at = ?, uid = NULL WHERE id = ? AND app_id = ? AND deleted_at IS NULL', now, id, appId);
      if (res.changes > 0) this.run('DELETE FROM destination_consumer WHERE destination_id = ?', id);
    });
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
