// SQLite store, audit log and retention.
import type { AuditEntry, AuditListQuery } from '../../domain/audit.js';
import { startIdFor } from '../../domain/ids.js';
import { toPage, type Page } from '../../domain/pagination.js';
import { listAuditQuery } from '../common/lists.js';
import { AUDIT_COLUMNS, auditRow, auditValues } from '../common/rows.js';
import type { AuditStore, PurgeBatchResult, PurgeKind, RetentionStore } from '../store.js';
import { SqliteIdempotency } from './idempotency.js';

/**
 * The retention purge's statements (exported so a test can check their query plans). Each is an
 * index range scan bounded by the cutoff: message_expiry, the time-ordered attempt ids,
 * idempotency_age. The unary + keeps the pending check on the task's primary key: with statistics
 * taken from a nearly empty table the planner would otherwise scan the whole due index
 * (delivery_task_due) for every candidate row.
 */
export const SQLITE_PURGE_SQL: Record<PurgeKind, string> = (() => {
  // A parked delivery (waiting for its turn in a key's order) is pending too: waiting_for is set.
  const pending = (msgCol: string) =>
    `EXISTS (SELECT 1 FROM delivery_task t WHERE t.msg_id = ${msgCol} AND (+t.next_attempt_at IS NOT NULL OR +t.waiting_for IS NOT NULL))`;
  return {
    payloads: `UPDATE message SET payload = NULL WHERE (app_id, id) IN (
      SELECT app_id, id FROM message m WHERE m.expires_at <= ? AND m.payload IS NOT NULL AND NOT ${pending('m.id')}
      ORDER BY m.expires_at LIMIT ?)`,
    attempts: `DELETE FROM attempt WHERE id IN (
      SELECT id FROM attempt a WHERE a.id < ? AND a.created_at < ? AND NOT ${pending('a.msg_id')} ORDER BY a.id LIMIT ?)`,
    idempotency: 'DELETE FROM idempotency WHERE id IN (SELECT id FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)',
  };
})();

export abstract class SqliteAuditRetention extends SqliteIdempotency implements AuditStore, RetentionStore {
  appendAudit(e: AuditEntry): Promise<void> {
    return this.writes.run(() => {
      this.run(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ...auditValues(e));
    });
  }

  async listAudit(q: AuditListQuery): Promise<Page<AuditEntry>> {
    const { sql, values } = listAuditQuery(this.dialect, q);
    return toPage(this.all(sql, ...values), q, (r) => r.id as string, auditRow);
  }

  purgeBatch(kind: PurgeKind, cutoff: number, limit: number): Promise<PurgeBatchResult> {
    // One bounded batch per call, in a group commit like any write: SQLite's single writer is
    // held only as long as `limit` rows take, so the API and the dispatcher interleave with a
    // long purge.
    const params = kind === 'attempts' ? [startIdFor('attempt', cutoff), cutoff, limit] : [cutoff, limit];
    return this.writes.run(() => ({ purged: this.run(SQLITE_PURGE_SQL[kind], ...params).changes, busy: false }));
  }
}
