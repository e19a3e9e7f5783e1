// PostgreSQL store, audit log and retention.
import type { AuditEntry, AuditListQuery } from '../../domain/audit.js';
import { startIdFor } from '../../domain/ids.js';
import { toPage, type Page } from '../../domain/pagination.js';
import { listAuditQuery } from '../common/lists.js';
import { AUDIT_COLUMNS, auditRow, auditValues } from '../common/rows.js';
import type { AuditStore, PurgeBatchResult, PurgeKind, RetentionStore } from '../store.js';
import { PgIdempotency } from './idempotency.js';

/** The advisory lock key that lets one process at a time purge ('herald:p' in ASCII). */
const PURGE_LOCK_KEY = 0x6865_7261_6c64_3a70n.toString();

export abstract class PgAuditRetention extends PgIdempotency implements AuditStore, RetentionStore {
  async appendAudit(e: AuditEntry): Promise<void> {
    await this.pool.query(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, auditValues(e));
  }

  async listAudit(q: AuditListQuery): Promise<Page<AuditEntry>> {
    const { sql, values } = listAuditQuery(this.dialect, q);
    return toPage(await this.all(this.pool, sql, values), q, (r) => r.id as string, auditRow);
  }

  purgeBatch(kind: PurgeKind, cutoff: number, limit: number): Promise<PurgeBatchResult> {
    // One process purges at a time (a transaction-scoped advisory lock, tried, never waited for):
    // purge work does not multiply with the number of workers. Rows locked by a dispatcher or an
    // API request are skipped (SKIP LOCKED), so a purge never waits on, or holds up, live traffic;
    // each batch is one short transaction. Every batch is an index range scan bounded by the
    // cutoff: message_expiry for payloads, the (time-ordered) primary key for attempts,
    // idempotency_age for stored answers.
    return this.tx(async (c) => {
      const got = (await this.one(c, 'SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [PURGE_LOCK_KEY]))!.ok as boolean;
      if (!got) return { purged: 0, busy: true };
      // A delivery due or in flight (manual resends included) has next_attempt_at set; one parked
      // behind another in its key's order has waiting_for set.
      const pending = (msgCol: string) =>
        `EXISTS (SELECT 1 FROM delivery_task t WHERE t.msg_id = ${msgCol} AND (t.next_attempt_at IS NOT NULL OR t.waiting_for IS NOT NULL))`;
      let sql: string;
      let params: unknown[];
      if (kind === 'payloads') {
        sql = `WITH b AS MATERIALIZED (
                 SELECT app_id, id FROM message m WHERE m.expires_at <= $1 AND m.payload IS NOT NULL AND NOT ${pending('m.id')}
                 ORDER BY m.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
               UPDATE message m SET payload = NULL FROM b WHERE m.app_id = b.app_id AND m.id = b.id`;
        params = [cutoff, limit];
      } else if (kind === 'attempts') {
        sql = `WITH b AS MATERIALIZED (
                 SELECT id FROM attempt a WHERE a.id < $1 AND a.created_at < $2 AND NOT ${pending('a.msg_id')}
                 ORDER BY a.id LIMIT $3 FOR UPDATE SKIP LOCKED)
               DELETE FROM attempt a USING b WHERE a.id = b.id`;
        params = [startIdFor('attempt', cutoff), cutoff, limit];
      } else {
        sql = `WITH b AS MATERIALIZED (
                 SELECT id FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
               DELETE FROM idempotency i USING b WHERE i.id = b.id`;
        params = [cutoff, limit];
      }
      return { purged: await this.run(c, sql, params), busy: false };
    });
  }
}
